"""Aligning a judge to a panel from a study's stored labels (an imported listening test, or a
panel's rankings): one judge per rater, one for the group, or the group's rubric as each
rater's prior; evaluated on held-out units against each rater and the others' consensus,
beside the human ceiling (how often a rater sides with the others' consensus).

Round r of R learns from a growing share of the training units, so the round table reads as
a learning curve; nothing is asked, so a panel run never waits.
"""

from __future__ import annotations

import hashlib
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import weave
from pydantic import BaseModel, PrivateAttr

from voicejudge.audio.features import FeatureCache, Features
from voicejudge.audio.sample_set import SampleSet
from voicejudge.evaluation.heldout import Decision, HeldOutPair, evaluate_judge, score_heldout
from voicejudge.evaluation.metrics import agreement_summary
from voicejudge.judging.judge import SpeechJudge
from voicejudge.learning.candidates import STATED_PRECISION
from voicejudge.learning.comparison import Comparison
from voicejudge.learning.learner import PreferenceLearner
from voicejudge.learning.preference_fit import fit_rubric
from voicejudge.learning.rubric import Criterion, score
from voicejudge.loop.panel_labels import (
    CONSENSUS,
    Pair,
    PanelLabels,
    PanelSplit,
    PoolMode,
    majority_comparisons,
    others_consensus,
    split_panel,
    study_labels,
    within,
)
from voicejudge.loop.results import RoundResult, RunLoop
from voicejudge.loop.state import LoopError
from voicejudge.prompting.judge_prompt import JudgePrompt
from voicejudge.prompting.rewrite import JudgePromptAnalyzer
from voicejudge.settings import load_settings
from voicejudge.tracking import ref_uri

# hierarchical: how firmly each rater's judge holds to the group's rubric, chosen each round by
# two-fold cross-validation over the training units, from the brief's wide prior to nearly
# the group's rubric itself.
PRIOR_PRECISIONS = (STATED_PRECISION, 1.0, 4.0, 16.0, 64.0)


class PanelScores(BaseModel):
    """A round's held-out figures for a panel."""

    agreement: float
    kappa: float
    ci95: tuple[float, float]
    position_consistency: float
    undecided: int
    pairs: int
    by_rater: dict[str, float]
    consensus_agreement: float | None
    human_ceiling: float | None
    decisions: list[Decision]


@dataclass(frozen=True)
class PanelPrompts:
    """The judge prompt each target (a rater, or the consensus) is judged with this round."""

    by_target: dict[str, JudgePrompt]
    group: JudgePrompt | None
    prior_precision: float | None = None


def learn_panel(
    pool: PoolMode,
    targets: Mapping[str, Sequence[Comparison]],
    start: JudgePrompt,
    samples: SampleSet,
    *,
    learner: PreferenceLearner,
    analyzer: JudgePromptAnalyzer,
    features: Mapping[str, Features],
    folds: tuple[frozenset[str], frozenset[str]] | None = None,
) -> PanelPrompts:
    """Each target's judge prompt after learning from its comparisons, pooled as `pool` says;
    `folds` (two halves of the training takes) choose the hierarchical prior's precision."""

    def rewrite(comparisons: Sequence[Comparison], who: PreferenceLearner) -> JudgePrompt:
        patterns = who.update(list(comparisons), samples)
        return analyzer.rewrite(start, patterns).prompt

    if len(targets) == 1:  # one rater, or the consensus: its prompt is the group's
        ((target, comparisons),) = targets.items()
        only = rewrite(comparisons, learner)
        return PanelPrompts(by_target={target: only}, group=only)
    if pool == "per-rater":
        prompts = {t: rewrite(c, learner) for t, c in targets.items()}
        return PanelPrompts(by_target=prompts, group=None)
    group = rewrite([c for cs in targets.values() for c in cs], learner)
    if pool == "pooled":
        return PanelPrompts(by_target=dict.fromkeys(targets, group), group=group)
    precision = STATED_PRECISION
    if learner.model == "acoustic" and folds is not None:
        precision = choose_prior_precision(targets, features, learner.prior, folds)
    own = learner.model_copy(update={"prior": group.criteria, "prior_precision": precision})
    prompts = {t: rewrite(c, own) for t, c in targets.items()}
    return PanelPrompts(by_target=prompts, group=group, prior_precision=precision)


def choose_prior_precision(
    targets: Mapping[str, Sequence[Comparison]],
    features: Mapping[str, Features],
    prior: Sequence[Criterion],
    folds: tuple[frozenset[str], frozenset[str]],
) -> float:
    """The precision whose group-prior fits predict each rater's other fold best (mean over
    raters and both folds); the fit alone, without the rewrite, so nothing is traced."""
    results: dict[float, list[float]] = {p: [] for p in PRIOR_PRECISIONS}
    for learn, check in (folds, folds[::-1]):
        group = fit_rubric(
            [c for cs in targets.values() for c in within(cs, learn)], features, prior
        ).criteria()
        for comparisons in targets.values():
            train, test = within(comparisons, learn), within(comparisons, check)
            if not train or not test:
                continue
            for precision in PRIOR_PRECISIONS:
                rubric = fit_rubric(train, features, group, precision).criteria()
                results[precision].append(_rubric_agreement(rubric, features, test))
    scored = {p: statistics.fmean(v) for p, v in results.items() if v}
    return max(scored, key=lambda p: (scored[p], -p)) if scored else STATED_PRECISION


def _rubric_agreement(
    rubric: Sequence[Criterion], features: Mapping[str, Features], pairs: Sequence[Comparison]
) -> float:
    utility = {
        t: score(rubric, features[t]) for c in pairs for t in (c.preferred_id, c.rejected_id)
    }
    return statistics.fmean(
        1.0 if d > 0 else 0.5 if d == 0 else 0.0
        for d in (utility[c.preferred_id] - utility[c.rejected_id] for c in pairs)
    )


def score_panel(
    prompts: Mapping[str, JudgePrompt],
    labels: PanelLabels,
    heldout: frozenset[str],
    samples: SampleSet,
    *,
    judge_model: str,
    seed: int,
    name: str,
    evaluated: JudgePrompt | None = None,
) -> PanelScores:
    """Judge each held-out pair once per distinct prompt and count agreement with each rater,
    with the others' consensus, and the ceiling; `evaluated` (the group's prompt) runs as a
    traced `weave.Evaluation`, the raters' own prompts as traced verdicts without one."""
    consensus = list(prompts) == [CONSENSUS]
    targets: dict[str, list[Comparison]] = (
        {CONSENSUS: majority_comparisons(labels, heldout)}
        if consensus
        else {r: within(labels.comparisons.get(r, []), heldout) for r in prompts}
    )
    against = others_consensus(labels, heldout)
    judged_by = {t: _digest(p) for t, p in prompts.items()}
    votes: dict[str, dict[Pair, list[str]]] = defaultdict(lambda: defaultdict(list))
    for target, comparisons in targets.items():
        for c in comparisons:
            votes[judged_by[target]][_pair(c)].append(c.preferred_id)
    for rater, pair, _, side in against:
        votes[judged_by[CONSENSUS if consensus else rater]].setdefault(
            pair, [pair[0] if side > 0 else pair[1]]
        )
    by_digest = {judged_by[t]: p for t, p in prompts.items()}
    verdicts: dict[str, dict[Pair, Decision]] = {}
    for digest, pairs in votes.items():
        rows = [
            HeldOutPair(first=a, second=b, label=max(sorted(set(v)), key=v.count))
            for (a, b), v in sorted(pairs.items())
        ]
        judge = SpeechJudge(prompt=by_digest[digest], model=judge_model, seed=seed)
        if evaluated is not None and _digest(evaluated) == digest:
            result = evaluate_judge(judge, samples, rows, name=name, seed=seed, listwise=False)
        else:
            result = score_heldout(judge, samples, rows, seed=seed, listwise=False)
        verdicts[digest] = {(d.first, d.second): d for d in result.decisions}
    scored = [
        (t, _decision(verdicts[judged_by[t]][_pair(c)], c.preferred_id))
        for t, comparisons in targets.items()
        for c in comparisons
    ]
    if not scored:
        raise LoopError(
            "These raters have no held-out judgements to score the judge against: lower "
            "--heldout, or choose raters who judged more of the study."
        )
    decisions = [d for _, d in scored]
    sides = [{d.first: "first", d.second: "second"} for d in decisions]
    summary = agreement_summary(
        [d.agreement for d in decisions],
        [s.get(d.winner) if d.winner else None for s, d in zip(sides, decisions, strict=True)],
        [s[d.label] for s, d in zip(sides, decisions, strict=True)],
        seed,
    )
    judge_with_others = [
        _decision(
            verdicts[judged_by[CONSENSUS if consensus else rater]][pair],
            pair[0] if side > 0 else pair[1],
        ).agreement
        for rater, pair, _, side in against
    ]
    return PanelScores(
        agreement=summary.agreement,
        kappa=summary.kappa,
        ci95=summary.ci95,
        position_consistency=_mean([d.position_consistency for d in decisions]) or 1.0,
        undecided=sum(1 for d in decisions if d.winner is None),
        pairs=len(decisions),
        by_rater={
            t: mean
            for t in prompts
            if (mean := _mean([d.agreement for o, d in scored if o == t])) is not None
        },
        consensus_agreement=_mean(judge_with_others),
        human_ceiling=_mean([float(code == side) for _, _, code, side in against]),
        decisions=decisions,
    )


def _decision(verdict: Decision, label: str) -> Decision:
    """The judge's verdict on a pair scored against `label` (of two takes, the other's
    agreement is the rest)."""
    if label == verdict.label:
        return verdict
    return verdict.model_copy(update={"label": label, "agreement": 1 - verdict.agreement})


def _pair(c: Comparison) -> Pair:
    first, second = sorted((c.preferred_id, c.rejected_id))
    return (first, second)


def _digest(prompt: JudgePrompt) -> str:
    return hashlib.sha256(prompt.model_dump_json(include={"text", "criteria"}).encode()).hexdigest()


def _mean(values: Sequence[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


class PanelLoop(RunLoop):
    """A panel run: which raters, how they are pooled, and the learner and analyzer."""

    rounds: int
    learner: PreferenceLearner
    analyzer: JudgePromptAnalyzer

    _labels: PanelLabels | None = PrivateAttr(default=None)

    @property
    def labels(self) -> PanelLabels:
        if self._labels is None:
            study, raters = self.config.study, self.config.raters
            if study is None or raters is None:
                raise LoopError("A panel run names its study and raters.")
            self._labels = study_labels(self._client, study).only(raters)
        return self._labels

    @property
    def split(self) -> PanelSplit:
        return split_panel(self.labels, self.config.heldout, self.config.seed)

    @weave.op
    def run_round(self, number: int, prompt: JudgePrompt) -> RoundResult:
        """Learn from this round's share of the training units (round 0: the brief's prompt
        for everyone), then evaluate on the held-out units."""
        split, labels = self.split, self.labels
        takes = split.training(number, self.rounds)
        if self.config.consensus:
            targets = {CONSENSUS: majority_comparisons(labels, takes)}
        else:
            targets = {r: within(labels.comparisons.get(r, []), takes) for r in labels.raters}
        learned = sum(map(len, targets.values()))
        prompts = PanelPrompts(by_target=dict.fromkeys(targets, prompt), group=prompt)
        if number:
            self.say("learning", number, f"round {number}: learning from {learned} comparisons")
            prompts = learn_panel(
                self.config.pool,
                targets,
                prompt,
                self._samples,
                learner=self.learner,
                analyzer=self.analyzer,
                features=self._features(),
                folds=_folds(split, number, self.rounds),
            )
        self.say("judging", number, f"round {number}: judging the held-out units")
        scores = score_panel(
            prompts.by_target,
            labels,
            split.heldout,
            self._samples,
            judge_model=self.config.judge_model,
            seed=self.config.seed,
            name=f"heldout-{self.run}",
            evaluated=prompts.group,
        )
        return RoundResult(
            run=self.run,
            round=number,
            labels=learned,
            agreement=scores.agreement,
            agreement_true=None,
            kappa=scores.kappa,
            ci95=scores.ci95,
            position_consistency=scores.position_consistency,
            kendall_tau=None,
            undecided=scores.undecided,
            heldout_pairs=scores.pairs,
            prompt_ref=ref_uri(prompts.group) if prompts.group is not None else None,
            patterns_ref=None,
            call_ids=[],
            decisions=scores.decisions,
            by_rater=scores.by_rater,
            consensus_agreement=scores.consensus_agreement,
            human_ceiling=scores.human_ceiling,
            rater_prompts={
                t: ref for t, p in prompts.by_target.items() if (ref := ref_uri(p)) is not None
            },
            prior_precision=prompts.prior_precision,
        )

    def _features(self) -> dict[str, Features]:
        cache = FeatureCache(load_settings().feature_cache)
        return {s.id: cache.features(s.clip()) for s in self._samples}


def _folds(split: PanelSplit, number: int, rounds: int) -> tuple[frozenset[str], frozenset[str]]:
    """Two halves of this round's training units (alternate units, in split order)."""
    units = split.training_units(number, rounds)
    halves = (units[0::2], units[1::2])
    return (frozenset().union(*halves[0]), frozenset().union(*halves[1]))
