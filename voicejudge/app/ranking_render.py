"""What the ranking page shows: its outputs for one comparison, for none left, or for a refused
answer; and the takes as the files it serves, named by a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from voicejudge.app.desk import Assignment, RankingDesk
from voicejudge.labels.feedback import LABELS
from voicejudge.settings import offline_defaults

with offline_defaults():  # Gradio and the Hugging Face hub read some of them on first import
    import gradio as gr


class TakeFiles:
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


def pair_order(best_label: str | None, labels: list[str]) -> list[str]:
    """The ranking that picking the best of two takes means; empty without a valid pick."""
    if best_label not in labels:
        return []
    return [best_label, *[label for label in labels if label != best_label]]


def nothing_left(desk: RankingDesk) -> str:
    """What the page says when the desk has no comparison for the rater."""
    if desk.run is not None:
        return (
            f"Nothing of run {desk.run} is waiting for you now; reload the page when its "
            "next round asks more."
        )
    return "Nothing left to rank in this set. Thank you!"


def render_assignment(
    assignment: Assignment,
    message: str,
    progress: str,
    session_done: int,
    takes: TakeFiles,
    require_play: bool,
) -> list[Any]:
    """The page's outputs, in the order `build_app` lists them, for one comparison."""
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


def refused(message: str, outputs: int) -> list[Any]:
    """The page as it was, with why the answer was not taken: a raised error would cover every
    output with an error mark that blocks the players until the next page."""
    gr.Warning(message)
    return [*(gr.skip() for _ in range(outputs - 2)), f"**Not saved:** {message}", gr.skip()]


def _take_text(label: str, instructions: str | None) -> str:
    asked = f"\n\n*Asked for:* {instructions}" if instructions else ""
    return f"### Take {label}{asked}"


def empty_page(message: str, count: int, progress: str = "") -> list[Any]:
    """The page's outputs without a comparison: no takes, `message` as the status."""
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
