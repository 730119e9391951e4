"""A term over a feature: the one shape shared by rubric criteria, simulated raters' utilities,
the fit's gates and the patterns a learner states.

A term says which way one canonical feature pulls a voice: `higher` or `lower` (read on the
feature's fixed-scale z-score), `target` (an ideal z-score) or `gate` (a raw-unit limit that
a value below, or above, trips). Weights and evidence belong to whoever uses the term.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from voicejudge.audio.features import FEATURE_NAMES

TermKind = Literal["higher", "lower", "target", "gate"]

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


class FeatureTerm(BaseModel):
    """Which way one canonical feature pulls a voice, with its ideal value or limit."""

    feature: str = Field(description="canonical feature name, e.g. f0_median_hz")
    kind: TermKind
    target: float | None = Field(default=None, description="ideal z-score, for kind=target")
    threshold: float | None = Field(
        default=None, description="raw-unit limit, for kind=gate (e.g. 4000 Hz)"
    )
    below: bool = Field(
        default=True, description="a gate trips on values below the threshold (else above)"
    )

    @model_validator(mode="after")
    def _complete(self) -> FeatureTerm:
        if self.feature not in FEATURE_NAMES:
            raise ValueError(f"unknown feature {self.feature!r}; use one of {FEATURE_NAMES}")
        if self.kind == "target" and self.target is None:
            raise ValueError(f"the target term on {self.feature} needs 'target' (a z-score)")
        if self.kind == "gate" and self.threshold is None and not self._limit_given_later():
            raise ValueError(f"the gate term on {self.feature} needs {self._limit_needed()}")
        return self

    def _limit_given_later(self) -> bool:
        """Whether a gate's threshold may be resolved later (a rater's quantile gate)."""
        return False

    def _limit_needed(self) -> str:
        return "'threshold' (raw units)"

    def tripped(self, value: float | None) -> bool:
        """Whether a gate trips on this raw value."""
        assert self.threshold is not None
        return gate_tripped(value, self.threshold, self.below)

    def pull(self, z: Mapping[str, float], raw: Mapping[str, float | None]) -> float:
        """The unweighted term for one voice: ±z, minus the squared distance from the target,
        or minus one for a tripped gate."""
        if self.kind == "gate":
            return -1.0 if self.tripped(raw[self.feature]) else 0.0
        value = z[self.feature]
        if self.kind == "higher":
            return value
        if self.kind == "lower":
            return -value
        assert self.target is not None
        return -((value - self.target) ** 2)

    def preference(self, labelled: bool = False) -> str:
        """The term as a preference in words, e.g. "prefers lower pitch (f0_median_hz)" or
        "rejects snr_db below 15"; `labelled` adds the feature's listener name."""
        name = feature_label(self.feature) if labelled else self.feature
        if self.kind == "gate":
            return f"rejects {name} {'below' if self.below else 'above'} {self.threshold:.4g}"
        if self.kind == "target":
            return f"prefers {name} near z={self.target:+.1f}"
        return f"prefers {self.kind} {name}"

    def slot(self) -> tuple[str, ...]:
        """What two terms about the same thing share: a feature's effect (whichever way it
        pulls), or one gate on it."""
        if self.kind == "gate":
            return (self.feature, "gate", f"{self.threshold}", f"{self.below}")
        return (self.feature, "effect")

    def as_term(self) -> FeatureTerm:
        """Only the term, without what a subclass adds (weight, evidence)."""
        return FeatureTerm(
            feature=self.feature,
            kind=self.kind,
            target=self.target,
            threshold=self.threshold,
            below=self.below,
        )
