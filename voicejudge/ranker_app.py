"""The ranking app: a Gradio page over `RankingDesk`, for a person to rank takes by ear.

The page shows 2-4 takes under neutral labels in a recorded random order, the character brief
and each take's intended delivery; the person picks the best (two takes) or orders them all,
may mark a tie, skip or add a note. Keys: A-D pick, T tie, S skip, Enter submit (not while
typing). Named API endpoints expose the same desk to scripts and `gradio_client`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from voicejudge.desk import Assignment, RankingDesk
from voicejudge.errors import ConfigError, VoiceJudgeError

LABELS = "ABCD"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}

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
}
"""

CSS = ".voicejudge-hidden { display: none !important; }"


def check_exposure(host: str, share: bool, auth: str | None) -> tuple[str, str] | None:
    """The (user, password) pair to require; refuse to expose the app without one."""
    credentials = None
    if auth:
        user, _, password = auth.partition(":")
        if not user or not password:
            raise ConfigError("--auth must look like USER:PASSWORD.")
        credentials = (user, password)
    if (share or host not in LOCAL_HOSTS) and credentials is None:
        where = "a public share link" if share else f"host {host}"
        raise ConfigError(
            f"Refusing to serve the ranking app on {where} without a password: "
            "add --auth USER:PASS."
        )
    return credentials


def build_app(desk: RankingDesk, *, rater: str = "", brief: str = "", image: Path | None = None):
    """The Gradio Blocks for one desk."""
    import gradio as gr

    with gr.Blocks(title="voicejudge ranker") as app:
        state = gr.State({})
        played_state = gr.State({})  # call id -> labels played; never overwrites `state`
        gr.Markdown("## Which take sounds most like the character?")
        with gr.Row():
            rater_box = gr.Textbox(label="Your name", value=rater, elem_id="rater", scale=2)
            progress = gr.Markdown(elem_id="progress")
        with gr.Accordion("Character brief", open=True):
            gr.Markdown(brief)
            if image is not None:
                gr.Image(str(image), show_label=False, height=220, interactive=False)
        columns, infos, players = [], [], []
        with gr.Row():
            for label in LABELS:
                with gr.Column(visible=False, min_width=160) as column:
                    infos.append(gr.Markdown(f"### Take {label}"))
                    players.append(
                        gr.Audio(
                            label=f"Take {label}",
                            type="filepath",
                            interactive=False,
                            elem_id=f"take-{label}",
                        )
                    )
                columns.append(column)
        best = gr.Radio(choices=[], label="Best take (A-D)", elem_id="best")
        order = gr.Dropdown(
            choices=[],
            multiselect=True,
            visible=False,
            label="Order all takes, best first (A-D in order)",
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

        shown = [state, *columns, *infos, *players, best, order, tie, note, status, progress]

        def show(rater_name: str, message: str = "", session_done: int = 0) -> list[Any]:
            try:
                assignment = desk.next_assignment(rater_name)
                done = desk.progress(rater_name)
            except VoiceJudgeError as exc:
                return _empty(str(exc), len(columns))
            progress_text = f"**{session_done}** ranked this session · **{done.total}** in total"
            if done.judge_agreement is not None:
                progress_text += (
                    f" · the judge agrees on {done.judge_agreement:.0%} "
                    f"of {done.judged_pairs} pairs"
                )
            return _render(assignment, message, progress_text, session_done, gr)

        def on_submit(
            rater_name: str,
            current: dict,
            played_by_call: dict,
            best_label: str | None,
            ordered: list[str],
            is_tie: bool,
            text: str,
        ) -> list[Any]:
            if not current.get("call_id"):
                return show(rater_name)
            labels = current["labels"]
            ranking = ordered if len(labels) > 2 else _pair_order(best_label, labels)
            if sorted(ranking or []) != sorted(labels) and not is_tie:
                raise gr.Error("Pick the best take (or order them all) before submitting.")
            try:
                desk.submit(
                    rater_name,
                    current["call_id"],
                    ranking if ranking and sorted(ranking) == sorted(labels) else labels,
                    tie=is_tie,
                    note=text or "",
                    played=sorted(played_by_call.get(current["call_id"], [])),
                    elapsed_s=round(time.monotonic() - current["shown_at"], 2),
                )
            except VoiceJudgeError as exc:
                raise gr.Error(str(exc)) from None
            return show(rater_name, "Saved. Here is the next one.", current["session_done"] + 1)

        def on_skip(rater_name: str, current: dict) -> list[Any]:
            if current.get("call_id"):
                desk.skip(rater_name, current["call_id"])
            return show(rater_name, "Skipped.", current.get("session_done", 0))

        def on_pick(label: str, current: dict, ordered: list[str]) -> tuple[Any, Any]:
            labels = current.get("labels", [])
            if label not in labels:
                return gr.update(), gr.update()
            if len(labels) > 2:
                ordered = [*[x for x in ordered or [] if x != label], label]
                return gr.update(), gr.update(value=ordered)
            return gr.update(value=label), gr.update()

        def on_play(label: str, current: dict, played_by_call: dict) -> dict:
            call_id = current.get("call_id")
            if not call_id:
                return played_by_call
            return {**played_by_call, call_id: sorted({*played_by_call.get(call_id, []), label})}

        app.load(show, inputs=[rater_box], outputs=shown, api_visibility="private")
        rater_box.submit(show, inputs=[rater_box], outputs=shown, api_visibility="private")
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

        def next_comparison(rater_name: str) -> dict:
            """The next comparison for a rater: call id and labelled takes."""
            try:
                assignment = desk.next_assignment(rater_name)
            except VoiceJudgeError as exc:
                raise gr.Error(str(exc)) from None
            return assignment.model_dump() if assignment else {}

        def submit_ranking(
            rater_name: str,
            call_id: str,
            order_labels: list[str],
            tie_flag: bool = False,
            note_text: str = "",
            played_labels: list[str] | None = None,
            elapsed_s: float | None = None,
        ) -> str:
            """Record a ranking given in labels, best first; returns the feedback id."""
            try:
                return desk.submit(
                    rater_name,
                    call_id,
                    order_labels,
                    tie=tie_flag,
                    note=note_text,
                    played=played_labels or [],
                    elapsed_s=elapsed_s,
                )
            except VoiceJudgeError as exc:
                raise gr.Error(str(exc)) from None

        gr.api(next_comparison, api_name="next_comparison")
        gr.api(submit_ranking, api_name="submit_ranking")
    return app


def launch(
    desk: RankingDesk,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    auth: str | None = None,
    share: bool = False,
    rater: str = "",
    brief: str = "",
    image: Path | None = None,
) -> tuple[Any, str]:
    """Start the app without blocking; returns the Blocks and the local URL."""
    credentials = check_exposure(host, share, auth)
    app = build_app(desk, rater=rater, brief=brief, image=image)
    desk.audio_folder.mkdir(parents=True, exist_ok=True)
    folders = {desk.audio_folder.resolve()} | {
        Path(sample.audio).resolve().parent
        for sample in desk.samples
        if isinstance(sample.audio, Path)
    }
    if image is not None:
        folders.add(image.resolve().parent)
    app.queue(default_concurrency_limit=8)
    _, url, _ = app.launch(
        server_name=host,
        server_port=port,
        auth=credentials,
        share=share,
        prevent_thread_lock=True,
        quiet=True,
        js=KEYS_JS,
        css=CSS,
        allowed_paths=sorted(str(folder) for folder in folders),
    )
    return app, url


def _pair_order(best_label: str | None, labels: list[str]) -> list[str]:
    if best_label not in labels:
        return []
    return [best_label, *[label for label in labels if label != best_label]]


def _render(
    assignment: Assignment | None, message: str, progress: str, session_done: int, gr: Any
) -> list[Any]:
    if assignment is None:
        return _empty("Nothing left to rank in this set. Thank you!", len(LABELS), progress)
    takes = {take.label: take for take in assignment.takes}
    labels = [label for label in LABELS if label in takes]
    state = {
        "call_id": assignment.call_id,
        "labels": labels,
        "shown_at": time.monotonic(),
        "session_done": session_done,
    }
    columns = [gr.update(visible=label in takes) for label in LABELS]
    infos = [
        gr.update(value=_take_text(label, takes[label].instructions) if label in takes else "")
        for label in LABELS
    ]
    players = [
        gr.update(value=takes[label].audio_path if label in takes else None) for label in LABELS
    ]
    listwise = len(labels) > 2
    return [
        state,
        *columns,
        *infos,
        *players,
        gr.update(choices=labels, value=None, visible=not listwise),
        gr.update(choices=labels, value=[], visible=listwise),
        gr.update(value=False),
        gr.update(value=""),
        message,
        progress,
    ]


def _take_text(label: str, instructions: str | None) -> str:
    asked = f"\n\n*Asked for:* {instructions}" if instructions else ""
    return f"### Take {label}{asked}"


def _empty(message: str, count: int, progress: str = "") -> list[Any]:
    import gradio as gr

    return [
        {},
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
