"""Agreement statistics: per-pair agreement averaged over presentation orders, Cohen's kappa
("no winner" its own answer), a bootstrap interval over pairs, and Kendall's tau against a
Bradley-Terry order of the labels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel
from scipy.stats import kendalltau

from voicejudge.judging.judge import JudgeVerdict
from voicejudge.learning.comparison import Comparison

BOOTSTRAP_SAMPLES = 2000


def order_agreement(verdict: JudgeVerdict, preferred: str) -> float:
    """Share of the judge's presentation orders that ranked `preferred` first."""
    wins = [answer.ranking[0] == preferred for answer in verdict.per_order]
    return sum(wins) / len(wins)


def cohen_kappa(judge: Sequence[str | None], rater: Sequence[str]) -> float:
    """Cohen's kappa between two raters' categorical answers (None is a category of its own)."""
    if not rater:
        return 0.0
    judged: list[str | None] = list(judge)
    rated: list[str | None] = list(rater)
    observed = sum(1 for j, r in zip(judged, rated, strict=True) if j == r) / len(rated)
    expected = sum(
        (judged.count(c) / len(judged)) * (rated.count(c) / len(rated))
        for c in set(judged) | set(rated)
    )
    if expected >= 1:
        return 1.0 if observed >= 1 else 0.0
    return (observed - expected) / (1 - expected)


def bootstrap_ci(values: Sequence[float], seed: int = 0) -> tuple[float, float]:
    """Percentile 95 % interval of the mean, resampling the values with replacement."""
    if not values:
        return (0.0, 0.0)
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(BOOTSTRAP_SAMPLES, len(data)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return (round(float(low), 4), round(float(high), 4))


def bradley_terry_order(comparisons: Sequence[Comparison], ids: Sequence[str]) -> list[str]:
    """Takes ordered by Bradley-Terry strength fitted to the comparisons (MM updates, with one
    pseudo-comparison each way against an average take so unbeaten takes stay finite)."""
    index = {sample_id: n for n, sample_id in enumerate(ids)}
    wins = np.zeros((len(ids), len(ids)))
    for c in comparisons:
        if c.preferred_id in index and c.rejected_id in index:
            wins[index[c.preferred_id], index[c.rejected_id]] += 1
    games = wins + wins.T
    strength = np.ones(len(ids))
    for _ in range(500):
        denominator = (games / (strength[:, None] + strength[None, :])).sum(axis=1) + 2 / (
            strength + 1
        )
        updated = (wins.sum(axis=1) + 1) / denominator
        updated /= np.exp(np.log(updated).mean())
        if np.abs(updated - strength).max() < 1e-10:
            strength = updated
            break
        strength = updated
    return sorted(ids, key=lambda i: (-strength[index[i]], i))


def kendall_tau(order: Sequence[str], reference: Sequence[str]) -> float:
    """Kendall's tau between two orders of the same takes."""
    position = {sample_id: n for n, sample_id in enumerate(reference)}
    tau = kendalltau(range(len(order)), [position[i] for i in order]).statistic
    return round(float(tau), 4)


class AgreementSummary(BaseModel):
    """Agreement with one column of labels."""

    agreement: float
    kappa: float
    ci95: tuple[float, float]


def agreement_summary(
    values: Sequence[float], judge: Sequence[str | None], labels: Sequence[str], seed: int
) -> AgreementSummary:
    """Mean agreement, kappa and the bootstrap interval: the one computation behind both the
    Weave scorer's summary and the round's scores."""
    return AgreementSummary(
        agreement=round(float(np.mean(values)), 4),
        kappa=round(cohen_kappa(judge, labels), 4),
        ci95=bootstrap_ci(values, seed),
    )
