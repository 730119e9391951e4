"""The ranking app: a Gradio page over `RankingDesk`, for a person to rank takes by ear.

The page shows 2-4 takes under neutral labels in a recorded random order, with the character
brief and the run or study the comparison belongs to; the person plays every take (unless the
play check is off), picks the best (two takes) or orders them all, may mark a tie, skip or add
a note. Keys: A-D pick, T tie, S skip, Enter submit (not while typing). The playback speed
chosen stays for the next takes. Named API endpoints expose the same desk to scripts and
`gradio_client`.

It is a blind test: the only files it serves are the takes of the page (re-encoded without
their file names or tags, named by content hash) and the one validated picture, from a private
folder; no page, API reply or file URL names a take before its answer is stored. With logins,
the rater is the signed-in user.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from voicejudge.app.desk import Assignment, RankingDesk
from voicejudge.app.logins import LoginCheck, check_exposure
from voicejudge.errors import ConfigError, VoiceJudgeError
from voicejudge.labels.ranking import RankingError
from voicejudge.settings import offline_defaults

with offline_defaults():  # Gradio and the Hugging Face hub read some of them on first import
    import gradio as gr
    from gradio.events import api as gradio_api

LABELS = "ABCD"
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000

KEYS_JS = """
() => {
  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat || event.isComposing) return;
    const target = event.target;
    if (target && (target.tagName === 'TEXTAREA' || (target.tagName === 'INPUT' &&
        target.type !== 'radio' && target.type !== 'checkbox'))) return;
    const key = event.key.length === 1 ? event.key.toUpperCase() : event.key;
    const click = (selector) => {
      const element = document.querySelector(selector);
      if (element) element.click();
    };
    if ('ABCD'.includes(key) && key.length === 1) click('#pick-' + key);
    else if (key === 'T') click('#tie input');
    else if (key === 'S') click('#skip');
    else if (key === 'Enter') { event.preventDefault(); click('#submit'); }
  });
  // The speed a person chose on any take applies to every take, on this page and the next:
  // a new take loads at normal speed, so each one is set to it as it starts playing.
  const speeds = ['0.5x', '1x', '1.5x', '2x'];
  let chosenSpeed = null;
  const speedButtons = () => document.querySelectorAll(
    '[id^="take-"] button[aria-label^="Adjust playback speed"]');
  const shownSpeed = (button) => button.innerText.trim();
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function (...args) {
    if (chosenSpeed) this.playbackRate = parseFloat(chosenSpeed);
    return play.apply(this, args);
  };
  let applying = false;
  let again = false;
  const applySpeed = async () => {
    const wanted = chosenSpeed;
    if (!speeds.includes(wanted)) return;
    if (applying) { again = true; return; }
    applying = true;
    for (const button of speedButtons()) {
      for (let turn = 0; turn < speeds.length && shownSpeed(button) !== wanted; turn++) {
        button.click();
        await new Promise((resolve) => setTimeout(resolve, 0));  // the player redraws
      }
    }
    applying = false;
    if (again) { again = false; applySpeed(); }
  };
  document.addEventListener('click', (event) => {
    const button = event.isTrusted && event.target.closest &&
      event.target.closest('button[aria-label^="Adjust playback speed"]');
    if (!button) return;
    setTimeout(() => {
      chosenSpeed = shownSpeed(button);
      applySpeed();
    }, 0);
  }, true);
  new MutationObserver(applySpeed).observe(document.body, {childList: true, subtree: true});
}
"""

CSS = ".voicejudge-hidden { display: none !important; }"


def character_image(path: Path, folder: Path) -> Path:
    """The picture re-encoded as a PNG without its metadata, in `folder`; a `ConfigError` for
    anything that is not a readable image of a sensible size."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise ConfigError(f"{path}: no such image file.")
    if path.stat().st_size > MAX_IMAGE_BYTES:
        raise ConfigError(f"{path}: the image is over {MAX_IMAGE_BYTES // 2**20} MB.")
    try:
        with Image.open(path) as probe:
            probe.verify()
        with Image.open(path) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise ConfigError(f"{path}: the image is too large ({image.width}x{image.height}).")
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / "character.png"
            image.convert("RGBA").save(target, format="PNG")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ConfigError(f"{path}: not an image (use PNG, JPEG, GIF or WebP).") from None
    return target


class RankingApp:
    """A running ranking page: its Gradio Blocks, its URL and its private file folder."""

    def __init__(self, blocks: Any, url: str, folder: tempfile.TemporaryDirectory[str]) -> None:
        self.blocks = blocks
        self.url = url
        self._folder = folder

    def block_thread(self) -> None:
        self.blocks.block_thread()

    def close(self) -> None:
        self.blocks.close()
        self._folder.cleanup()


class _Takes:
    """Takes as files in a private folder, each written once and named by a keyed hash of its
    sound: stable for this app (so a browser may cache it), meaningless to anyone holding the
    set's files. Gradio copies a file it is given into its cache only if that copy is
    missing, whereas bytes would be rewritten under a download in progress."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()

    def file(self, audio: bytes) -> str:
        name = hmac.new(self._key, audio, hashlib.sha256).hexdigest()[:24]
        path = self.folder / f"{name}.wav"
        with self._lock:
            if not path.exists():
                partial = path.with_suffix(".partial")
                partial.write_bytes(audio)
                partial.replace(path)
        return str(path)


def build_app(
    desk: RankingDesk,
    *,
    takes_folder: Path,
    rater: str = "",
    brief: str = "",
    image: Path | None = None,
    signed_in: bool = False,
    require_play: bool = True,
) -> Any:
    """The Gradio Blocks for one desk, keeping the files it plays in `takes_folder`; with
    `signed_in`, the rater is the logged-in user; with `require_play`, the page takes an answer
    only once every take was played."""
    takes = _Takes(takes_folder)

    def who(typed: str | None, request: gr.Request | None) -> str:
        if not signed_in:
            return typed or ""
        user = getattr(request, "username", None)
        if not user:
            raise RankingError("Sign in to rank.")
        if typed and typed.strip() and typed.strip() != user:
            raise RankingError(
                f"You are signed in as {user}; answers are stored under your login, "
                f"not as {typed.strip()[:40]!r}."
            )
        return str(user)

    with gr.Blocks(title="voicejudge ranker") as app:
        state = gr.State({})
        played_state = gr.State({})  # call id -> labels played; never overwrites `state`
        gr.Markdown("## Which take sounds most like the character?")
        with gr.Row():
            rater_box = gr.Textbox(
                label="Your name",
                value="" if signed_in else rater,
                elem_id="rater",
                scale=2,
                visible=not signed_in,
            )
            progress = gr.Markdown(elem_id="progress")
        with gr.Accordion("Character brief", open=True):
            gr.Markdown(brief)
            if image is not None:
                gr.Image(str(image), show_label=False, height=220, interactive=False)
        belongs = gr.Markdown(elem_id="belongs")
        columns, infos, players = [], [], []
        with gr.Row():
            for label in LABELS:
                with gr.Column(visible=False, min_width=160) as column:
                    infos.append(gr.Markdown(f"### Take {label}"))
                    players.append(
                        gr.Audio(
                            label=f"Take {label}",
                            interactive=False,
                            elem_id=f"take-{label}",
                        )
                    )
                columns.append(column)
        best = gr.Radio(choices=[], label="Best take", elem_id="best")
        order = gr.Dropdown(
            choices=[],
            multiselect=True,
            visible=False,
            label="Order all takes, best first",
            elem_id="order",
        )
        tie = gr.Checkbox(label="Tie, can't tell (T)", elem_id="tie")
        note = gr.Textbox(label="Note (optional)", elem_id="note")
        with gr.Row():
            submit = gr.Button("Submit (Enter)", variant="primary", elem_id="submit")
            skip = gr.Button("Skip (S)", elem_id="skip")
        status = gr.Markdown(elem_id="status")
        picks = [
            gr.Button(label, elem_id=f"pick-{label}", elem_classes="voicejudge-hidden")
            for label in LABELS
        ]
        api_trigger = gr.Button(visible=False)  # the `/take` endpoint's; never shown

        shown = [
            state,
            belongs,
            *columns,
            *infos,
            *players,
            best,
            order,
            tie,
            note,
            status,
            progress,
        ]

        def show(rater_name: str, message: str = "", session_done: int = 0) -> list[Any]:
            try:
                assignment = desk.next_assignment(rater_name)
                done = desk.progress(rater_name)
            except VoiceJudgeError as exc:
                return _empty(str(exc), len(columns))
            progress_text = f"**{session_done}** ranked this session · **{done.total}** in total"
            if signed_in:
                progress_text = f"Signed in as **{rater_name}** · {progress_text}"
            if done.judge_agreement is not None:
                progress_text += (
                    f" · the judge agrees on {done.judge_agreement:.0%} "
                    f"of {done.judged_pairs} pairs"
                )
            if assignment is None:
                return _empty(_nothing_left(desk), len(columns), progress_text)
            return _render(assignment, message, progress_text, session_done, takes, require_play)

        def on_load(typed: str, request: gr.Request) -> list[Any]:
            try:
                return show(who(typed, request))
            except VoiceJudgeError as exc:
                return _empty(str(exc), len(columns))

        def on_submit(
            typed: str,
            current: dict[str, Any],
            played_by_call: dict[str, Any],
            best_label: str | None,
            ordered: list[str],
            is_tie: bool,
            text: str,
            request: gr.Request,
        ) -> list[Any]:
            try:
                rater_name = who(typed, request)
            except VoiceJudgeError as exc:
                return _refused(str(exc), len(shown))
            if not current.get("call_id"):
                return show(rater_name)
            labels = current["labels"]
            ranking = ordered if len(labels) > 2 else _pair_order(best_label, labels)
            if sorted(ranking or []) != sorted(labels) and not is_tie:
                return _refused(
                    "Pick the best take (or order them all) before submitting.", len(shown)
                )
            try:
                desk.submit(
                    rater_name,
                    current["call_id"],
                    ranking if ranking and sorted(ranking) == sorted(labels) else labels,
                    tie=is_tie,
                    note=text or "",
                    played=sorted(played_by_call.get(current["call_id"], [])),
                    elapsed_s=round(time.monotonic() - current["shown_at"], 2),
                    require_play=require_play,
                )
            except VoiceJudgeError as exc:
                return _refused(str(exc), len(shown))
            return show(rater_name, "Saved. Here is the next one.", current["session_done"] + 1)

        def on_skip(typed: str, current: dict[str, Any], request: gr.Request) -> list[Any]:
            try:
                rater_name = who(typed, request)
                if current.get("call_id"):
                    desk.skip(rater_name, current["call_id"])
            except VoiceJudgeError as exc:
                return _refused(str(exc), len(shown))
            return show(rater_name, "Skipped.", current.get("session_done", 0))

        def on_pick(label: str, current: dict[str, Any], ordered: list[str]) -> tuple[Any, Any]:
            labels = current.get("labels", [])
            if label not in labels:
                return gr.update(), gr.update()
            if len(labels) > 2:
                ordered = [*[x for x in ordered or [] if x != label], label]
                return gr.update(), gr.update(value=ordered)
            return gr.update(value=label), gr.update()

        def on_play(
            label: str, current: dict[str, Any], played_by_call: dict[str, Any]
        ) -> dict[str, Any]:
            call_id = current.get("call_id")
            if not call_id:
                return played_by_call
            return {**played_by_call, call_id: sorted({*played_by_call.get(call_id, []), label})}

        app.load(on_load, inputs=[rater_box], outputs=shown, api_visibility="private")
        rater_box.submit(on_load, inputs=[rater_box], outputs=shown, api_visibility="private")
        submit.click(
            on_submit,
            inputs=[rater_box, state, played_state, best, order, tie, note],
            outputs=shown,
            api_visibility="private",
        )
        skip.click(on_skip, inputs=[rater_box, state], outputs=shown, api_visibility="private")
        for label, button in zip(LABELS, picks, strict=True):
            button.click(
                lambda current, ordered, label=label: on_pick(label, current, ordered),
                inputs=[state, order],
                outputs=[best, order],
                api_visibility="private",
            )
        for label, player in zip(LABELS, players, strict=True):
            player.play(
                lambda current, played_by_call, label=label: on_play(
                    label, current, played_by_call
                ),
                inputs=[state, played_state],
                outputs=[played_state],
                api_visibility="private",
            )

        def next_comparison(rater_name: str, request: gr.Request) -> dict[str, Any]:
            """The next comparison for a rater: its call id, the labels of its takes (their
            audio comes from `/take`) and the run or study it belongs to. With logins, the
            rater is the signed-in user."""
            try:
                assignment = desk.next_assignment(who(rater_name, request))
            except VoiceJudgeError as exc:
                raise gr.Error(str(exc), print_exception=False) from None
            if assignment is None:
                return {}
            return {
                "call_id": assignment.call_id,
                "labels": [take.label for take in assignment.takes],
                "belongs_to": assignment.belongs_to,
                "run": assignment.run,
                "instructions": {
                    take.label: take.instructions for take in assignment.takes if take.instructions
                },
            }

        def take(call_id: str, label: str, request: gr.Request) -> str:
            """The audio of one take of a comparison, by its label."""
            try:
                who("", request)
                return takes.file(desk.take_audio(call_id, label))
            except VoiceJudgeError as exc:
                raise gr.Error(str(exc), print_exception=False) from None

        gradio_api(next_comparison, api_name="next_comparison")
        api_call, api_label = gr.Textbox(visible=False), gr.Textbox(visible=False)
        api_take = gr.Audio(visible=False)
        api_trigger.click(take, inputs=[api_call, api_label], outputs=[api_take], api_name="take")

        def submit_ranking(
            rater_name: str,
            call_id: str,
            order_labels: list[str],
            tie_flag: bool = False,
            note_text: str = "",
            played_labels: list[str] | None = None,
            elapsed_s: float | None = None,
            request: gr.Request = None,  # type: ignore[assignment]  # filled in by Gradio
        ) -> str:
            """Record a ranking given in labels, best first, with the labels the script
            played; returns the feedback id. With logins, it is stored under the signed-in user
            (another name is refused). A script reports what it played: the page's play check
            is not applied here."""
            try:
                return desk.submit(
                    who(rater_name, request),
                    call_id,
                    order_labels,
                    tie=tie_flag,
                    note=note_text,
                    played=played_labels or [],
                    elapsed_s=elapsed_s,
                )
            except VoiceJudgeError as exc:
                raise gr.Error(str(exc), print_exception=False) from None

        gradio_api(submit_ranking, api_name="submit_ranking")
    return app


_environment_lock = threading.Lock()


@contextmanager
def _gradio_files_in(folder: Path) -> Iterator[None]:
    """Make the Blocks built and launched inside keep and serve files only from `folder`, with
    the offline defaults (no analytics, no hub) in place."""
    with _environment_lock, offline_defaults():
        saved = os.environ.get("GRADIO_TEMP_DIR")
        os.environ["GRADIO_TEMP_DIR"] = str(folder / "served")
        # Gradio also serves its examples cache, looked up afresh on each request, by default
        # under the working folder; this app has none, so name a folder that never exists.
        os.environ.setdefault("GRADIO_EXAMPLES_CACHE", str(folder / "no-examples"))
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("GRADIO_TEMP_DIR", None)
            else:
                os.environ["GRADIO_TEMP_DIR"] = saved


def launch(
    desk: RankingDesk,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    logins: dict[str, str] | None = None,
    share: bool = False,
    rater: str = "",
    brief: str = "",
    image: Path | None = None,
    require_play: bool = True,
) -> RankingApp:
    """Start the app without blocking; it serves nothing but the page's takes and picture.
    With `require_play`, the page takes an answer only once every take was played."""
    logins = logins or {}
    check_exposure(host, share, logins)
    folder = tempfile.TemporaryDirectory(prefix="voicejudge-ranker-")
    try:
        root = Path(folder.name)
        picture = character_image(image, root / "picture") if image is not None else None
        with _gradio_files_in(root):
            blocks = build_app(
                desk,
                rater=rater,
                brief=brief,
                image=picture,
                signed_in=bool(logins),
                takes_folder=root / "takes",
                require_play=require_play,
            )
            blocks.queue(default_concurrency_limit=8)
            _, url, _ = blocks.launch(
                server_name=host,
                server_port=port,
                auth=LoginCheck(logins) if logins else None,
                share=share,
                prevent_thread_lock=True,
                quiet=True,
                js=KEYS_JS,
                css=CSS,
                max_file_size=0,  # the page takes no uploads: refuse any file with content
            )
    except BaseException:
        folder.cleanup()
        raise
    return RankingApp(blocks, url, folder)


def _pair_order(best_label: str | None, labels: list[str]) -> list[str]:
    if best_label not in labels:
        return []
    return [best_label, *[label for label in labels if label != best_label]]


def _nothing_left(desk: RankingDesk) -> str:
    if desk.run is not None:
        return (
            f"Nothing of run {desk.run} is waiting for you now; reload the page when its "
            "next round asks more."
        )
    return "Nothing left to rank in this set. Thank you!"


def _render(
    assignment: Assignment,
    message: str,
    progress: str,
    session_done: int,
    takes: _Takes,
    require_play: bool,
) -> list[Any]:
    shown = {take.label: take for take in assignment.takes}
    labels = [label for label in LABELS if label in shown]
    state = {
        "call_id": assignment.call_id,
        "labels": labels,
        "shown_at": time.monotonic(),
        "session_done": session_done,
    }
    columns = [gr.update(visible=label in shown) for label in LABELS]
    infos = [
        gr.update(value=_take_text(label, shown[label].instructions) if label in shown else "")
        for label in LABELS
    ]
    players = [
        gr.update(value=takes.file(shown[label].audio) if label in shown else None)
        for label in LABELS
    ]
    listwise = len(labels) > 2
    span = f"{labels[0]}-{labels[-1]}"
    return [
        state,
        f"Belongs to: {assignment.belongs_to}",
        *columns,
        *infos,
        *players,
        gr.update(
            choices=labels,
            value=None,
            visible=not listwise,
            label=f"Best take ({span})",
            info="Play every take, then pick the best." if require_play else None,
        ),
        gr.update(
            choices=labels,
            value=[],
            visible=listwise,
            label=f"Order all takes, best first ({span} in order)",
            info="Play every take, then put them in order." if require_play else None,
        ),
        gr.update(value=False),
        gr.update(value=""),
        message,
        progress,
    ]


def _refused(message: str, outputs: int) -> list[Any]:
    """The page as it was, with why the answer was not taken: a raised error would cover every
    output with an error mark that blocks the players until the next page."""
    gr.Warning(message)
    return [*(gr.skip() for _ in range(outputs - 2)), f"**Not saved:** {message}", gr.skip()]


def _take_text(label: str, instructions: str | None) -> str:
    asked = f"\n\n*Asked for:* {instructions}" if instructions else ""
    return f"### Take {label}{asked}"


def _empty(message: str, count: int, progress: str = "") -> list[Any]:
    return [
        {},
        "",
        *[gr.update(visible=False) for _ in range(count)],
        *["" for _ in range(count)],
        *[None for _ in range(count)],
        gr.update(choices=[], value=None),
        gr.update(choices=[], value=[], visible=False),
        gr.update(value=False),
        gr.update(value=""),
        message,
        progress,
    ]
