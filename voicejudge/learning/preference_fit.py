"""Sparse Bayesian fit of a rubric to pairwise preferences: the offline learner's mathematics.

A take's utility is a sum of a few terms chosen by the data from candidates over every feature:
linear (z), target (an ideal z) and gates at quantiles of the sample set's raw values. Each set
of terms is fitted by a Laplace approximation of a logistic choice with a lapse rate, scored by
its evidence plus a prior inclusion probability, found by a stepwise search, and averaged over
the best sets found (Bayesian model averaging); the averaged utility is exported as a rubric.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np

from voicejudge.audio.features import FEATURE_NAMES, Features, z_scores
from voicejudge.errors import VoiceJudgeError
from voicejudge.labels.ranking import Comparison
from voicejudge.learning.patterns import Pattern, PreferencePatterns
from voicejudge.learning.rubric import Criterion
from voicejudge.learning.terms import FeatureTerm

TermKind = Literal["linear", "target", "gate"]

# People slip: an answer is taken to be a coin flip this often, so one slip on an obvious pair
# cannot drag the fit the way it does under a plain logistic likelihood.
LAPSE_RATE = 0.08
# Prior probability that any one feature matters to a listener, split over the kinds of term.
FEATURE_PRIOR = 0.3
KIND_PRIOR: dict[TermKind, float] = {"linear": 0.5, "target": 0.25, "gate": 0.25}
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
MAX_TERMS = 10
SCREENED = 40
AVERAGED_MODELS = 100
EXPLORED_MODELS = 20
# Active selection widens each model's uncertainty by a dense model over every candidate
# column, scaled by this, so a pair can be informative about terms no good model has yet.
RESIDUAL_SCALE = 3.0
EXPORT_MIN_WEIGHT = 0.01
# How sure the fit must be that an effect exists with its sign to call its pattern strong;
# every other effect of the averaged rubric is an emerging pattern.
STRONG_CONFIDENCE = 0.9
# A difference smaller than this (in z) counts neither for nor against a pattern.
INFORMATIVE_Z = 0.25


class LearnerError(VoiceJudgeError):
    """The learner cannot run on what it was given."""


def _gate(feature: str, threshold: float, below: bool) -> FeatureTerm:
    """A penalty for raw values of `feature` below (or above) `threshold`."""
    return FeatureTerm(feature=feature, kind="gate", threshold=threshold, below=below)


@dataclass(frozen=True)
class CandidateTerm:
    """One term a model may include, with its prior; columns are z, (z, -z²) or -1[gate]."""

    feature: str
    kind: TermKind
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

    def __init__(self, features: Mapping[str, Features], stated: Sequence[Criterion]) -> None:
        self.ids = sorted(features)
        self.index = {sample_id: row for row, sample_id in enumerate(self.ids)}
        z = [z_scores(features[i]) for i in self.ids]
        raw = [features[i].model_dump() for i in self.ids]
        self.terms = _generic_terms(z, raw) + [_stated_term(c) for c in stated]
        self.generic = sum(not t.stated for t in self.terms)
        self.columns = np.array(
            [[t.columns(zi, ri) for t in self.terms] for zi, ri in zip(z, raw, strict=True)]
        )
        self.feature_of = np.array([FEATURE_NAMES.index(t.feature) for t in self.terms], dtype=int)
        self.prior_mean = np.array([t.prior_mean for t in self.terms])
        self.prior_precision = np.array([t.prior_precision for t in self.terms])
        self.log_odds = np.array([t.log_odds for t in self.terms])
        self.stated_ids = tuple(range(self.generic, len(self.terms)))
        self.raw = raw
        self.background = np.array([[zi[f] for f in FEATURE_NAMES] for zi in z])

    def rows_of(self, sample_id: str, features: Features) -> tuple[np.ndarray, np.ndarray]:
        """One take's columns: every candidate term's (terms × 2) and the background's z."""
        if sample_id in self.index:
            row = self.index[sample_id]
            return self.columns[row], self.background[row]
        z, raw = z_scores(features), features.model_dump()
        terms = np.array([t.columns(z, raw) for t in self.terms])
        return terms, np.array([z[f] for f in FEATURE_NAMES])


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


def _stated_term(criterion: Criterion) -> CandidateTerm:
    w, precision = criterion.weight, (STATED_PRECISION, STATED_PRECISION)
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


@dataclass(frozen=True)
class FittedModel:
    """One set of terms with the Laplace posterior of its weights (two per term, then the
    background's one per feature) and its log score."""

    terms: tuple[int, ...]
    mean: np.ndarray
    covariance: np.ndarray
    log_score: float


@dataclass(frozen=True)
class Fit:
    """The averaged posterior: the best models found, their weights, and a dense residual."""

    candidates: CandidateSet
    models: tuple[FittedModel, ...]
    weights: np.ndarray
    differences: np.ndarray = field(repr=False)

    @cached_property
    def residual(self) -> np.ndarray:
        """Posterior covariance of a dense model over every generic candidate column."""
        return _dense_posterior(self.candidates, self.differences)

    def background_weights(self) -> np.ndarray:
        """The model-averaged background weight of every feature."""
        return sum(
            (
                pi * m.mean[2 * len(m.terms) :]
                for m, pi in zip(self.models, self.weights, strict=True)
            ),
            start=np.zeros(len(FEATURE_NAMES)),
        )

    def term_weights(self) -> dict[int, np.ndarray]:
        """The model-averaged weights of every term any kept model includes."""
        averaged: dict[int, np.ndarray] = {}
        for model, pi in zip(self.models, self.weights, strict=True):
            for slot, term in enumerate(model.terms):
                averaged.setdefault(term, np.zeros(2))
                averaged[term] += pi * model.mean[2 * slot : 2 * slot + 2]
        return averaged

    def criteria(self) -> list[Criterion]:
        """The averaged utility as a rubric (what the offline judge scores with)."""
        return [criterion for criterion, _ in self._exported()]

    def effects(self) -> list[tuple[Criterion, float]]:
        """The rubric's criteria, each with the posterior probability that the listener's taste
        has that effect with that sign."""
        return [
            (criterion, round(self._confidence(*source), 4))
            for criterion, source in self._exported()
        ]

    def _confidence(self, terms: Iterable[int], column: int, sign: float, feature: str) -> float:
        """P(the weight on `column` of `terms`, plus the background's on `feature` for a linear
        effect, has `sign`), averaged over the models."""
        chosen = set(terms)
        background = FEATURE_NAMES.index(feature) if column == 0 and feature else None
        total = 0.0
        for model, pi in zip(self.models, self.weights, strict=True):
            picks = np.zeros(len(model.mean))
            for slot, term in enumerate(model.terms):
                if term in chosen:
                    picks[2 * slot + column] = 1.0
            if background is not None:
                picks[2 * len(model.terms) + background] = 1.0
            if not picks.any():
                continue
            mean = float(picks @ model.mean)
            sd = math.sqrt(max(float(picks @ model.covariance @ picks), 1e-12))
            total += pi * 0.5 * (1 + math.erf(sign * mean / (sd * math.sqrt(2))))
        return min(1.0, total)

    def choice_moments(
        self, pairs: Sequence[tuple[str, str]], features: Mapping[str, Features]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For pairs of takes: the weights, utility-difference means and variances of the
        `EXPLORED_MODELS` best models, each widened by the dense residual."""
        rows = {i: self.candidates.rows_of(i, features[i]) for pair in pairs for i in pair}
        terms = np.array([rows[a][0] - rows[b][0] for a, b in pairs])
        background = np.array([rows[a][1] - rows[b][1] for a, b in pairs])
        order = np.argsort(-self.weights)[:EXPLORED_MODELS]
        pis = self.weights[order] / self.weights[order].sum()
        dense = _dense_columns(self.candidates, terms)
        widening = RESIDUAL_SCALE * np.einsum("ij,jk,ik->i", dense, self.residual, dense)
        means, variances = [], []
        for k in order:
            model = self.models[k]
            x = np.concatenate(
                [terms[:, list(model.terms), :].reshape(len(pairs), -1), background], axis=1
            )
            means.append(x @ model.mean)
            variances.append(np.einsum("ij,jk,ik->i", x, model.covariance, x) + widening)
        return pis, np.array(means), np.array(variances)

    def _exported(self) -> list[tuple[Criterion, tuple[set[int], int, float, str]]]:
        """Rubric criteria, each with what its confidence is read from."""
        candidates = self.candidates
        linear = dict(zip(FEATURE_NAMES, map(float, self.background_weights()), strict=True))
        square: dict[str, float] = {}
        sources: dict[str, set[int]] = {}
        exported: list[tuple[Criterion, tuple[set[int], int, float, str]]] = []
        gates: list[tuple[int, float]] = []
        for term_id, (a, b) in sorted(self.term_weights().items()):
            term = candidates.terms[term_id]
            if term.kind == "gate":
                gates.append((term_id, float(a)))
                continue
            linear[term.feature] = linear.get(term.feature, 0.0) + float(a)
            square[term.feature] = square.get(term.feature, 0.0) + float(b)
            sources.setdefault(term.feature, set()).add(term_id)
        for feature in FEATURE_NAMES:
            a, b = linear[feature], square.get(feature, 0.0)
            if b >= EXPORT_MIN_WEIGHT:
                criterion = Criterion(
                    feature=feature, kind="target", weight=round(b, 4), target=round(a / (2 * b), 3)
                )
                targets = {t for t in sources[feature] if candidates.terms[t].kind == "target"}
                exported.append((criterion, (targets, 1, 1.0, feature)))
            elif abs(a) > EXPORT_MIN_WEIGHT:
                kind: Literal["higher", "lower"] = "higher" if a > 0 else "lower"
                criterion = Criterion(feature=feature, kind=kind, weight=round(abs(a), 4))
                sign = 1.0 if a > 0 else -1.0
                exported.append((criterion, (sources.get(feature, set()), 0, sign, feature)))
        for term_id, w in gates:
            if abs(w) <= EXPORT_MIN_WEIGHT:
                continue
            gate = candidates.terms[term_id].gate
            assert gate is not None
            if w < 0:  # a bonus for tripping one gate is a penalty for its complement
                gate = _complement(gate, candidates)
            criterion = Criterion(
                feature=gate.feature,
                kind="gate",
                weight=round(abs(w), 4),
                threshold=gate.threshold,
                below=gate.below,
            )
            exported.append((criterion, ({term_id}, 0, 1.0 if w > 0 else -1.0, "")))
        return exported


def _complement(gate: FeatureTerm, candidates: CandidateSet) -> FeatureTerm:
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


def _dense_columns(candidates: CandidateSet, rows: np.ndarray) -> np.ndarray:
    """The generic candidates' columns as one flat design: z, -z² and every gate."""
    generic = candidates.terms[: candidates.generic]
    picks = [(i, 1 if t.kind == "target" else 0) for i, t in enumerate(generic)]
    return np.stack([rows[:, i, c] for i, c in picks], axis=1)


def _dense_precision(candidates: CandidateSet) -> np.ndarray:
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


def fit_rubric(
    comparisons: Sequence[Comparison], features: Mapping[str, Features], prior: Sequence[Criterion]
) -> Fit:
    """The model-averaged posterior of a sparse rubric given the comparisons; the search starts
    from `prior`'s criteria (as terms with a wide prior around their weights) and from nothing."""
    missing = sorted(
        ({c.preferred_id for c in comparisons} | {c.rejected_id for c in comparisons})
        - set(features)
    )
    if missing:
        raise LearnerError(f"No features for samples {', '.join(missing)}.")
    candidates = CandidateSet(features, prior)
    winners = np.array([candidates.index[c.preferred_id] for c in comparisons], dtype=int)
    losers = np.array([candidates.index[c.rejected_id] for c in comparisons], dtype=int)
    differences = candidates.columns[winners] - candidates.columns[losers]  # pairs × terms × 2
    background = candidates.background[winners] - candidates.background[losers]
    search = _ModelSearch(candidates, differences, background)
    if not len(comparisons):
        models: tuple[FittedModel, ...] = (search.prior_model(candidates.stated_ids),)
        weights = np.ones(1)
    else:
        models, weights = search.run(candidates.stated_ids)
    return Fit(candidates=candidates, models=models, weights=weights, differences=differences)


class _ModelSearch:
    """A stepwise (add a term, drop a term) hill climb over term sets, remembering every set it
    scores so the best of them can be averaged."""

    def __init__(
        self, candidates: CandidateSet, differences: np.ndarray, background: np.ndarray
    ) -> None:
        self.candidates = candidates
        self.x = differences.transpose(1, 0, 2)  # terms × pairs × 2
        self.background = background  # pairs × features
        self.pairs = differences.shape[0]
        self.scored: dict[tuple[int, ...], FittedModel] = {}

    def prior_model(self, terms: tuple[int, ...]) -> FittedModel:
        c = self.candidates
        width = len(FEATURE_NAMES)
        mean = np.concatenate([c.prior_mean[list(terms)].reshape(-1), np.zeros(width)])
        precision = np.concatenate(
            [c.prior_precision[list(terms)].reshape(-1), np.full(width, BACKGROUND_PRECISION)]
        )
        return FittedModel(terms, mean, np.diag(1 / precision), 0.0)

    def run(self, start: tuple[int, ...]) -> tuple[tuple[FittedModel, ...], np.ndarray]:
        self._climb(tuple(sorted(start)))
        if start:
            self._climb(())
        best = sorted(self.scored.values(), key=lambda m: -m.log_score)[:AVERAGED_MODELS]
        scores = np.array([m.log_score for m in best])
        weights = np.exp(scores - scores.max())
        return tuple(best), weights / weights.sum()

    def _climb(self, current: tuple[int, ...]) -> None:
        self._score([current])
        for _ in range(3 * MAX_TERMS):
            used = set(self.candidates.feature_of[list(current)])
            additions = []
            if len(current) < MAX_TERMS:
                additions = [
                    tuple(sorted((*current, i)))
                    for i in range(len(self.candidates.terms))
                    if self.candidates.feature_of[i] not in used
                ]
                additions = [m for m in additions if m not in self.scored]
                if len(additions) > SCREENED:
                    additions = self._screen(current, additions)
            removals = [tuple(t for t in current if t != i) for i in current]
            neighbours = additions + removals
            self._score([m for m in neighbours if m not in self.scored])
            best = max(neighbours, key=lambda m: self.scored[m].log_score, default=None)
            if best is None or self.scored[best].log_score <= self.scored[current].log_score:
                return
            current = best

    def _score(self, models: list[tuple[int, ...]]) -> None:
        """Fit and score many term sets, those of one size at once."""
        for size in sorted({len(m) for m in models}):
            group = [m for m in models if len(m) == size]
            weights, covariance, log_score = self._fit(group)
            for k, terms in enumerate(group):
                self.scored[terms] = FittedModel(
                    terms, weights[k], covariance[k], float(log_score[k])
                )

    def _fit(self, members: list[tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """MAP weights, posterior covariances and log scores of term sets of one size."""
        c = self.candidates
        count, size = len(members), len(members[0])
        index = np.array(members, dtype=int).reshape(count, size)
        x = self.x[index].transpose(0, 2, 1, 3).reshape(count, self.pairs, 2 * size)
        mean = c.prior_mean[index].reshape(count, -1)
        precision = c.prior_precision[index].reshape(count, -1)
        width = len(FEATURE_NAMES)
        x = np.concatenate(
            [x, np.broadcast_to(self.background, (count, self.pairs, width))], axis=2
        )
        mean = np.concatenate([mean, np.zeros((count, width))], axis=1)
        precision = np.concatenate(
            [precision, np.full((count, width), BACKGROUND_PRECISION)], axis=1
        )
        weights, information, log_evidence = _laplace(x, mean, precision)
        log_score = log_evidence + c.log_odds[index].sum(axis=1)
        # A target term whose square weight comes out negative prefers extremes, which no
        # rubric criterion can state: such a model is outside the hypothesis space.
        is_target = np.array(
            [[c.terms[t].kind == "target" for t in m] for m in members], dtype=bool
        ).reshape(count, size)
        log_score[(is_target & (weights[:, 1 : 2 * size : 2] < 0)).any(axis=1)] = -np.inf
        return weights, np.linalg.inv(information), log_score

    def _screen(
        self, current: tuple[int, ...], additions: list[tuple[int, ...]]
    ) -> list[tuple[int, ...]]:
        """The additions worth a full fit: best by a quick fit of the new term alone, with the
        current model's weights held fixed."""
        model = self.scored[current]
        x = self.x[list(current)].transpose(1, 0, 2).reshape(self.pairs, -1)
        offset = np.concatenate([x, self.background], axis=1) @ model.mean
        new = np.array([next(i for i in m if i not in current) for m in additions], dtype=int)
        c = self.candidates
        _, _, log_evidence = _laplace(
            self.x[new], c.prior_mean[new], c.prior_precision[new], offset=offset, iterations=6
        )
        keep = np.argsort(-(log_evidence + c.log_odds[new]))[:SCREENED]
        return [additions[k] for k in keep]


def _laplace(
    x: np.ndarray,
    mean: np.ndarray,
    precision: np.ndarray,
    *,
    offset: np.ndarray | None = None,
    iterations: int = 12,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MAP weights, posterior precision and log evidence of many models at once (x: models ×
    pairs × columns of winner-minus-loser differences), by damped Newton steps."""
    batch, _, width = x.shape
    xt = x.transpose(0, 2, 1)
    shift = np.zeros(x.shape[:2]) if offset is None else np.broadcast_to(offset, x.shape[:2])
    slope_scale = 1 - 2 * LAPSE_RATE

    def log_posterior(w: np.ndarray, rows: slice | np.ndarray = slice(None)) -> np.ndarray:
        margin = np.matmul(x[rows], w[:, :, None])[:, :, 0] + shift[rows]
        chosen = LAPSE_RATE + slope_scale * _sigmoid(margin)
        prior = 0.5 * (precision[rows] * (w - mean[rows]) ** 2).sum(axis=1)
        return np.log(chosen).sum(axis=1) - prior

    def newton(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = _sigmoid(np.matmul(x, w[:, :, None])[:, :, 0] + shift)
        chosen = LAPSE_RATE + slope_scale * s
        slope = slope_scale * s * (1 - s)
        gradient = np.matmul(xt, (slope / chosen)[:, :, None])[:, :, 0] - precision * (w - mean)
        curvature = slope**2 / (chosen * (1 - chosen))
        information = np.matmul(xt * curvature[:, None, :], x)
        information += precision[:, :, None] * np.eye(width)
        return gradient, information

    w = mean.copy()
    value = log_posterior(w)
    for _ in range(iterations):
        gradient, information = newton(w)
        step = np.linalg.solve(information, gradient[..., None])[..., 0]
        size = np.ones(batch)
        candidate = w + step
        candidate_value = log_posterior(candidate)
        for _halving in range(6):
            worse = candidate_value < value - 1e-12
            if not worse.any():
                break
            size[worse] *= 0.5
            candidate[worse] = w[worse] + size[worse, None] * step[worse]
            candidate_value[worse] = log_posterior(candidate[worse], worse)
        worse = candidate_value < value
        candidate[worse], candidate_value[worse] = w[worse], value[worse]
        converged = np.abs(candidate_value - value).max() < 1e-7
        w, value = candidate, candidate_value
        if converged:
            break
    _, information = newton(w)
    _, log_det = np.linalg.slogdet(information)
    log_evidence = value + 0.5 * np.log(precision).sum(axis=1) - 0.5 * log_det
    return w, information, log_evidence


def _dense_posterior(candidates: CandidateSet, differences: np.ndarray) -> np.ndarray:
    precision = _dense_precision(candidates)
    x = _dense_columns(candidates, differences)
    if not len(x):
        return np.diag(1 / precision)
    weights, information, _ = _laplace(
        x[None], np.zeros((1, x.shape[1])), precision[None], iterations=20
    )
    del weights
    return np.linalg.inv(information[0])


def _sigmoid(margins: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * margins))


def learn_acoustic(
    comparisons: Sequence[Comparison], features: Mapping[str, Features], prior: Sequence[Criterion]
) -> PreferencePatterns:
    """Fit a sparse rubric around `prior` and state its effects as patterns: strong when the
    fit is sure of them and the comparisons back them, emerging otherwise."""
    fit = fit_rubric(comparisons, features, prior)
    z = {sample_id: z_scores(f) for sample_id, f in features.items()}
    raw = {sample_id: f.model_dump() for sample_id, f in features.items()}
    strong, emerging = [], []
    for criterion, confidence in fit.effects():
        pattern = _pattern(criterion, confidence, comparisons, z, raw)
        ratio = pattern.support / max(pattern.against, 1)
        if confidence >= STRONG_CONFIDENCE and pattern.support >= 3 and ratio >= 2:
            strong.append(pattern)
        else:
            emerging.append(pattern)
    return PreferencePatterns(
        strong=sorted(strong, key=lambda p: -abs(p.effect)),
        emerging=sorted(emerging, key=lambda p: -abs(p.effect)),
        comparisons=len(comparisons),
        learned_from=sorted({c.call_id for c in comparisons if c.call_id}),
        raters=sorted({c.rater for c in comparisons}),
        learner="acoustic",
    )


def _pattern(
    criterion: Criterion,
    confidence: float,
    comparisons: Sequence[Comparison],
    z: Mapping[str, Mapping[str, float]],
    raw: Mapping[str, Mapping[str, float | None]],
) -> Pattern:
    support, against = _evidence(criterion, comparisons, z, raw)
    return Pattern(
        statement=criterion.preference(labelled=True).capitalize(),
        term=criterion.as_term(),
        support=support,
        against=against,
        confidence=confidence,
        effect=criterion.weight,
    )


def _linear_evidence(
    comparisons: Sequence[Comparison],
    z: Mapping[str, Mapping[str, float]],
    feature: str,
    direction: str,
) -> tuple[int, int]:
    sign = 1 if direction == "higher" else -1
    return _tally(
        sign * (z[c.preferred_id][feature] - z[c.rejected_id][feature]) for c in comparisons
    )


def _target_evidence(
    comparisons: Sequence[Comparison],
    z: Mapping[str, Mapping[str, float]],
    feature: str,
    target: float,
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
    comparisons: Sequence[Comparison],
    raw: Mapping[str, Mapping[str, float | None]],
    gate: FeatureTerm,
) -> tuple[int, int]:
    def tripped(sample_id: str) -> bool:
        return gate.tripped(raw[sample_id][gate.feature])

    support = sum(1 for c in comparisons if tripped(c.rejected_id) and not tripped(c.preferred_id))
    against = sum(1 for c in comparisons if tripped(c.preferred_id) and not tripped(c.rejected_id))
    return support, against


def evidence_for(
    criterion: Criterion, comparisons: Sequence[Comparison], features: Mapping[str, Features]
) -> tuple[int, int]:
    """(support, against): comparisons whose measured difference agrees or disagrees with it."""
    z = {sample_id: z_scores(f) for sample_id, f in features.items()}
    raw = {sample_id: f.model_dump() for sample_id, f in features.items()}
    return _evidence(criterion, comparisons, z, raw)


def _evidence(
    criterion: Criterion,
    comparisons: Sequence[Comparison],
    z: Mapping[str, Mapping[str, float]],
    raw: Mapping[str, Mapping[str, float | None]],
) -> tuple[int, int]:
    if criterion.kind == "gate":
        return _gate_evidence(comparisons, raw, criterion)
    if criterion.kind == "target":
        assert criterion.target is not None
        return _target_evidence(comparisons, z, criterion.feature, criterion.target)
    return _linear_evidence(comparisons, z, criterion.feature, criterion.kind)
