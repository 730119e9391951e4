"""The preference learner: turns preferred-versus-rejected pairs into stated patterns.

Each pattern carries its evidence (comparisons that agree and disagree with it), so a pattern is
only *strong* when the data back it, and a contradicted one is demoted or dropped on the next
update. Every update is published as the next version of one `PreferencePatterns` object.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import weave
from pydantic import BaseModel, Field

from voicejudge.audio.features import FeatureCache, Features, z_scores
from voicejudge.data import SampleSet
from voicejudge.errors import VoiceJudgeError
from voicejudge.preference_fit import Basis, Fit, Gate, basis_for, fit_preferences
from voicejudge.ranking import Comparison
from voicejudge.rubric import Criterion, feature_label
from voicejudge.settings import load_settings

Direction = Literal["higher", "lower", "target", "gate"]
# A difference smaller than this (in z) says nothing about a pattern either way.
_INFORMATIVE_Z = 0.25


class LearnerError(VoiceJudgeError):
    """The learner cannot run on what it was given."""


class Pattern(BaseModel):
    """A stated preference with its evidence."""

    statement: str
    feature: str | None = None
    direction: Direction | None = None
    support: int = Field(ge=0, description="comparisons that agree with the pattern")
    against: int = Field(ge=0, description="comparisons that contradict it")
    confidence: float = Field(ge=0, le=1, description="probability the effect has this sign")
    effect: float = Field(default=0.0, description="fitted weight, z-units")
    target: float | None = None
    threshold: float | None = None
    below: bool = True

    def as_criterion(self) -> Criterion | None:
        """The rubric criterion this pattern asks for (None for a free-text pattern)."""
        if self.feature is None or self.direction is None:
            return None
        return Criterion(
            feature=self.feature,
            kind=self.direction,
            weight=abs(self.effect),
            target=self.target,
            threshold=self.threshold,
            below=self.below,
            rationale=self.statement,
        )


class PreferencePatterns(weave.Object):
    """What the learner currently believes, split by strength of evidence."""

    strong: list[Pattern] = Field(default_factory=list)
    emerging: list[Pattern] = Field(default_factory=list)
    comparisons: int = 0
    learned_from: list[str] = Field(default_factory=list, description="rank_audio call ids")
    learner: str = "acoustic"


class PreferenceLearner(weave.Model):
    """Learns patterns from comparisons; `model` picks the backend (`acoustic` or `gemini:<m>`)."""

    model: str = "acoustic"
    prior: list[Criterion] = Field(default_factory=list, description="the current rubric")
    patterns_name: str = "preference-patterns"

    @weave.op
    def update(self, comparisons: list[Comparison], samples: SampleSet) -> PreferencePatterns:
        if self.model != "acoustic":
            raise LearnerError(f"Unknown learner model {self.model!r}; use 'acoustic'.")
        features = _features_for(comparisons, samples)
        patterns = learn_acoustic(comparisons, features, self.prior)
        return _publish(patterns, self.patterns_name)


def fit_rubric(
    comparisons: Sequence[Comparison], features: dict[str, Features], prior: Sequence[Criterion]
) -> Fit:
    """The posterior of every basis weight given the comparisons, centred on `prior`."""
    basis = basis_for(prior)
    rows = {sample_id: basis.row(f) for sample_id, f in features.items()}
    compared = {c.preferred_id for c in comparisons} | {c.rejected_id for c in comparisons}
    missing = sorted(compared - set(rows))
    if missing:
        raise LearnerError(f"No features for samples {', '.join(missing)}.")
    if comparisons:
        differences = np.array([rows[c.preferred_id] - rows[c.rejected_id] for c in comparisons])
    else:
        differences = np.zeros((0, basis.size))
    return fit_preferences(differences, basis.prior_mean(prior), basis.precision(), basis)


def learn_acoustic(
    comparisons: Sequence[Comparison], features: dict[str, Features], prior: Sequence[Criterion]
) -> PreferencePatterns:
    """Fit a rubric around `prior` and state its well-supported effects as patterns."""
    fit = fit_rubric(comparisons, features, prior)
    z = {sample_id: z_scores(f) for sample_id, f in features.items()}
    raw = {sample_id: f.model_dump() for sample_id, f in features.items()}
    strong, emerging = [], []
    for pattern in _candidate_patterns(fit, comparisons, z, raw):
        ratio = pattern.support / max(pattern.against, 1)
        if pattern.confidence >= 0.975 and pattern.support >= 3 and ratio >= 2:
            strong.append(pattern)
        elif pattern.confidence >= 0.84 and pattern.support > pattern.against:
            emerging.append(pattern)
    return PreferencePatterns(
        strong=sorted(strong, key=lambda p: -abs(p.effect)),
        emerging=sorted(emerging, key=lambda p: -abs(p.effect)),
        comparisons=len(comparisons),
        learned_from=sorted({c.call_id for c in comparisons if c.call_id}),
        learner="acoustic",
    )


def _candidate_patterns(
    fit: Fit,
    comparisons: Sequence[Comparison],
    z: dict[str, dict[str, float]],
    raw: dict[str, dict[str, float | None]],
) -> list[Pattern]:
    basis: Basis = fit.basis
    n = len(basis.features)
    patterns = []
    for i, feature in enumerate(basis.features):
        linear, linear_sd = fit.mean[i], fit.std[i]
        square, square_sd = fit.mean[n + i], fit.std[n + i]
        target = -linear / (2 * square) if square < 0 else None
        if target is not None and square / square_sd < -2 and abs(target) <= 2.5:
            support, against = _target_evidence(comparisons, z, feature, target)
            patterns.append(
                Pattern(
                    statement=f"Prefers {feature_label(feature)} near z={target:+.1f}",
                    feature=feature,
                    direction="target",
                    support=support,
                    against=against,
                    confidence=_sign_confidence(-square / square_sd),
                    effect=float(-square),
                    target=round(float(target), 2),
                )
            )
            continue
        direction: Direction = "higher" if linear > 0 else "lower"
        support, against = _linear_evidence(comparisons, z, feature, direction)
        patterns.append(
            Pattern(
                statement=f"Prefers {direction} {feature_label(feature)}",
                feature=feature,
                direction=direction,
                support=support,
                against=against,
                confidence=_sign_confidence(abs(linear) / linear_sd),
                effect=float(abs(linear)),
            )
        )
    for j, gate in enumerate(basis.gates):
        weight, sd = fit.mean[2 * n + j], fit.std[2 * n + j]
        if weight >= 0:
            continue
        support, against = _gate_evidence(comparisons, raw, gate)
        side = "below" if gate.below else "above"
        patterns.append(
            Pattern(
                statement=f"Rejects {feature_label(gate.feature)} {side} {gate.threshold:g}",
                feature=gate.feature,
                direction="gate",
                support=support,
                against=against,
                confidence=_sign_confidence(-weight / sd),
                effect=float(-weight),
                threshold=gate.threshold,
                below=gate.below,
            )
        )
    return patterns


def _linear_evidence(
    comparisons: Sequence[Comparison], z: dict[str, dict[str, float]], feature: str, direction: str
) -> tuple[int, int]:
    sign = 1 if direction == "higher" else -1
    return _tally(
        sign * (z[c.preferred_id][feature] - z[c.rejected_id][feature]) for c in comparisons
    )


def _target_evidence(
    comparisons: Sequence[Comparison], z: dict[str, dict[str, float]], feature: str, target: float
) -> tuple[int, int]:
    return _tally(
        abs(z[c.rejected_id][feature] - target) - abs(z[c.preferred_id][feature] - target)
        for c in comparisons
    )


def _tally(margins: Iterable[float]) -> tuple[int, int]:
    """(support, against): margins clearly for the pattern, and clearly against it."""
    values = list(margins)
    return (
        sum(1 for m in values if m > _INFORMATIVE_Z),
        sum(1 for m in values if m < -_INFORMATIVE_Z),
    )


def _gate_evidence(
    comparisons: Sequence[Comparison], raw: dict[str, dict[str, float | None]], gate: Gate
) -> tuple[int, int]:
    def tripped(sample_id: str) -> bool:
        value = raw[sample_id][gate.feature]
        if value is None:
            return False
        return value < gate.threshold if gate.below else value > gate.threshold

    support = sum(1 for c in comparisons if tripped(c.rejected_id) and not tripped(c.preferred_id))
    against = sum(1 for c in comparisons if tripped(c.preferred_id) and not tripped(c.rejected_id))
    return support, against


def _sign_confidence(z: float) -> float:
    return round(0.5 * (1 + math.erf(z / math.sqrt(2))), 4)


def _features_for(comparisons: Sequence[Comparison], samples: SampleSet) -> dict[str, Features]:
    cache = FeatureCache(load_settings().feature_cache)
    wanted = {c.preferred_id for c in comparisons} | {c.rejected_id for c in comparisons}
    return {
        sample_id: cache.features(samples.get(sample_id).clip()) for sample_id in sorted(wanted)
    }


def _publish(patterns: PreferencePatterns, name: str) -> PreferencePatterns:
    from weave.trace.context.weave_client_context import get_weave_client

    if get_weave_client() is not None:
        weave.publish(patterns, name=name)
    return patterns
