"""The 16 kHz grid every feature is measured on: 25 ms frames at a 10 ms hop, which of them
are speech, and runs of frames."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

RATE = 16_000
HOP = 160  # 10 ms
WINDOW = 400  # 25 ms
EPS = 1e-12


def framed(x: np.ndarray, length: int, hop: int = HOP) -> np.ndarray:
    """Frames of `length` samples every `hop`, zero-padded so a short clip still has one."""
    count = 1 + max(0, len(x) - length) // hop
    padded = np.pad(x, (0, max(0, length - len(x))))
    return sliding_window_view(padded, length)[::hop][:count]


def loud_frames(frame_db: np.ndarray) -> np.ndarray:
    """Frames well above the clip's own floor and within 40 dB of its loud frames."""
    floor = np.percentile(frame_db, 10)
    loud = np.percentile(frame_db, 95)
    return frame_db > max(floor + 6.0, loud - 40.0)


def close_gaps(loud: np.ndarray) -> np.ndarray:
    """Speech activity: loud frames with gaps under 50 ms closed, so words stay whole."""
    return loud | _short_runs(~loud, 5)


def _short_runs(mask: np.ndarray, max_len: int) -> np.ndarray:
    """`mask` with runs of True longer than `max_len` removed."""
    out = mask.copy()
    for start, end in runs(mask):
        if end - start > max_len:
            out[start:end] = False
    return out


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Start and (exclusive) end of each run of True in `mask`."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2], edges[1::2], strict=True))
