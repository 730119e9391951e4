"""The search over sets of candidate terms: each set fitted by Laplace approximation and scored
by its evidence plus its prior inclusion odds, found by a stepwise climb, the best kept."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voicejudge.learning.candidates import (
    BACKGROUND_PRECISION,
    CandidateSet,
    dense_columns,
    dense_precision,
)
from voicejudge.learning.laplace import laplace

MAX_TERMS = 10
SCREENED = 40
AVERAGED_MODELS = 100


@dataclass(frozen=True)
class FittedModel:
    """One set of terms with the Laplace posterior of its weights (two per term, then the
    background's one per feature) and its log score."""

    terms: tuple[int, ...]
    mean: np.ndarray
    covariance: np.ndarray
    log_score: float


class ModelSearch:
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
        width = len(c.feature_names)
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
        width = len(c.feature_names)
        x = np.concatenate(
            [x, np.broadcast_to(self.background, (count, self.pairs, width))], axis=2
        )
        mean = np.concatenate([mean, np.zeros((count, width))], axis=1)
        precision = np.concatenate(
            [precision, np.full((count, width), BACKGROUND_PRECISION)], axis=1
        )
        weights, information, log_evidence = laplace(x, mean, precision)
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
        _, _, log_evidence = laplace(
            self.x[new], c.prior_mean[new], c.prior_precision[new], offset=offset, iterations=6
        )
        keep = np.argsort(-(log_evidence + c.log_odds[new]))[:SCREENED]
        return [additions[k] for k in keep]


def dense_posterior(candidates: CandidateSet, differences: np.ndarray) -> np.ndarray:
    precision = dense_precision(candidates)
    x = dense_columns(candidates, differences)
    if not len(x):
        return np.diag(1 / precision)
    weights, information, _ = laplace(
        x[None], np.zeros((1, x.shape[1])), precision[None], iterations=20
    )
    del weights
    return np.linalg.inv(information[0])
