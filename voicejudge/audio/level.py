"""How loud a clip is (ITU-R BS.1770-4 integrated loudness) and how much of it clipped."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import lfilter

from voicejudge.audio.frames import EPS, RATE, runs


def _k_weighting() -> list[tuple[np.ndarray, np.ndarray]]:
    """BS.1770 K-weighting at 16 kHz: a high shelf then a high pass (Audio EQ Cookbook forms)."""
    gain, shelf_q, shelf_hz = 4.0, 1 / np.sqrt(2), 1500.0
    amp = 10 ** (gain / 40)
    w0 = 2 * np.pi * shelf_hz / RATE
    alpha = np.sin(w0) / (2 * shelf_q)
    cos, root = np.cos(w0), 2 * np.sqrt(amp) * alpha
    shelf = (
        np.array(
            [
                amp * ((amp + 1) + (amp - 1) * cos + root),
                -2 * amp * ((amp - 1) + (amp + 1) * cos),
                amp * ((amp + 1) + (amp - 1) * cos - root),
            ]
        ),
        np.array(
            [
                (amp + 1) - (amp - 1) * cos + root,
                2 * ((amp - 1) - (amp + 1) * cos),
                (amp + 1) - (amp - 1) * cos - root,
            ]
        ),
    )
    w0 = 2 * np.pi * 38.0 / RATE
    alpha = np.sin(w0) / (2 * 0.5)
    cos = np.cos(w0)
    highpass = (
        np.array([(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]),
        np.array([1 + alpha, -2 * cos, 1 - alpha]),
    )
    return [shelf, highpass]


_K_FILTERS = _k_weighting()


def integrated_loudness(x: np.ndarray) -> float:
    """Gated loudness over 400 ms blocks with 75 % overlap (absolute -70, relative -10 LU)."""
    weighted = x
    for b, a in _K_FILTERS:
        weighted = lfilter(b, a, weighted)
    block, step = int(0.4 * RATE), int(0.1 * RATE)
    if len(weighted) < block:
        powers = np.array([np.mean(weighted**2)])
    else:
        powers = sliding_window_view(weighted**2, block)[::step].mean(axis=1)
    loudness = -0.691 + 10 * np.log10(powers + EPS)
    kept = powers[loudness > -70]
    if kept.size == 0:
        return -70.0
    relative = -0.691 + 10 * np.log10(kept.mean()) - 10
    gated = kept[-0.691 + 10 * np.log10(kept) > relative]
    return float(-0.691 + 10 * np.log10(gated.mean() if gated.size else kept.mean()))


def clip_ratio(x: np.ndarray) -> float:
    """Share of samples in runs of >= 3 at (nearly) the peak: flat tops that clipping leaves."""
    peak = float(np.abs(x).max())
    if peak < 0.25:
        return 0.0
    at_peak = np.abs(x) >= 0.98 * peak
    stuck = sum(end - start for start, end in runs(at_peak) if end - start >= 3)
    return stuck / len(x)
