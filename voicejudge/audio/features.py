"""Acoustic features of a voice clip: `Features` is the project's vocabulary (rubrics, learners
and simulated raters name features by its fields), `z_scores` puts them on the fixed scale of
`NORMS`, and `FeatureCache` measures each clip once."""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from threading import Lock

import numpy as np
from pydantic import BaseModel, Field

from voicejudge.audio.clip import AudioClip
from voicejudge.audio.frames import EPS, HOP, RATE, WINDOW, close_gaps, framed, loud_frames
from voicejudge.audio.level import clip_ratio, integrated_loudness
from voicejudge.audio.pitch import jitter_st, pitch_stats, yin
from voicejudge.audio.rhythm import pause_ratio, syllable_count
from voicejudge.audio.spectrum import native_spectrum, speech_spectrum

FEATURES_VERSION = 2


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
    frames = framed(x, WINDOW)
    frame_power = (frames**2).mean(axis=1) + EPS
    frame_db = 10 * np.log10(frame_power)
    loud = loud_frames(frame_db)
    active = close_gaps(loud)

    f0, aperiodicity, nccf = yin(x, np.flatnonzero(active), len(frames))
    voiced = active & (aperiodicity < 0.4) & (nccf > 0.5) & np.isfinite(f0)
    pitch = pitch_stats(f0, voiced)
    jitter = jitter_st(f0, voiced)
    voiced_frac = float(voiced.sum() / max(active.sum(), 1))
    hnr = None
    if voiced.any():
        r = np.clip(nccf[voiced], 1e-3, 1 - 1e-3)
        hnr = float(np.median(10 * np.log10(r / (1 - r))))

    syllables = syllable_count(x, active)
    speech_s = active.sum() * HOP / RATE
    spectrum = speech_spectrum(x, active)
    return Features(
        duration_s=duration,
        **pitch,
        voiced_frac=voiced_frac,
        syll_rate=syllables / duration,
        artic_rate=syllables / speech_s if speech_s > 0 else 0.0,
        lufs=integrated_loudness(x),
        clip_ratio=clip_ratio(x),
        hnr_db=hnr,
        jitter_st=jitter,
        pause_ratio=pause_ratio(active),
        energy_std_db=float(frame_db[loud].std()) if loud.any() else 0.0,
        **spectrum,
        **native_spectrum(clip),
    )


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
