"""Pitch of voiced speech: YIN per frame, then the pitch statistics and jitter `Features`
reports."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.fft import irfft, next_fast_len, rfft
from scipy.signal import medfilt

from voicejudge.audio.frames import EPS, HOP, RATE, WINDOW, runs

_F0_MIN, _F0_MAX = 60.0, 500.0
_YIN_THRESHOLD = 0.15


def yin(x: np.ndarray, wanted: np.ndarray, total: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """YIN pitch for the `wanted` frames of `total`: F0 (Hz, NaN when none), CMNDF
    aperiodicity and NCCF at the chosen lag; other frames get NaN, 1 and 0."""
    f0_all, aperiodicity_all, nccf_all = np.full(total, np.nan), np.ones(total), np.zeros(total)
    if wanted.size == 0:
        return f0_all, aperiodicity_all, nccf_all
    tau_min, tau_max = int(RATE / _F0_MAX), int(RATE / _F0_MIN)
    span = WINDOW + tau_max
    padded = np.pad(x, (0, span + total * HOP))
    frames = sliding_window_view(padded, span)[::HOP][wanted]
    count = len(frames)
    size = next_fast_len(span + WINDOW, real=True)
    spectrum = rfft(frames, size)
    head = rfft(frames[:, :WINDOW], size)
    corr = irfft(spectrum * np.conj(head), size)[:, : tau_max + 1]
    cumulative = np.concatenate([np.zeros((count, 1)), np.cumsum(frames**2, axis=1)], axis=1)
    lags = np.arange(tau_max + 1)
    shifted_energy = cumulative[:, lags + WINDOW] - cumulative[:, lags]
    energy = shifted_energy[:, :1]
    diff = np.maximum(energy + shifted_energy - 2 * corr, 0.0)
    running = np.cumsum(diff[:, 1:], axis=1)
    cmndf = np.ones_like(diff)
    cmndf[:, 1:] = diff[:, 1:] * lags[1:] / np.maximum(running, EPS)

    search = cmndf[:, tau_min:tau_max]
    below = search < _YIN_THRESHOLD
    first = np.where(below.any(axis=1), below.argmax(axis=1), search.argmin(axis=1))
    best = first.copy()
    for row in np.flatnonzero(below.any(axis=1)):
        lag = best[row]
        while lag + 1 < search.shape[1] and search[row, lag + 1] < search[row, lag]:
            lag += 1
        best[row] = lag
    tau = best + tau_min
    rows = np.arange(count)
    aperiodicity = cmndf[rows, tau]
    left = cmndf[rows, np.maximum(tau - 1, 1)]
    right = cmndf[rows, np.minimum(tau + 1, tau_max)]
    curvature = left - 2 * aperiodicity + right
    safe = np.where(np.abs(curvature) > EPS, curvature, 1.0)
    offset = np.where(np.abs(curvature) > EPS, 0.5 * (left - right) / safe, 0.0)
    f0 = RATE / (tau + np.clip(offset, -1, 1))
    f0[(f0 < _F0_MIN) | (f0 > _F0_MAX)] = np.nan
    nccf = corr[rows, tau] / np.sqrt(np.maximum(energy[:, 0] * shifted_energy[rows, tau], EPS))
    f0_all[wanted], aperiodicity_all[wanted], nccf_all[wanted] = f0, aperiodicity, nccf
    return f0_all, aperiodicity_all, nccf_all


def pitch_stats(f0: np.ndarray, voiced: np.ndarray) -> dict[str, float | None]:
    """Median, percentiles, range and spread of the median-filtered pitch of voiced frames;
    all None with fewer than 3 voiced frames."""
    if voiced.sum() < 3:
        return dict.fromkeys(("f0_median_hz", "f0_p10_hz", "f0_p90_hz", "f0_range_st", "f0_std_st"))
    smooth = f0.copy()
    smooth[~voiced] = 0.0
    smooth = medfilt(smooth, 5)
    values = smooth[voiced & (smooth > 0)]
    if values.size < 3:
        values = f0[voiced]
    median = float(np.median(values))
    p10, p90 = (float(v) for v in np.percentile(values, [10, 90]))
    semitones = 12 * np.log2(values / median)
    return {
        "f0_median_hz": median,
        "f0_p10_hz": p10,
        "f0_p90_hz": p90,
        "f0_range_st": float(12 * np.log2(p90 / p10)),
        "f0_std_st": float(semitones.std()),
    }


def jitter_st(f0: np.ndarray, voiced: np.ndarray) -> float | None:
    """Median absolute second difference of pitch (semitones) inside voiced runs."""
    steps = []
    for start, end in runs(voiced):
        if end - start >= 3:
            semitones = 12 * np.log2(f0[start:end])
            steps.append(np.abs(np.diff(semitones, 2)))
    if not steps:
        return None
    return float(np.median(np.concatenate(steps)))
