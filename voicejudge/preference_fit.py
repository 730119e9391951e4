"""Bradley-Terry fit of a rubric to pairwise preferences: the offline learner's mathematics.

A voice's score is linear in a basis of its features: z-scores, squared z-scores (so an ideal
point can be learned) and gate indicators. The fit maximises the log-likelihood of the observed
choices (a logistic choice with a small lapse rate, since raters slip) plus a Gaussian prior
centred on the current rubric (Fisher scoring with a backtracking line search: plain Newton
diverges with informative priors), and reports each effect with its posterior standard
deviation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from voicejudge.audio.features import FEATURE_NAMES, Features, z_scores
from voicejudge.errors import VoiceJudgeError
from voicejudge.patterns import Direction, Pattern, PreferencePatterns
from voicejudge.ranking import Comparison
from voicejudge.rubric import Criterion, feature_label

# A difference smaller than this (in z) says nothing about a pattern either way.
INFORMATIVE_Z = 0.25
# Prior precisions: weak on linear effects so 16-64 comparisons can move them; very strong on
# squares (z² reaches 16) so an ideal point is only claimed when the data insist.
LINEAR_PRECISION = 1.0
# The rubric's own linear effects get a wider prior: it is a guess about this listener, and a
# few dozen rankings that contradict it should be able to overturn it.
RUBRIC_LINEAR_PRECISION = 0.5
# People slip: one answer in twenty is taken to be a coin flip, so a single slip on an obvious
# pair cannot drag the weights the way it does under a plain logistic likelihood.
LAPSE_RATE = 0.05
# How sure the fit must be of an effect's sign to state it as a strong or an emerging pattern
# (marginal support counts confound correlated features, so the fit's sign decides).
STRONG_CONFIDENCE = 0.975
EMERGING_CONFIDENCE = 0.84
SQUARE_PRECISION = 1000.0
GATE_PRECISION = 3.0


@dataclass(frozen=True)
class Gate:
    feature: str
    threshold: float
    below: bool

    @property
    def name(self) -> str:
        return f"{self.feature}{'<' if self.below else '>'}{self.threshold:g}"


DEFAULT_GATES = (
    Gate("voiced_frac", 0.25, True),
    Gate("bandwidth_hz", 4000.0, True),
    Gate("clip_ratio", 0.01, False),
    Gate("snr_db", 15.0, True),
)


@dataclass(frozen=True)
class Basis:
    """The columns of the design: linear, square and gate terms."""

    features: tuple[str, ...]
    gates: tuple[Gate, ...]
    rubric_features: frozenset[str] = frozenset()

    @property
    def size(self) -> int:
        return 2 * len(self.features) + len(self.gates)

    def row(self, features: Features) -> np.ndarray:
        z = z_scores(features)
        raw = features.model_dump()
        linear = np.array([z[f] for f in self.features])
        gates = [
            0.0
            if raw[g.feature] is None
            else float(raw[g.feature] < g.threshold if g.below else raw[g.feature] > g.threshold)
            for g in self.gates
        ]
        return np.concatenate([linear, linear**2, np.array(gates)])

    def prior_mean(self, criteria: Sequence[Criterion]) -> np.ndarray:
        """The rubric as basis weights (a target's constant term drops out of comparisons)."""
        weights = np.zeros(self.size)
        n = len(self.features)
        for criterion in criteria:
            if criterion.kind == "gate":
                for index, gate in enumerate(self.gates):
                    if (gate.feature, gate.threshold, gate.below) == (
                        criterion.feature,
                        criterion.threshold,
                        criterion.below,
                    ):
                        weights[2 * n + index] -= criterion.weight
                continue
            i = self.features.index(criterion.feature)
            if criterion.kind == "higher":
                weights[i] += criterion.weight
            elif criterion.kind == "lower":
                weights[i] -= criterion.weight
            else:
                assert criterion.target is not None
                weights[i] += 2 * criterion.weight * criterion.target
                weights[n + i] -= criterion.weight
        return weights

    def precision(self) -> np.ndarray:
        n = len(self.features)
        return np.concatenate(
            [
                np.array(
                    [
                        RUBRIC_LINEAR_PRECISION if f in self.rubric_features else LINEAR_PRECISION
                        for f in self.features
                    ]
                ),
                np.full(n, SQUARE_PRECISION),
                np.full(len(self.gates), GATE_PRECISION),
            ]
        )


# One feature per aspect of a voice (pitch, voicing, pace, level, noise, distortion, band,
# clarity): near-duplicates (pitch percentiles beside the median, two rates, tilt beside the
# band) would split one effect into several insignificant ones, and 16-64 comparisons cannot
# support many more weights. Features the rubric uses are added to these.
LEARNED_FEATURES = (
    "f0_median_hz",
    "voiced_frac",
    "syll_rate",
    "lufs",
    "snr_db",
    "clip_ratio",
    "bandwidth_hz",
    "hnr_db",
)


def basis_for(criteria: Sequence[Criterion]) -> Basis:
    """The learned features plus any the rubric uses, the default gates and the rubric's gates."""
    used = {c.feature for c in criteria if c.kind != "gate"}
    features = tuple(f for f in FEATURE_NAMES if f in LEARNED_FEATURES or f in used)
    gates = list(DEFAULT_GATES)
    for criterion in criteria:
        if criterion.kind == "gate":
            assert criterion.threshold is not None
            gate = Gate(criterion.feature, criterion.threshold, criterion.below)
            if gate not in gates:
                gates.append(gate)
    return Basis(features=features, gates=tuple(gates), rubric_features=frozenset(used))


@dataclass(frozen=True)
class Fit:
    """Posterior mean and standard deviation of every basis weight."""

    basis: Basis
    mean: np.ndarray
    covariance: np.ndarray
    iterations: int

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(np.diag(self.covariance))


def fit_preferences(
    differences: np.ndarray, prior_mean: np.ndarray, precision: np.ndarray, basis: Basis
) -> Fit:
    """MAP fit on rows `phi(preferred) - phi(rejected)` of a logistic choice model with a
    `LAPSE_RATE` (Fisher scoring with a backtracking line search)."""
    weights = prior_mean.copy()

    def objective(w: np.ndarray) -> float:
        chosen = LAPSE_RATE + (1 - 2 * LAPSE_RATE) * _sigmoid(differences @ w)
        return float(-np.log(chosen).sum() + 0.5 * (precision * (w - prior_mean) ** 2).sum())

    def gradient_and_information(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = _sigmoid(differences @ w)
        chosen = LAPSE_RATE + (1 - 2 * LAPSE_RATE) * s
        slope = (1 - 2 * LAPSE_RATE) * s * (1 - s)
        gradient = -(differences.T @ (slope / chosen)) + precision * (w - prior_mean)
        weight = slope**2 / (chosen * (1 - chosen))
        return gradient, (differences.T * weight) @ differences + np.diag(precision)

    value = objective(weights)
    iterations = 0
    while iterations < 100:
        iterations += 1
        gradient, information = gradient_and_information(weights)
        step = np.linalg.solve(information, gradient)
        size = 1.0
        while size > 1e-6:
            candidate = weights - size * step
            candidate_value = objective(candidate)
            if candidate_value <= value:
                break
            size /= 2
        else:
            break
        improvement = value - candidate_value
        weights, value = candidate, candidate_value
        if improvement < 1e-9 or np.abs(size * step).max() < 1e-7:
            break
    _, information = gradient_and_information(weights)
    covariance = np.linalg.inv(information)
    return Fit(basis=basis, mean=weights, covariance=covariance, iterations=iterations)


def _sigmoid(margins: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * margins))


class LearnerError(VoiceJudgeError):
    """The learner cannot run on what it was given."""


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
        if pattern.confidence >= STRONG_CONFIDENCE and pattern.support >= 3 and ratio >= 2:
            strong.append(pattern)
        elif pattern.confidence >= EMERGING_CONFIDENCE and pattern.support > 0:
            emerging.append(pattern)
    return PreferencePatterns(
        strong=sorted(strong, key=lambda p: -abs(p.effect)),
        emerging=sorted(emerging, key=lambda p: -abs(p.effect)),
        comparisons=len(comparisons),
        learned_from=sorted({c.call_id for c in comparisons if c.call_id}),
        raters=sorted({c.rater for c in comparisons}),
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
        sum(1 for m in values if m > INFORMATIVE_Z),
        sum(1 for m in values if m < -INFORMATIVE_Z),
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


def evidence_for(
    criterion: Criterion, comparisons: Sequence[Comparison], features: dict[str, Features]
) -> tuple[int, int]:
    """(support, against): comparisons whose measured difference agrees or disagrees with it."""
    if criterion.kind == "gate":
        assert criterion.threshold is not None
        raw = {sample_id: f.model_dump() for sample_id, f in features.items()}
        return _gate_evidence(
            comparisons, raw, Gate(criterion.feature, criterion.threshold, criterion.below)
        )
    z = {sample_id: z_scores(f) for sample_id, f in features.items()}
    if criterion.kind == "target":
        assert criterion.target is not None
        return _target_evidence(comparisons, z, criterion.feature, criterion.target)
    return _linear_evidence(comparisons, z, criterion.feature, criterion.kind)


def _sign_confidence(z: float) -> float:
    return round(0.5 * (1 + math.erf(z / math.sqrt(2))), 4)
