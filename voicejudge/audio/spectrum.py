"""Spectral features: the long-term speech spectrum at 16 kHz, and band-limit and artifact
measures at the clip's own rate (at most 48 kHz; 32 ms window, 16 ms hop), so a band limit
above 8 kHz (a codec's, say) stays visible."""

from __future__ import annotations

import numpy as np
from scipy.fft import next_fast_len, rfft, rfftfreq

from voicejudge.audio.clip import AudioClip
from voicejudge.audio.frames import EPS, RATE, framed, loud_frames

MAX_NATIVE_RATE = 48_000
NATIVE_WINDOW_S = 0.032
NATIVE_HOP_S = 0.016

_DB_FLOOR = -120.0
_HF_EDGE_HZ = 7_000.0
_FLATNESS_BAND_HZ = (100.0, 12_000.0)
_FLUX_BAND_HZ = (100.0, 8_000.0)


def speech_spectrum(x: np.ndarray, active: np.ndarray) -> dict[str, float]:
    """Noise and band features at 16 kHz: the mean spectrum of speech frames against that of
    the quietest 10 % of frames."""
    size = 512
    frames = framed(x, size) * np.hanning(size)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2 + EPS
    freqs = np.fft.rfftfreq(size, 1 / RATE)
    n = min(len(power), len(active))
    power, speech = power[:n], active[:n]
    totals = power.sum(axis=1)
    quiet = totals <= np.percentile(totals, 10)
    noise = power[quiet].mean(axis=0)
    speech_power = power[speech].mean(axis=0) if speech.any() else power.mean(axis=0)
    noise_total = float(noise.sum())
    signal_total = max(float(speech_power.sum()) - noise_total, EPS)
    snr = min(10 * np.log10(signal_total / max(noise_total, EPS)), 80.0)
    noise_floor = 10 * np.log10(noise_total / (size * np.sum(np.hanning(size) ** 2)) + EPS)

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
    return 10 * np.log10(np.maximum(power, EPS))


def native_spectrum(clip: AudioClip) -> dict[str, float]:
    """Band-limit and artifact features at the clip's own rate (at most 48 kHz): speech frames
    pass the loudness rule of `loud_frames`, noise frames are the quietest 10 %."""
    rate = min(clip.sample_rate, MAX_NATIVE_RATE)
    x = clip.resampled(rate)
    window, hop = round(NATIVE_WINDOW_S * rate), round(NATIVE_HOP_S * rate)
    # float32 spectra: twice as fast, and ample precision for levels down to -120 dB.
    frames = framed(x, window, hop) * np.hanning(window).astype(np.float32)
    size = next_fast_len(window, real=True)
    spectrum = rfft(frames, size, axis=1, workers=1)
    power = spectrum.real**2 + spectrum.imag**2
    freqs = rfftfreq(size, 1 / rate)
    audible = freqs >= 50
    energy = power[:, audible].sum(axis=1, dtype=np.float64)
    speech = loud_frames(_db(energy))
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
    if cumulative[-1] <= EPS:
        return 0.0
    index = int(np.searchsorted(cumulative, share * cumulative[-1]))
    return float(freqs[min(index, len(freqs) - 1)])


def _hf_share_db(
    power: np.ndarray, freqs: np.ndarray, audible: np.ndarray, nyquist: float
) -> float:
    """Power above 7 kHz over all power above 50 Hz, dB, floored at -120 dB: also the value
    when the rate leaves nothing above 7 kHz (14 kHz or less)."""
    total = float(power[audible].sum())
    if nyquist <= _HF_EDGE_HZ or total <= EPS:
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
    peak = np.maximum(p.max(axis=1, keepdims=True), EPS)
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
    shape = np.where(sums > 0, magnitude / np.maximum(sums, EPS), 1 / band.sum())
    steps = np.diff(shape, axis=0)[consecutive]
    return float(np.sqrt((steps**2).sum(axis=1)).mean())
