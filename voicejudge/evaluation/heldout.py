"""How well a judge agrees with a rater on held-out pairs, run as a `weave.Evaluation` so
hosted Weave shows it; the statistics are `voicejudge.evaluation.metrics`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import weave
from pydantic import BaseModel, Field, PrivateAttr

from voicejudge.audio.sample_set import SampleSet
from voicejudge.errors import VoiceJudgeError
from voicejudge.evaluation.metrics import (
    agreement_summary,
    bradley_terry_order,
    kendall_tau,
    order_agreement,
)
from voicejudge.judging.judge import LABELS as JUDGE_LABELS
from voicejudge.judging.judge import JudgeVerdict, SpeechJudge
from voicejudge.learning.comparison import Comparison
from voicejudge.models.running import run_sync


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


class EvaluationError(VoiceJudgeError):
    """The held-out evaluation cannot give a score."""


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
