"""The terms the offline learner may put in a listener's utility, with their priors: linear and
target terms on every feature, gates at quantiles of the set, and what a rubric already states.

`FEATURE_NAMES` here is the one list of features the fit searches (a benchmark narrows it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from voicejudge.audio.features import FEATURE_NAMES, Features, z_scores
from voicejudge.learning.rubric import Criterion
from voicejudge.learning.terms import FeatureTerm

CandidateKind = Literal["linear", "target", "gate"]

# Prior probability that any one feature matters to a listener, split over the kinds of term.
FEATURE_PRIOR = 0.3
KIND_PRIOR: dict[CandidateKind, float] = {"linear": 0.5, "target": 0.25, "gate": 0.25}
# Prior precisions of term weights (z units; a gate's weight is a penalty in the same units).
LINEAR_PRECISION = 1.0
SQUARE_PRECISION = 4.0
GATE_PRECISION = 0.25
# Every model also carries a small linear weight on every feature (prior sd about 0.3): real
# listeners weigh many correlated qualities a little, which a few sparse terms cannot express.
BACKGROUND_PRECISION = 10.0
# What a rubric (a brief's statements, a prompt's criteria) says is only a starting guess:
# a wide prior around its weights, no extra inclusion odds, so a few dozen answers overturn it.
STATED_PRECISION = 0.25
STATED_LOG_ODDS = 0.0
# Gate thresholds tried for every feature: these quantiles of the set, from either end.
GATE_QUANTILES = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)


def _gate(feature: str, threshold: float, below: bool) -> FeatureTerm:
    """A penalty for raw values of `feature` below (or above) `threshold`."""
    return FeatureTerm(feature=feature, kind="gate", threshold=threshold, below=below)


@dataclass(frozen=True)
class CandidateTerm:
    """One term a model may include, with its prior; columns are z, (z, -z²) or -1[gate].

    Not a `FeatureTerm`: the fit parametrises a feature's pull by signed weights (a `linear`
    term is either way, a `target` is a linear and a square weight), and only the exported
    rubric (`Fit.criteria`) says which way each pulls; a gate is its `FeatureTerm`.
    """

    feature: str
    kind: CandidateKind
    log_odds: float
    prior_mean: tuple[float, float] = (0.0, 0.0)
    prior_precision: tuple[float, float] = (LINEAR_PRECISION, LINEAR_PRECISION)
    gate: FeatureTerm | None = None
    stated: bool = False

    def columns(
        self, z: Mapping[str, float], raw: Mapping[str, float | None]
    ) -> tuple[float, float]:
        if self.kind == "gate":
            assert self.gate is not None
            return (-float(self.gate.tripped(raw[self.feature])), 0.0)
        value = z[self.feature]
        return (value, -(value**2) if self.kind == "target" else 0.0)


class CandidateSet:
    """Every candidate term for one set of takes, with their columns for those takes."""

    def __init__(
        self,
        features: Mapping[str, Features],
        stated: Sequence[Criterion],
        stated_precision: float = STATED_PRECISION,
    ) -> None:
        self.feature_names = tuple(FEATURE_NAMES)
        self.ids = sorted(features)
        self.index = {sample_id: row for row, sample_id in enumerate(self.ids)}
        z = [z_scores(features[i]) for i in self.ids]
        raw = [features[i].model_dump() for i in self.ids]
        self.terms = _generic_terms(z, raw) + [_stated_term(c, stated_precision) for c in stated]
        self.generic = sum(not t.stated for t in self.terms)
        self.columns = np.array(
            [[t.columns(zi, ri) for t in self.terms] for zi, ri in zip(z, raw, strict=True)]
        )
        self.feature_of = np.array(
            [self.feature_names.index(t.feature) for t in self.terms], dtype=int
        )
        self.prior_mean = np.array([t.prior_mean for t in self.terms])
        self.prior_precision = np.array([t.prior_precision for t in self.terms])
        self.log_odds = np.array([t.log_odds for t in self.terms])
        self.stated_ids = tuple(range(self.generic, len(self.terms)))
        self.raw = raw
        self.background = np.array([[zi[f] for f in self.feature_names] for zi in z])

    def rows_of(self, sample_id: str, features: Features) -> tuple[np.ndarray, np.ndarray]:
        """One take's columns: every candidate term's (terms × 2) and the background's z."""
        if sample_id in self.index:
            row = self.index[sample_id]
            return self.columns[row], self.background[row]
        z, raw = z_scores(features), features.model_dump()
        terms = np.array([t.columns(z, raw) for t in self.terms])
        return terms, np.array([z[f] for f in self.feature_names])


def _generic_terms(
    z: Sequence[Mapping[str, float]], raw: Sequence[Mapping[str, float | None]]
) -> list[CandidateTerm]:
    base = math.log(FEATURE_PRIOR / (1 - FEATURE_PRIOR))
    terms: list[CandidateTerm] = []
    for feature in FEATURE_NAMES:
        if np.ptp([zi[feature] for zi in z]) > 0:
            terms.append(CandidateTerm(feature, "linear", base + math.log(KIND_PRIOR["linear"])))
            terms.append(
                CandidateTerm(
                    feature,
                    "target",
                    base + math.log(KIND_PRIOR["target"]),
                    prior_precision=(LINEAR_PRECISION, SQUARE_PRECISION),
                )
            )
        gates = _quantile_gates(feature, [r[feature] for r in raw])
        for gate in gates:
            log_odds = base + math.log(KIND_PRIOR["gate"]) - math.log(len(gates))
            terms.append(
                CandidateTerm(
                    feature, "gate", log_odds, prior_precision=(GATE_PRECISION, 1.0), gate=gate
                )
            )
    return terms


def _quantile_gates(feature: str, values: Sequence[float | None]) -> list[FeatureTerm]:
    """Gates at `GATE_QUANTILES` of the measured values, one per distinct set of takes tripped."""
    measured = np.array([v for v in values if v is not None], dtype=float)
    if measured.size < 4:
        return []
    gates, seen = [], set()
    for below in (True, False):
        for q in GATE_QUANTILES:
            gate = _gate(feature, float(np.quantile(measured, q if below else 1 - q)), below)
            tripped = tuple(gate.tripped(v) for v in values)
            if not any(tripped) or all(tripped) or tripped in seen:
                continue
            seen.add(tripped)
            gates.append(gate)
    return gates


def _stated_term(criterion: Criterion, stated_precision: float) -> CandidateTerm:
    w, precision = criterion.weight, (stated_precision, stated_precision)
    if criterion.kind == "gate":
        return CandidateTerm(
            criterion.feature,
            "gate",
            STATED_LOG_ODDS,
            (w, 0.0),
            precision,
            criterion.as_term(),
            stated=True,
        )
    if criterion.kind == "target":
        assert criterion.target is not None
        mean = (2 * w * criterion.target, w)
        return CandidateTerm(
            criterion.feature, "target", STATED_LOG_ODDS, mean, precision, None, True
        )
    mean = (w if criterion.kind == "higher" else -w, 0.0)
    return CandidateTerm(criterion.feature, "linear", STATED_LOG_ODDS, mean, precision, None, True)


def complement_gate(gate: FeatureTerm, candidates: CandidateSet) -> FeatureTerm:
    """The gate tripped by exactly the takes `gate` passes (a threshold halfway to the nearest
    measured value on the other side)."""
    values = [r[gate.feature] for r in candidates.raw if r[gate.feature] is not None]
    assert gate.threshold is not None
    if gate.below:
        lower = [v for v in values if v < gate.threshold]
        threshold = 0.5 * (max(lower) + gate.threshold) if lower else gate.threshold
        return _gate(gate.feature, float(threshold), below=False)
    upper = [v for v in values if v > gate.threshold]
    threshold = 0.5 * (min(upper) + gate.threshold) if upper else gate.threshold
    return _gate(gate.feature, float(threshold), below=True)


def dense_columns(candidates: CandidateSet, rows: np.ndarray) -> np.ndarray:
    """The generic candidates' columns as one flat design: z, -z² and every gate."""
    generic = candidates.terms[: candidates.generic]
    picks = [(i, 1 if t.kind == "target" else 0) for i, t in enumerate(generic)]
    return np.stack([rows[:, i, c] for i, c in picks], axis=1)


def dense_precision(candidates: CandidateSet) -> np.ndarray:
    generic = candidates.terms[: candidates.generic]
    gates_per_feature: dict[str, int] = {}
    for term in generic:
        if term.kind == "gate":
            gates_per_feature[term.feature] = gates_per_feature.get(term.feature, 0) + 1
    return np.array(
        [
            SQUARE_PRECISION
            if t.kind == "target"
            else LINEAR_PRECISION
            if t.kind == "linear"
            else gates_per_feature[t.feature]
            for t in generic
        ]
    )
