"""Sparse Bayesian fit of a rubric to pairwise preferences: the offline learner's mathematics.

A take's utility is a sum of a few terms chosen by the data from the candidates
(`learning.candidates`); the best sets of terms the search finds (`learning.model_search`) are
averaged by their posterior weight (Bayesian model averaging), and the averaged utility is
exported as a rubric whose effects carry the probability that they have their sign.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np

from voicejudge.audio.features import Features
from voicejudge.errors import VoiceJudgeError
from voicejudge.learning.candidates import (
    STATED_PRECISION,
    CandidateSet,
    complement_gate,
    dense_columns,
)
from voicejudge.learning.comparison import Comparison
from voicejudge.learning.model_search import FittedModel, ModelSearch, dense_posterior
from voicejudge.learning.rubric import Criterion

EXPLORED_MODELS = 20
# Active selection widens each model's uncertainty by a dense model over every candidate
# column, scaled by this, so a pair can be informative about terms no good model has yet.
RESIDUAL_SCALE = 3.0
EXPORT_MIN_WEIGHT = 0.01


class LearnerError(VoiceJudgeError):
    """The learner cannot run on what it was given."""


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
        return dense_posterior(self.candidates, self.differences)

    def background_weights(self) -> np.ndarray:
        """The model-averaged background weight of every feature."""
        return sum(
            (
                pi * m.mean[2 * len(m.terms) :]
                for m, pi in zip(self.models, self.weights, strict=True)
            ),
            start=np.zeros(len(self.candidates.feature_names)),
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
        names = self.candidates.feature_names
        background = names.index(feature) if column == 0 and feature else None
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
        dense = dense_columns(self.candidates, terms)
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
        linear = dict(
            zip(candidates.feature_names, map(float, self.background_weights()), strict=True)
        )
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
        for feature in candidates.feature_names:
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
                gate = complement_gate(gate, candidates)
            criterion = Criterion(
                feature=gate.feature,
                kind="gate",
                weight=round(abs(w), 4),
                threshold=gate.threshold,
                below=gate.below,
            )
            exported.append((criterion, ({term_id}, 0, 1.0 if w > 0 else -1.0, "")))
        return exported


def fit_rubric(
    comparisons: Sequence[Comparison],
    features: Mapping[str, Features],
    prior: Sequence[Criterion],
    prior_precision: float = STATED_PRECISION,
) -> Fit:
    """The model-averaged posterior of a sparse rubric given the comparisons; the search starts
    from `prior`'s criteria (as terms with a prior of `prior_precision` around their weights:
    wide by default) and from nothing."""
    missing = sorted(
        ({c.preferred_id for c in comparisons} | {c.rejected_id for c in comparisons})
        - set(features)
    )
    if missing:
        raise LearnerError(f"No features for samples {', '.join(missing)}.")
    candidates = CandidateSet(features, prior, prior_precision)
    winners = np.array([candidates.index[c.preferred_id] for c in comparisons], dtype=int)
    losers = np.array([candidates.index[c.rejected_id] for c in comparisons], dtype=int)
    differences = candidates.columns[winners] - candidates.columns[losers]  # pairs × terms × 2
    background = candidates.background[winners] - candidates.background[losers]
    search = ModelSearch(candidates, differences, background)
    if not len(comparisons):
        models: tuple[FittedModel, ...] = (search.prior_model(candidates.stated_ids),)
        weights = np.ones(1)
    else:
        models, weights = search.run(candidates.stated_ids)
    return Fit(candidates=candidates, models=models, weights=weights, differences=differences)
