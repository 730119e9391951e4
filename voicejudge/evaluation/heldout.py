"""How well a judge agrees with a rater on held-out pairs, run as a `weave.Evaluation`.

Pairwise agreement is averaged over the judge's presentation orders, so a judge that flips with
the order scores one half on that pair. Cohen's kappa treats "no winner" as its own answer;
the 95 % interval bootstraps over pairs; Kendall's tau compares the judge's listwise ranking of
the held-out takes with the order a Bradley-Terry fit gives the rater's labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import weave
from pydantic import BaseModel, Field, PrivateAttr
from scipy.stats import kendalltau

from voicejudge.audio.sample_set import SampleSet
from voicejudge.errors import VoiceJudgeError
from voicejudge.judging.judge import LABELS as JUDGE_LABELS
from voicejudge.judging.judge import JudgeVerdict, SpeechJudge
from voicejudge.labels.ranking import Comparison
from voicejudge.models.running import run_sync

BOOTSTRAP_SAMPLES = 2000


class HeldOutPair(BaseModel):
    """One held-out comparison: the two takes, the rater's label and, if known, the truth."""

    first: str
    second: str
    label: str = Field(description="the take the rater preferred")
    true_choice: str | None = Field(
        default=None, description="the noise-free preference (simulated raters only)"
    )
    call_id: str | None = None


class Decision(BaseModel):
    """What the judge said about one held-out pair, next to the labels."""

    first: str
    second: str
    label: str
    true_choice: str | None
    winner: str | None
    agreement: float
    position_consistency: float


class HeldOutScores(BaseModel):
    """A judge's agreement with a rater on the held-out pairs."""

    pairs: int
    agreement: float
    agreement_true: float | None
    kappa: float
    ci95: tuple[float, float]
    position_consistency: float
    undecided: int
    kendall_tau: float | None
    decisions: list[Decision] = Field(default_factory=list)


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


class EvaluationError(VoiceJudgeError):
    """The held-out evaluation cannot give a score."""


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


class PairJudge(weave.Model):
    """The judge as `weave.Evaluation` calls it: one held-out pair in, a verdict out."""

    judge: SpeechJudge
    _samples: SampleSet = PrivateAttr()
    _verdicts: dict[tuple[str, str], JudgeVerdict] = PrivateAttr(default_factory=dict)
    _errors: dict[tuple[str, str], Exception] = PrivateAttr(default_factory=dict)

    def with_samples(self, samples: SampleSet) -> PairJudge:
        self._samples = samples
        return self

    @property
    def verdicts(self) -> dict[tuple[str, str], JudgeVerdict]:
        """The verdicts given so far, by pair, for tabulating next to the labels."""
        return self._verdicts

    @property
    def errors(self) -> dict[tuple[str, str], Exception]:
        """Why the judge failed on a pair (the evaluation records a failed row and goes on)."""
        return self._errors

    @weave.op
    async def predict(self, first: str, second: str) -> JudgeVerdict:
        try:
            verdict = await self.judge.acompare(self._samples.get(first), self._samples.get(second))
        except Exception as exc:
            self._errors[(first, second)] = exc
            raise
        self._verdicts[(first, second)] = verdict
        return verdict


class AgreementScorer(weave.Scorer):
    """Agreement of the judge with one column of labels; the summary adds kappa and a CI."""

    seed: int = 0

    # weave hands a scorer the dataset columns its signature names, so the keywords are narrower
    # than Scorer.score's **kwargs
    @weave.op
    def score(  # type: ignore[override]
        self, *, output: JudgeVerdict, first: str, second: str, choice: str | None
    ) -> Any:
        if choice is None:
            return None
        verdict = JudgeVerdict.model_validate(output)
        side = {first: "first", second: "second"}
        return {
            "agreement": order_agreement(verdict, choice),
            "judge": side.get(verdict.winner) if verdict.winner else None,
            "label": side[choice],
        }

    @weave.op
    def summarize(self, score_rows: list[Any]) -> dict[str, Any] | None:
        rows = [row for row in score_rows if row]
        if not rows:
            return None
        summary = agreement_summary(
            [r["agreement"] for r in rows],
            [r["judge"] for r in rows],
            [r["label"] for r in rows],
            self.seed,
        )
        return {
            "agreement": summary.agreement,
            "kappa": summary.kappa,
            "ci95_low": summary.ci95[0],
            "ci95_high": summary.ci95[1],
            "pairs": len(rows),
        }


class ConsistencyScorer(weave.Scorer):
    """The judge's position consistency on each pair."""

    @weave.op
    def score(self, *, output: JudgeVerdict) -> dict[str, float]:  # type: ignore[override]
        verdict = JudgeVerdict.model_validate(output)
        return {"position_consistency": verdict.position_consistency}


def heldout_pairs(comparisons: Sequence[Comparison], truth: Any | None = None) -> list[HeldOutPair]:
    """Held-out labels as evaluation rows; `truth(a, b)` gives the noise-free choice if known."""
    rows = []
    for c in comparisons:
        first, second = sorted((c.preferred_id, c.rejected_id))
        rows.append(
            HeldOutPair(
                first=first,
                second=second,
                label=c.preferred_id,
                true_choice=truth(first, second) if truth is not None else None,
                call_id=c.call_id,
            )
        )
    return rows


def evaluate_judge(
    judge: SpeechJudge,
    samples: SampleSet,
    pairs: Sequence[HeldOutPair],
    *,
    name: str = "heldout-agreement",
    seed: int = 0,
    listwise: bool = True,
) -> HeldOutScores:
    """Run the judge on every held-out pair as a traced `weave.Evaluation` (so hosted Weave
    shows it, with its scorers), then rank the held-out takes listwise for Kendall's tau."""
    _check_labels(pairs)
    evaluation = weave.Evaluation(
        name=name,
        dataset=[pair.model_dump() for pair in pairs],
        scorers=[
            AgreementScorer(name="agreement", column_map={"choice": "label"}, seed=seed),
            AgreementScorer(name="agreement_true", column_map={"choice": "true_choice"}, seed=seed),
            ConsistencyScorer(name="position_consistency"),
        ],
    )
    model = PairJudge(judge=judge).with_samples(samples)
    summary = run_sync(evaluation.evaluate(model))
    missing = [p for p in pairs if (p.first, p.second) not in model.verdicts]
    if missing:
        first = missing[0]
        cause = model.errors.get((first.first, first.second))
        raise EvaluationError(
            f"The judge ({judge.model}) failed on {len(missing)} of {len(pairs)} held-out pairs, "
            f"first {first.first} vs {first.second}: {cause or 'no verdict'}. "
            "Fix the cause and re-run the same command: the answers so far are kept."
        )
    order = _listwise_order(judge, samples, pairs) if listwise else None
    decided = summarize_verdicts(pairs, model.verdicts, seed=seed, listwise_order=order)
    return decided.model_copy(update=_evaluation_figures(summary))


def _evaluation_figures(summary: dict[str, Any]) -> dict[str, Any]:
    """The round's headline figures as the traced `weave.Evaluation` summarised them."""
    labels, truth = summary["agreement"], summary.get("agreement_true")
    consistency = summary["position_consistency"]["position_consistency"]["mean"]
    return {
        "agreement": labels["agreement"],
        "kappa": labels["kappa"],
        "ci95": (labels["ci95_low"], labels["ci95_high"]),
        "agreement_true": truth["agreement"] if truth else None,
        "position_consistency": round(float(consistency), 4),
    }


def score_heldout(
    judge: SpeechJudge,
    samples: SampleSet,
    pairs: Sequence[HeldOutPair],
    *,
    seed: int = 0,
    listwise: bool = True,
) -> HeldOutScores:
    """The same scores as `evaluate_judge`, without a `weave.Evaluation` around them."""
    _check_labels(pairs)
    verdicts = {
        (p.first, p.second): judge.compare(samples.get(p.first), samples.get(p.second))
        for p in pairs
    }
    order = _listwise_order(judge, samples, pairs) if listwise else None
    return summarize_verdicts(pairs, verdicts, seed=seed, listwise_order=order)


def summarize_verdicts(
    pairs: Sequence[HeldOutPair],
    verdicts: dict[tuple[str, str], JudgeVerdict],
    *,
    seed: int = 0,
    listwise_order: list[str] | None = None,
) -> HeldOutScores:
    """Agreement, kappa, interval and consistency of the verdicts given on the held-out pairs."""
    decisions = [
        Decision(
            first=p.first,
            second=p.second,
            label=p.label,
            true_choice=p.true_choice,
            winner=verdicts[(p.first, p.second)].winner,
            agreement=order_agreement(verdicts[(p.first, p.second)], p.label),
            position_consistency=verdicts[(p.first, p.second)].position_consistency,
        )
        for p in pairs
    ]
    values = [d.agreement for d in decisions]
    truth = [
        order_agreement(verdicts[(p.first, p.second)], p.true_choice)
        for p in pairs
        if p.true_choice is not None
    ]
    side = [{d.first: "first", d.second: "second"} for d in decisions]
    summary = agreement_summary(
        values,
        [s.get(d.winner) if d.winner else None for s, d in zip(side, decisions, strict=True)],
        [s[d.label] for s, d in zip(side, decisions, strict=True)],
        seed,
    )
    tau = None
    if listwise_order is not None:
        ids = sorted({i for p in pairs for i in (p.first, p.second)})
        labels = [Comparison(preferred_id=p.label, rejected_id=_other(p), rater="") for p in pairs]
        tau = kendall_tau(listwise_order, bradley_terry_order(labels, ids))
    return HeldOutScores(
        pairs=len(pairs),
        agreement=summary.agreement,
        agreement_true=round(float(np.mean(truth)), 4) if truth else None,
        kappa=summary.kappa,
        ci95=summary.ci95,
        position_consistency=round(float(np.mean([d.position_consistency for d in decisions])), 4),
        undecided=sum(1 for d in decisions if d.winner is None),
        kendall_tau=tau,
        decisions=decisions,
    )


def _listwise_order(
    judge: SpeechJudge, samples: SampleSet, pairs: Sequence[HeldOutPair]
) -> list[str] | None:
    """The judge's listwise order of the held-out takes (None when there are more takes
    than labels to show them under)."""
    ids = sorted({i for p in pairs for i in (p.first, p.second)})
    if len(ids) > len(JUDGE_LABELS):
        return None
    return _mean_order(judge.rank([samples.get(i) for i in ids]))


def _check_labels(pairs: Sequence[HeldOutPair]) -> None:
    if not pairs:
        raise EvaluationError(
            "There are no held-out labels to evaluate against: every held-out comparison is "
            "unanswered or a tie. Rank them (ties teach nothing) and re-run."
        )


def _other(pair: HeldOutPair) -> str:
    return pair.second if pair.label == pair.first else pair.first


def _mean_order(verdict: JudgeVerdict) -> list[str]:
    ids = verdict.per_order[0].presented
    mean = {
        i: sum(a.ranking.index(i) for a in verdict.per_order) / len(verdict.per_order) for i in ids
    }
    return sorted(ids, key=lambda i: (mean[i], i))
