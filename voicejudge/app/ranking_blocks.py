"""The ranking page's Gradio Blocks: its layout, the handlers of its buttons and players, and
the named API endpoints that give scripts the same desk."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from voicejudge.app.desk import RankingDesk
from voicejudge.app.ranking_render import (
    TakeFiles,
    empty_page,
    nothing_left,
    pair_order,
    refused,
    render_assignment,
)
from voicejudge.errors import VoiceJudgeError
from voicejudge.labels.feedback import LABELS, RankingError
from voicejudge.settings import offline_defaults

with offline_defaults():  # Gradio and the Hugging Face hub read some of them on first import
    import gradio as gr
    from gradio.events import api as gradio_api


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
    takes = TakeFiles(takes_folder)

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
                return empty_page(str(exc), len(columns))
            progress_text = f"**{session_done}** ranked this session · **{done.total}** in total"
            if signed_in:
                progress_text = f"Signed in as **{rater_name}** · {progress_text}"
            if done.judge_agreement is not None:
                progress_text += (
                    f" · the judge agrees on {done.judge_agreement:.0%} "
                    f"of {done.judged_pairs} pairs"
                )
            if assignment is None:
                return empty_page(nothing_left(desk), len(columns), progress_text)
            return render_assignment(
                assignment, message, progress_text, session_done, takes, require_play
            )

        def on_load(typed: str, request: gr.Request) -> list[Any]:
            try:
                return show(who(typed, request))
            except VoiceJudgeError as exc:
                return empty_page(str(exc), len(columns))

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
                return refused(str(exc), len(shown))
            if not current.get("call_id"):
                return show(rater_name)
            labels = current["labels"]
            ranking = ordered if len(labels) > 2 else pair_order(best_label, labels)
            if sorted(ranking or []) != sorted(labels) and not is_tie:
                return refused(
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
                return refused(str(exc), len(shown))
            return show(rater_name, "Saved. Here is the next one.", current["session_done"] + 1)

        def on_skip(typed: str, current: dict[str, Any], request: gr.Request) -> list[Any]:
            try:
                rater_name = who(typed, request)
                if current.get("call_id"):
                    desk.skip(rater_name, current["call_id"])
            except VoiceJudgeError as exc:
                return refused(str(exc), len(shown))
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
