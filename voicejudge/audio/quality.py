"""Speech-quality meta-info: 1-5 scores for noise, coloration, discontinuity and loudness.

The factors follow the descriptive speech-quality evaluation literature (higher is better).
The scores are a transparent mapping of measured features, not a trained MOS model: their job
is to ground a judge or learner prompt in facts, and `describe` renders those facts as text.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from voicejudge.audio.clip import AudioClip
from voicejudge.audio.features import FeatureCache, Features
from voicejudge.audio.frames import RATE


class QualityScores(BaseModel):
    """Quality factors on a 1-5 scale (5 = no problem audible)."""

    noise: float = Field(description="background noise; from the speech-to-noise ratio")
    coloration: float = Field(description="coloration/distortion; from clipping and bandwidth")
    discontinuity: float = Field(description="dropouts and abrupt level jumps inside speech")
    loudness: float = Field(description="distance of the level from broadcast loudness")
    overall: float = Field(description="overall estimate, pulled toward the worst factor")


def assess_quality(clip: AudioClip, features: Features) -> QualityScores:
    """Score one clip from its features and its level contour."""
    noise = _scale(features.snr_db, worst=5.0, best=40.0)
    clipping = _scale(-features.clip_ratio, worst=-0.02, best=-0.0005)
    band = _scale(features.bandwidth_hz, worst=2500.0, best=7000.0)
    coloration = min(clipping, band)
    discontinuity = _scale(-_dropouts_per_s(clip), worst=-2.0, best=0.0)
    loudness = _scale(-max(0.0, abs(features.lufs + 20.0) - 4.0), worst=-20.0, best=0.0)
    factors = [noise, coloration, discontinuity, loudness]
    overall = 0.5 * min(factors) + 0.5 * float(np.mean(factors))
    return QualityScores(
        noise=round(noise, 2),
        coloration=round(coloration, 2),
        discontinuity=round(discontinuity, 2),
        loudness=round(loudness, 2),
        overall=round(overall, 2),
    )


_meta_info: dict[str, str] = {}


def meta_info(clip: AudioClip, cache: FeatureCache) -> str:
    """The measured-facts paragraph for a clip, computed once per clip content."""
    if clip.sha256 not in _meta_info:
        features = cache.features(clip)
        _meta_info[clip.sha256] = describe(features, assess_quality(clip, features))
    return _meta_info[clip.sha256]


def describe(features: Features, quality: QualityScores) -> str:
    """One paragraph of measured facts and quality scores, for judge and learner prompts."""
    return (
        f"{describe_features(features)} quality (1-5): noise {quality.noise:.1f}, "
        f"coloration {quality.coloration:.1f}, discontinuity {quality.discontinuity:.1f}, "
        f"loudness {quality.loudness:.1f}, overall about {quality.overall:.1f}."
    )


def describe_features(features: Features) -> str:
    """The measured facts of one clip in one paragraph."""
    parts = [f"Measured over {features.duration_s:.1f} s:"]
    if features.f0_median_hz is not None:
        parts.append(
            f"pitch median {features.f0_median_hz:.0f} Hz "
            f"(10-90 % range {features.f0_range_st:.1f} semitones),"
        )
    else:
        parts.append("no voiced pitch found (whispered or unvoiced),")
    parts.append(
        f"voiced {features.voiced_frac:.0%} of speech, "
        f"{features.syll_rate:.1f} syllables/s ({features.artic_rate:.1f} while speaking), "
        f"pauses {features.pause_ratio:.0%} of the speaking time;"
    )
    roughness = (
        f" harmonics-to-noise {features.hnr_db:.1f} dB, pitch jitter {features.jitter_st:.2f} st;"
        if features.hnr_db is not None and features.jitter_st is not None
        else ""
    )
    parts.append(
        f"loudness {features.lufs:.1f} LUFS, speech-to-noise {features.snr_db:.0f} dB, "
        f"bandwidth {features.bandwidth_hz / 1000:.1f} kHz, "
        f"clipped samples {features.clip_ratio:.2%}, spectral centroid "
        f"{features.centroid_hz:.0f} Hz;{roughness}"
    )
    return " ".join(parts)


def _scale(value: float, *, worst: float, best: float) -> float:
    """Map `value` linearly onto 1 (at `worst` or beyond) .. 5 (at `best` or beyond)."""
    fraction = (value - worst) / (best - worst)
    return float(1.0 + 4.0 * min(1.0, max(0.0, fraction)))


def _dropouts_per_s(clip: AudioClip) -> float:
    """Cuts in loud speech, per second: a fall and a rise of more than 35 dB within 20 ms each,
    with both sides within 10 dB of the clip's loud level (consonant closures do not qualify)."""
    x = clip.resampled(RATE)
    hop = RATE // 100
    usable = len(x) // hop * hop
    if usable < hop * 3:
        return 0.0
    level = 10 * np.log10((x[:usable].reshape(-1, hop) ** 2).mean(axis=1) + 1e-12)
    speaking = level > np.percentile(level, 95) - 10
    middle = level[2:-2]
    fell = level[:-4] - middle > 35
    recovered = level[4:] - middle > 35
    drops = fell & recovered & speaking[:-4] & speaking[4:]
    return int(drops.sum()) / clip.duration_s
