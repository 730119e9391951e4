"""Acoustic features of a voice clip, measured with numpy and scipy only.

Most features are measured at 16 kHz with a 10 ms hop. The last five (`bandwidth_native_hz`
to `flux`) are measured at the clip's own sample rate, capped at 48 kHz, with a 32 ms window and
a 16 ms hop, so a band limit above 8 kHz (a codec's, say) stays visible. The field names of
`Features` are the project's vocabulary: rubrics, learners and simulated raters refer to features
by them, and `z_scores` turns them into fixed-scale numbers (see `NORMS`).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from threading import Lock

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import BaseModel, Field
from scipy.fft import irfft, next_fast_len, rfft, rfftfreq
from scipy.signal import butter, find_peaks, lfilter, medfilt, sosfiltfilt

from voicejudge.audio.clip import AudioClip

RATE = 16_000
HOP = 160  # 10 ms
WINDOW = 400  # 25 ms
MAX_NATIVE_RATE = 48_000
NATIVE_WINDOW_S = 0.032
NATIVE_HOP_S = 0.016
FEATURES_VERSION = 2

_F0_MIN, _F0_MAX = 60.0, 500.0
_YIN_THRESHOLD = 0.15
_EPS = 1e-12
_DB_FLOOR = -120.0
_HF_EDGE_HZ = 7_000.0
_FLATNESS_BAND_HZ = (100.0, 12_000.0)
_FLUX_BAND_HZ = (100.0, 8_000.0)


class Features(BaseModel):
    """What a clip sounds like, in numbers; units are in each field's description."""

    duration_s: float = Field(description="clip length, seconds")
    f0_median_hz: float | None = Field(description="median pitch of voiced speech, Hz")
    f0_p10_hz: float | None = Field(description="10th percentile of pitch, Hz")
    f0_p90_hz: float | None = Field(description="90th percentile of pitch, Hz")
    f0_range_st: float | None = Field(description="p10 to p90 pitch range, semitones")
    f0_std_st: float | None = Field(description="pitch spread around the median, semitones")
    voiced_frac: float = Field(description="share of speech frames that are voiced, 0-1")
    syll_rate: float = Field(description="syllable nuclei per second of the whole clip")
    artic_rate: float = Field(description="syllable nuclei per second of speech, pauses excluded")
    lufs: float = Field(description="integrated loudness, ITU-R BS.1770-4, LUFS")
    snr_db: float = Field(description="speech to background noise ratio, dB")
    noise_floor_dbfs: float = Field(description="level of the quietest frames, dBFS")
    clip_ratio: float = Field(description="share of samples stuck at the clipped peak, 0-1")
    bandwidth_hz: float = Field(description="highest frequency carrying speech energy, Hz")
    hf_ratio_db: float = Field(description="energy above 4 kHz relative to below, dB")
    tilt_db_oct: float = Field(description="spectral slope from 100 Hz to 5 kHz, dB per octave")
    centroid_hz: float = Field(description="spectral centroid of speech, Hz")
    hnr_db: float | None = Field(description="harmonics to noise ratio of voiced speech, dB")
    jitter_st: float | None = Field(description="frame-to-frame pitch roughness, semitones")
    pause_ratio: float = Field(description="share of the speech span spent in pauses >= 100 ms")
    energy_std_db: float = Field(description="spread of frame energy in speech, dB")
    bandwidth_native_hz: float = Field(
        description="highest frequency carrying speech energy at the clip's own rate, Hz"
    )
    rolloff_hz: float = Field(
        description="frequency below which 99 % of speech power lies, at the clip's own rate, Hz"
    )
    hf7k_db: float = Field(
        description="speech energy above 7 kHz relative to all, dB; -120 (the floor) when the "
        "clip's rate is 14 kHz or less"
    )
    flatness_db: float = Field(
        description="spectral flatness of speech, 100 Hz to 12 kHz (or Nyquist), dB, <= 0"
    )
    flux: float = Field(
        description="frame-to-frame change of the unit-sum speech spectrum, 100 Hz to 8 kHz, "
        "unitless, 0 to 1.41"
    )


FEATURE_NAMES: tuple[str, ...] = tuple(Features.model_fields)

# Fixed normalisation: (median, scale) per feature, where scale is IQR / 1.349 (half the
# standard deviation where the IQR is 0), measured with this extractor on the 40 bundled demo
# voices (`python scripts/reference_norms.py assets/voices`). Fixed constants keep a z-score
# meaning the same thing on every sample set.
NORMS: dict[str, tuple[float, float]] = {
    "duration_s": (4.782, 1.584),
    "f0_median_hz": (99.91, 38.89),
    "f0_p10_hz": (90.95, 33.59),
    "f0_p90_hz": (122.2, 47.1),
    "f0_range_st": (4.78, 2.483),
    "f0_std_st": (2.368, 1.499),
    "voiced_frac": (0.6323, 0.1694),
    "syll_rate": (3.695, 1.158),
    "artic_rate": (4.846, 1.489),
    "lufs": (-17.77, 8.257),
    "snr_db": (34.63, 36.53),
    "noise_floor_dbfs": (-55.2, 33.04),
    "clip_ratio": (0.0, 0.002822),
    "bandwidth_hz": (7719.0, 278.0),
    "hf_ratio_db": (-20.4, 4.945),
    "tilt_db_oct": (-5.82, 1.423),
    "centroid_hz": (933.7, 95.43),
    "hnr_db": (7.323, 1.855),
    "jitter_st": (0.07091, 0.06889),
    "pause_ratio": (0.07692, 0.07482),
    "energy_std_db": (6.67, 2.697),
    # The bundled voices are all 16 kHz, so their native bandwidth is degenerate (all just below
    # 8 kHz): a physical scale instead, 2 kHz per unit around the 16 kHz Nyquist frequency.
    "bandwidth_native_hz": (8000.0, 2000.0),
    "rolloff_hz": (3938.0, 1407.0),
    "hf7k_db": (-31.18, 7.396),
    "flatness_db": (-22.35, 8.635),
    "flux": (0.07985, 0.01518),
}


Z_LIMIT = 4.0


def z_scores(features: Features) -> dict[str, float]:
    """Each feature on the fixed scale of `NORMS`, limited to ±`Z_LIMIT` so one extreme take
    (a clipped one's jitter is hundreds of IQRs out) cannot outweigh everything else; a missing
    value (no voiced speech) is 0."""
    values = features.model_dump()
    scores = {}
    for name, (center, scale) in NORMS.items():
        value = values[name]
        z = 0.0 if value is None else (float(value) - center) / scale
        scores[name] = min(Z_LIMIT, max(-Z_LIMIT, z))
    return scores


def extract_features(clip: AudioClip) -> Features:
    """Measure every feature of one clip (about 10 ms of work for 3 s of audio)."""
    x = clip.resampled(RATE).astype(np.float64)
    duration = len(x) / RATE
    frames = _frames(x, WINDOW)
    frame_power = (frames**2).mean(axis=1) + _EPS
    frame_db = 10 * np.log10(frame_power)
    loud = _loud_frames(frame_db)
    active = _close_gaps(loud)

    f0, aperiodicity, nccf = _yin(x, np.flatnonzero(active), len(frames))
    voiced = active & (aperiodicity < 0.4) & (nccf > 0.5) & np.isfinite(f0)
    pitch = _pitch_stats(f0, voiced)
    jitter = _jitter_st(f0, voiced)
    voiced_frac = float(voiced.sum() / max(active.sum(), 1))
    hnr = None
    if voiced.any():
        r = np.clip(nccf[voiced], 1e-3, 1 - 1e-3)
        hnr = float(np.median(10 * np.log10(r / (1 - r))))

    syllables = _syllable_count(x, active)
    speech_s = active.sum() * HOP / RATE
    spectrum = _spectral(x, active)
    return Features(
        duration_s=duration,
        **pitch,
        voiced_frac=voiced_frac,
        syll_rate=syllables / duration,
        artic_rate=syllables / speech_s if speech_s > 0 else 0.0,
        lufs=_integrated_loudness(x),
        clip_ratio=_clip_ratio(x),
        hnr_db=hnr,
        jitter_st=jitter,
        pause_ratio=_pause_ratio(active),
        energy_std_db=float(frame_db[loud].std()) if loud.any() else 0.0,
        **spectrum,
        **_native_spectral(clip),
    )


def _frames(x: np.ndarray, length: int, hop: int = HOP) -> np.ndarray:
    count = 1 + max(0, len(x) - length) // hop
    padded = np.pad(x, (0, max(0, length - len(x))))
    return sliding_window_view(padded, length)[::hop][:count]


def _loud_frames(frame_db: np.ndarray) -> np.ndarray:
    """Frames well above the clip's own floor and within 40 dB of its loud frames."""
    floor = np.percentile(frame_db, 10)
    loud = np.percentile(frame_db, 95)
    return frame_db > max(floor + 6.0, loud - 40.0)


def _close_gaps(loud: np.ndarray) -> np.ndarray:
    """Speech activity: loud frames with gaps under 50 ms closed, so words stay whole."""
    return loud | _short_runs(~loud, 5)


def _short_runs(mask: np.ndarray, max_len: int) -> np.ndarray:
    """`mask` with runs of True longer than `max_len` removed."""
    out = mask.copy()
    for start, end in _runs(mask):
        if end - start > max_len:
            out[start:end] = False
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2], edges[1::2], strict=True))


def _yin(
    x: np.ndarray, wanted: np.ndarray, total: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    cmndf[:, 1:] = diff[:, 1:] * lags[1:] / np.maximum(running, _EPS)

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
    safe = np.where(np.abs(curvature) > _EPS, curvature, 1.0)
    offset = np.where(np.abs(curvature) > _EPS, 0.5 * (left - right) / safe, 0.0)
    f0 = RATE / (tau + np.clip(offset, -1, 1))
    f0[(f0 < _F0_MIN) | (f0 > _F0_MAX)] = np.nan
    nccf = corr[rows, tau] / np.sqrt(np.maximum(energy[:, 0] * shifted_energy[rows, tau], _EPS))
    f0_all[wanted], aperiodicity_all[wanted], nccf_all[wanted] = f0, aperiodicity, nccf
    return f0_all, aperiodicity_all, nccf_all


def _pitch_stats(f0: np.ndarray, voiced: np.ndarray) -> dict[str, float | None]:
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


def _jitter_st(f0: np.ndarray, voiced: np.ndarray) -> float | None:
    """Median absolute second difference of pitch (semitones) inside voiced runs."""
    steps = []
    for start, end in _runs(voiced):
        if end - start >= 3:
            semitones = 12 * np.log2(f0[start:end])
            steps.append(np.abs(np.diff(semitones, 2)))
    if not steps:
        return None
    return float(np.median(np.concatenate(steps)))


def _syllable_count(x: np.ndarray, active: np.ndarray) -> int:
    """Peaks of the smoothed 300-3000 Hz envelope: >= 2 dB prominence, >= 70 ms apart."""
    band = sosfiltfilt(_BANDPASS, x)
    envelope = np.sqrt(_frames(band**2, WINDOW).mean(axis=1) + _EPS)
    smoothed = np.convolve(envelope, np.hanning(7) / np.hanning(7).sum(), mode="same")
    level = 20 * np.log10(smoothed + _EPS)
    peaks, _ = find_peaks(level, prominence=2.0, distance=7)
    n = min(len(active), len(level))
    return int(sum(1 for p in peaks if p < n and active[p]))


_BANDPASS = butter(4, [300, 3000], btype="bandpass", fs=RATE, output="sos")


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


def _integrated_loudness(x: np.ndarray) -> float:
    """Gated loudness over 400 ms blocks with 75 % overlap (absolute -70, relative -10 LU)."""
    weighted = x
    for b, a in _K_FILTERS:
        weighted = lfilter(b, a, weighted)
    block, step = int(0.4 * RATE), int(0.1 * RATE)
    if len(weighted) < block:
        powers = np.array([np.mean(weighted**2)])
    else:
        powers = sliding_window_view(weighted**2, block)[::step].mean(axis=1)
    loudness = -0.691 + 10 * np.log10(powers + _EPS)
    kept = powers[loudness > -70]
    if kept.size == 0:
        return -70.0
    relative = -0.691 + 10 * np.log10(kept.mean()) - 10
    gated = kept[-0.691 + 10 * np.log10(kept) > relative]
    return float(-0.691 + 10 * np.log10(gated.mean() if gated.size else kept.mean()))


def _clip_ratio(x: np.ndarray) -> float:
    """Share of samples in runs of >= 3 at (nearly) the peak: flat tops that clipping leaves."""
    peak = float(np.abs(x).max())
    if peak < 0.25:
        return 0.0
    at_peak = np.abs(x) >= 0.98 * peak
    stuck = sum(end - start for start, end in _runs(at_peak) if end - start >= 3)
    return stuck / len(x)


def _spectral(x: np.ndarray, active: np.ndarray) -> dict[str, float]:
    size = 512
    frames = _frames(x, size) * np.hanning(size)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2 + _EPS
    freqs = np.fft.rfftfreq(size, 1 / RATE)
    n = min(len(power), len(active))
    power, speech = power[:n], active[:n]
    totals = power.sum(axis=1)
    quiet = totals <= np.percentile(totals, 10)
    noise = power[quiet].mean(axis=0)
    speech_power = power[speech].mean(axis=0) if speech.any() else power.mean(axis=0)
    noise_total = float(noise.sum())
    signal_total = max(float(speech_power.sum()) - noise_total, _EPS)
    snr = min(10 * np.log10(signal_total / max(noise_total, _EPS)), 80.0)
    noise_floor = 10 * np.log10(noise_total / (size * np.sum(np.hanning(size) ** 2)) + _EPS)

    level = 10 * np.log10(speech_power)
    low, high = speech_power[(freqs > 50) & (freqs < 4000)], speech_power[freqs >= 4000]
    band = (freqs >= 100) & (freqs <= 5000)
    slope = np.polyfit(np.log2(freqs[band]), level[band], 1)[0]
    centroid = float((freqs * speech_power).sum() / speech_power.sum())
    return {
        "snr_db": float(snr),
        "noise_floor_dbfs": float(max(noise_floor, -120.0)),
        "bandwidth_hz": _bandwidth(speech_power, noise, freqs),
        "hf_ratio_db": float(10 * np.log10(high.sum() / low.sum())),
        "tilt_db_oct": float(slope),
        "centroid_hz": centroid,
    }


def _bandwidth(speech: np.ndarray, noise: np.ndarray, freqs: np.ndarray) -> float:
    """Highest bin >= 100 Hz whose speech level is 6 dB over the noise and within 50 dB of the
    loudest bin; 0 if none."""
    level = _db(speech)
    carries = (level > _db(noise) + 6) & (level > level.max() - 50) & (freqs >= 100)
    return float(freqs[np.flatnonzero(carries)[-1]]) if carries.any() else 0.0


def _db(power: np.ndarray | float) -> np.ndarray:
    return 10 * np.log10(np.maximum(power, _EPS))


def _native_spectral(clip: AudioClip) -> dict[str, float]:
    """Band-limit and artifact features at the clip's own rate (at most 48 kHz): speech frames
    pass the loudness rule of `_loud_frames`, noise frames are the quietest 10 %."""
    rate = min(clip.sample_rate, MAX_NATIVE_RATE)
    x = clip.resampled(rate)
    window, hop = round(NATIVE_WINDOW_S * rate), round(NATIVE_HOP_S * rate)
    # float32 spectra: twice as fast, and ample precision for levels down to -120 dB.
    frames = _frames(x, window, hop) * np.hanning(window).astype(np.float32)
    size = next_fast_len(window, real=True)
    spectrum = rfft(frames, size, axis=1, workers=1)
    power = spectrum.real**2 + spectrum.imag**2
    freqs = rfftfreq(size, 1 / rate)
    audible = freqs >= 50
    energy = power[:, audible].sum(axis=1, dtype=np.float64)
    speech = _loud_frames(_db(energy))
    if speech.sum() < 2:
        speech[:] = True
    quiet = energy <= np.percentile(energy, 10)
    talk = power[speech]
    speech_power = talk.mean(axis=0, dtype=np.float64)
    noise = power[quiet].mean(axis=0, dtype=np.float64)
    consecutive = np.diff(np.flatnonzero(speech)) == 1
    return {
        "bandwidth_native_hz": _bandwidth(speech_power, noise, freqs),
        "rolloff_hz": _rolloff(np.where(audible, speech_power, 0.0), freqs),
        "hf7k_db": _hf_share_db(speech_power, freqs, audible, rate / 2),
        "flatness_db": _flatness_db(talk, freqs, rate / 2),
        "flux": _flux(talk, consecutive, freqs, rate / 2),
    }


def _rolloff(power: np.ndarray, freqs: np.ndarray, share: float = 0.99) -> float:
    """Frequency below which `share` of the power lies (the 95 % point of speech sits at
    1-3 kHz and misses band limits); 0 for no power."""
    cumulative = np.cumsum(power)
    if cumulative[-1] <= _EPS:
        return 0.0
    index = int(np.searchsorted(cumulative, share * cumulative[-1]))
    return float(freqs[min(index, len(freqs) - 1)])


def _hf_share_db(
    power: np.ndarray, freqs: np.ndarray, audible: np.ndarray, nyquist: float
) -> float:
    """Power above 7 kHz over all power above 50 Hz, dB, floored at -120 dB: also the value
    when the rate leaves nothing above 7 kHz (14 kHz or less)."""
    total = float(power[audible].sum())
    if nyquist <= _HF_EDGE_HZ or total <= _EPS:
        return _DB_FLOOR
    return max(float(_db(power[freqs >= _HF_EDGE_HZ].sum() / total)), _DB_FLOOR)


def _flatness_db(power: np.ndarray, freqs: np.ndarray, nyquist: float) -> float:
    """Mean per-frame geometric over arithmetic mean of power, 100 Hz to 12 kHz, dB; bins are
    floored 120 dB under the frame's peak so an empty band reads low but finite."""
    low, high = _FLATNESS_BAND_HZ
    band = (freqs >= low) & (freqs <= min(high, nyquist))
    if band.sum() < 2 or len(power) == 0:
        return 0.0
    p = power[:, band]
    peak = np.maximum(p.max(axis=1, keepdims=True), _EPS)
    p = np.maximum(p, peak * 10 ** (_DB_FLOOR / 10))
    flatness = np.log(p).mean(axis=1) - np.log(p.mean(axis=1))
    return float(min(0.0, flatness.mean() * 10 / np.log(10)))


def _flux(power: np.ndarray, consecutive: np.ndarray, freqs: np.ndarray, nyquist: float) -> float:
    """Mean distance between the magnitude spectra of speech frames that follow each other
    (`consecutive[i]`: frame i + 1 right after frame i), 100 Hz to 8 kHz, each scaled to unit
    sum so loudness does not count; 0 without such a pair."""
    low, high = _FLUX_BAND_HZ
    band = (freqs >= low) & (freqs <= min(high, nyquist))
    if band.sum() < 2 or not consecutive.any():
        return 0.0
    magnitude = np.sqrt(power[:, band])
    sums = magnitude.sum(axis=1, keepdims=True)
    shape = np.where(sums > 0, magnitude / np.maximum(sums, _EPS), 1 / band.sum())
    steps = np.diff(shape, axis=0)[consecutive]
    return float(np.sqrt((steps**2).sum(axis=1)).mean())


def _pause_ratio(active: np.ndarray) -> float:
    """Share of the span from first to last speech frame spent in silences of >= 100 ms."""
    speech = np.flatnonzero(active)
    if speech.size < 2:
        return 0.0
    span = active[speech[0] : speech[-1] + 1]
    paused = sum(end - start for start, end in _runs(~span) if end - start >= 10)
    return paused / len(span)


_shared_memory: dict[Path, OrderedDict[str, Features]] = {}
_shared_lock = Lock()


class FeatureCache:
    """Features by clip sha256: in memory, and as JSON files when given a folder.

    Caches built on the same folder share their memory, so a clip is analysed once per process.
    """

    def __init__(self, folder: Path | None = None, capacity: int = 4096) -> None:
        self.folder = folder
        self._capacity = capacity
        if folder is None:
            self._memory: OrderedDict[str, Features] = OrderedDict()
        else:
            with _shared_lock:
                self._memory = _shared_memory.setdefault(folder.resolve(), OrderedDict())
        self._lock = _shared_lock

    def features(self, clip: AudioClip) -> Features:
        """The clip's features, measured once per content hash and extractor version."""
        key = f"v{FEATURES_VERSION}-{clip.sha256}"
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                return self._memory[key]
        found = self._read(key)
        if found is None:
            found = extract_features(clip)
            self._write(key, found)
        with self._lock:
            self._memory[key] = found
            while len(self._memory) > self._capacity:
                self._memory.popitem(last=False)
        return found

    def _read(self, key: str) -> Features | None:
        if self.folder is None:
            return None
        path = self.folder / f"{key}.json"
        try:
            return Features.model_validate_json(path.read_text())
        except (OSError, ValueError):
            return None

    def _write(self, key: str, features: Features) -> None:
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = self.folder / f"{key}.json.partial"
            partial.write_text(json.dumps(features.model_dump()))
            partial.replace(self.folder / f"{key}.json")
        except OSError:
            pass  # a cache that cannot be written only costs a re-analysis
