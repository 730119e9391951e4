"""Rubrics: criteria over acoustic features and the score they give a voice.

One scoring rule serves the offline judge (criteria of a judge prompt), the acoustic learner
(whose fitted effects become criteria) and simulated raters (hidden criteria). Linear and target
criteria read fixed-scale z-scores; gates read raw feature values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from voicejudge.audio.features import FEATURE_NAMES, Features, z_scores

CriterionKind = Literal["higher", "lower", "target", "gate"]

FEATURE_LABELS: dict[str, str] = {
    "duration_s": "take length",
    "f0_median_hz": "pitch",
    "f0_p10_hz": "low end of the pitch",
    "f0_p90_hz": "high end of the pitch",
    "f0_range_st": "pitch range",
    "f0_std_st": "pitch movement",
    "voiced_frac": "voicing (less whisper)",
    "syll_rate": "speaking rate",
    "artic_rate": "articulation rate",
    "lufs": "loudness",
    "snr_db": "signal-to-noise ratio (less background noise)",
    "noise_floor_dbfs": "background noise level",
    "clip_ratio": "clipping distortion",
    "bandwidth_hz": "audio bandwidth",
    "hf_ratio_db": "high-frequency energy",
    "tilt_db_oct": "spectral brightness",
    "centroid_hz": "spectral centroid",
    "hnr_db": "harmonics-to-noise ratio (clearer, less rough voice)",
    "jitter_st": "pitch roughness",
    "pause_ratio": "pausing",
    "energy_std_db": "loudness variation",
    "bandwidth_native_hz": "audio bandwidth at the file's own sample rate",
    "rolloff_hz": "spectral roll-off (where the top end fades out)",
    "hf7k_db": "energy above 7 kHz (air)",
    "flatness_db": "spectral flatness (noise-like spectrum)",
    "flux": "spectral flux (warble, codec artifacts)",
}


def feature_label(feature: str) -> str:
    """A listener's name for a feature, with its canonical name."""
    return f"{FEATURE_LABELS.get(feature, feature)} ({feature})"


def gate_tripped(value: float | None, threshold: float, below: bool) -> bool:
    """Whether a raw value trips a gate: below (or above) its threshold; a missing value never
    does. The one gate rule of rubrics, fits and simulated raters."""
    if value is None or math.isnan(value):
        return False
    return value < threshold if below else value > threshold


class Criterion(BaseModel):
    """One thing a judge rewards or penalises, tied to a canonical feature."""

    feature: str = Field(description="canonical feature name, e.g. f0_median_hz")
    kind: CriterionKind
    weight: float = Field(ge=0, description="importance; the score's scale is z-units")
    target: float | None = Field(default=None, description="ideal z-score, for kind=target")
    threshold: float | None = Field(
        default=None, description="raw-unit limit, for kind=gate (e.g. 4000 Hz)"
    )
    below: bool = Field(
        default=True, description="gate penalises values below the threshold (else above)"
    )
    rationale: str = ""
    source: Literal["prompt", "learned"] = Field(
        default="prompt", description="written into the prompt, or learned from rankings"
    )

    @model_validator(mode="after")
    def _complete(self) -> Criterion:
        if self.feature not in FEATURE_NAMES:
            raise ValueError(f"Unknown feature {self.feature!r}; use one of {FEATURE_NAMES}")
        if self.kind == "target" and self.target is None:
            raise ValueError(f"Criterion on {self.feature} of kind 'target' needs a target")
        if self.kind == "gate" and self.threshold is None:
            raise ValueError(f"Criterion on {self.feature} of kind 'gate' needs a threshold")
        return self

    def term(self, z: Mapping[str, float], raw: Mapping[str, float | None]) -> float:
        """This criterion's contribution to a voice's score."""
        value = z[self.feature]
        if self.kind == "higher":
            return self.weight * value
        if self.kind == "lower":
            return -self.weight * value
        if self.kind == "target":
            assert self.target is not None
            return -self.weight * (value - self.target) ** 2
        assert self.threshold is not None
        return -self.weight if gate_tripped(raw[self.feature], self.threshold, self.below) else 0.0

    def describe(self) -> str:
        """The criterion in words, for a prompt."""
        if self.kind == "higher":
            text = f"higher {self.feature}"
        elif self.kind == "lower":
            text = f"lower {self.feature}"
        elif self.kind == "target":
            text = f"{self.feature} near z={self.target:+.1f}"
        else:
            side = "below" if self.below else "above"
            text = f"penalise {self.feature} {side} {self.threshold:g}"
        return f"{text} (weight {self.weight:.2f})" + (
            f": {self.rationale}" if self.rationale else ""
        )


def score(criteria: Sequence[Criterion], features: Features) -> float:
    """A voice's score under a rubric: the sum of its criteria's terms."""
    z = z_scores(features)
    raw = features.model_dump()
    return sum(criterion.term(z, raw) for criterion in criteria)
