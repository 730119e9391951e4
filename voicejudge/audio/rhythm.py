"""Timing of speech: syllable nuclei and the pauses between words."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, find_peaks, sosfiltfilt

from voicejudge.audio.frames import EPS, RATE, WINDOW, framed, runs

_BANDPASS = butter(4, [300, 3000], btype="bandpass", fs=RATE, output="sos")


def syllable_count(x: np.ndarray, active: np.ndarray) -> int:
    """Peaks of the smoothed 300-3000 Hz envelope: >= 2 dB prominence, >= 70 ms apart."""
    band = sosfiltfilt(_BANDPASS, x)
    envelope = np.sqrt(framed(band**2, WINDOW).mean(axis=1) + EPS)
    smoothed = np.convolve(envelope, np.hanning(7) / np.hanning(7).sum(), mode="same")
    level = 20 * np.log10(smoothed + EPS)
    peaks, _ = find_peaks(level, prominence=2.0, distance=7)
    n = min(len(active), len(level))
    return int(sum(1 for p in peaks if p < n and active[p]))


def pause_ratio(active: np.ndarray) -> float:
    """Share of the span from first to last speech frame spent in silences of >= 100 ms."""
    speech = np.flatnonzero(active)
    if speech.size < 2:
        return 0.0
    span = active[speech[0] : speech[-1] + 1]
    paused = sum(end - start for start, end in runs(~span) if end - start >= 10)
    return paused / len(span)
