"""Bradley-Terry fit of a rubric to pairwise preferences (the offline learner's mathematics).

A voice's score is linear in a basis of its features: z-scores, squared z-scores (so an ideal
point can be learned) and gate indicators. The fit maximises the log-likelihood of the observed
choices plus a Gaussian prior centred on the current rubric (damped Newton with a backtracking
line search: plain Newton diverges with informative priors), and reports each effect with its
posterior standard deviation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voicejudge.audio.features import FEATURE_NAMES, Features, z_scores
from voicejudge.rubric import Criterion

Z_CLIP = 4.0
# Prior precisions: weak on linear effects so 16-64 comparisons can move them, strong on squares
# so an ideal point is only claimed when the data insist.
LINEAR_PRECISION = 1.0
SQUARE_PRECISION = 30.0
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

    @property
    def size(self) -> int:
        return 2 * len(self.features) + len(self.gates)

    def row(self, features: Features) -> np.ndarray:
        z = z_scores(features)
        raw = features.model_dump()
        linear = np.array([np.clip(z[f], -Z_CLIP, Z_CLIP) for f in self.features])
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
                np.full(n, LINEAR_PRECISION),
                np.full(n, SQUARE_PRECISION),
                np.full(len(self.gates), GATE_PRECISION),
            ]
        )


# One feature per aspect of a voice: near-duplicates (pitch percentiles beside the median, two
# rates, centroid beside tilt) would split one effect into several insignificant ones.
LEARNED_FEATURES = (
    "f0_median_hz",
    "f0_range_st",
    "voiced_frac",
    "syll_rate",
    "pause_ratio",
    "lufs",
    "energy_std_db",
    "snr_db",
    "clip_ratio",
    "bandwidth_hz",
    "tilt_db_oct",
    "hnr_db",
    "jitter_st",
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
    return Basis(features=features, gates=tuple(gates))


@dataclass(frozen=True)
class Fit:
    """Posterior mean and standard deviation of every basis weight."""

    basis: Basis
    mean: np.ndarray
    std: np.ndarray
    iterations: int


def fit_preferences(
    differences: np.ndarray, prior_mean: np.ndarray, precision: np.ndarray, basis: Basis
) -> Fit:
    """MAP logistic regression on rows `phi(preferred) - phi(rejected)`."""
    weights = prior_mean.copy()

    def objective(w: np.ndarray) -> float:
        margins = differences @ w
        return float(
            np.logaddexp(0.0, -margins).sum() + 0.5 * (precision * (w - prior_mean) ** 2).sum()
        )

    value = objective(weights)
    iterations = 0
    while iterations < 100:
        iterations += 1
        p = 1.0 / (1.0 + np.exp(-(differences @ weights)))
        gradient = differences.T @ (p - 1.0) + precision * (weights - prior_mean)
        hessian = (differences.T * (p * (1 - p))) @ differences + np.diag(precision)
        step = np.linalg.solve(hessian, gradient)
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
    p = 1.0 / (1.0 + np.exp(-(differences @ weights)))
    hessian = (differences.T * (p * (1 - p))) @ differences + np.diag(precision)
    std = np.sqrt(np.diag(np.linalg.inv(hessian)))
    return Fit(basis=basis, mean=weights, std=std, iterations=iterations)
