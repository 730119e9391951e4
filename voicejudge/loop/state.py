"""Alignment rounds as pure logic: what defines a run, and one round's state in, pairs to ask,
state out.

The store-backed loop (`loop.runner.run_rounds`) and `simulate_rounds` (the alignment benchmark's
driver, with a simulated rater and no store) run rounds through these functions, so the
benchmark measures what `voicejudge rounds` does. Nothing here reads or writes the store; the
learner and analyzer publish their results when tracing is on.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import BaseModel, Field

from voicejudge.audio.features import FeatureCache, Features
from voicejudge.audio.sample_set import SampleSet
from voicejudge.errors import VoiceJudgeError
from voicejudge.evaluation.heldout import heldout_pairs, score_heldout
from voicejudge.judging.judge import SpeechJudge
from voicejudge.labels.feedback import PERSON_SOURCE
from voicejudge.labels.pairs import Pair, Strategy, next_pairs
from voicejudge.labels.simulated_raters import RaterProfile, SimulatedRater
from voicejudge.learning.brief import Brief, default_brief
from voicejudge.learning.comparison import Comparison
from voicejudge.learning.learner import PreferenceLearner
from voicejudge.learning.patterns import PreferencePatterns
from voicejudge.learning.preference_fit import fit_rubric
from voicejudge.learning.rubric import Criterion
from voicejudge.loop.panel_labels import CONSENSUS, PoolMode
from voicejudge.prompting.judge_prompt import JudgePrompt, starting_prompt
from voicejudge.prompting.rewrite import JudgePromptAnalyzer

LoopStrategy = Literal["sequential", "random", "active"]
HUMAN = PERSON_SOURCE  # `--rater human`: a person answers in the ranking app


class LoopError(VoiceJudgeError):
    """An alignment run that cannot start or continue as asked."""


class LoopConfig(BaseModel):
    """What defines an alignment run; the same config continues the same run."""

    sample_set: str = Field(description="folder, manifest or weave:/// ref of the voices")
    rater: RaterProfile | None = Field(default=None, description="None: a person in the app")
    brief: str = Field(
        default_factory=lambda: default_brief().text,
        min_length=1,
        description="the character brief the judge starts from",
    )
    pairs_per_round: int = Field(default=8, ge=1)
    strategy: LoopStrategy = "active"
    judge_model: str = "acoustic"
    learner_model: str = "acoustic"
    analyzer_model: str = "acoustic"
    heldout: int = Field(default=12, ge=3, description="takes kept out for evaluation")
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    labels_from: str | None = Field(
        default=None, description="replay: reuse this run's rankings instead of asking"
    )
    start_round: int = Field(default=1, ge=1, description="replay: the first round re-run")
    prompts_from: str | None = Field(
        default=None, description="replay of a replay: the run whose prompts it continues"
    )
    study: str | None = Field(
        default=None, description="a panel run: the study whose stored labels it learns from"
    )
    raters: list[str] | None = Field(default=None, description="a panel run: whose labels count")
    consensus: bool = Field(default=False, description="a panel run aligned to the majority")
    pool: PoolMode = Field(default="pooled", description="a panel run: how raters are pooled")
    rounds: int | None = Field(
        default=None, ge=1, description="a panel run: the rounds its training units spread over"
    )

    @property
    def is_panel(self) -> bool:
        return self.raters is not None

    @property
    def rater_name(self) -> str:
        if self.is_panel:
            return CONSENSUS if self.consensus else f"panel-{self.pool}"
        return self.rater.name if self.rater is not None else HUMAN

    @property
    def starting_prompt(self) -> JudgePrompt:
        """The judge prompt of round 0: the brief's."""
        return starting_prompt(Brief(text=self.brief))

    def run_id(self, sample_ids: Sequence[str]) -> str:
        """A stable name for the run: readable, plus a digest of everything that defines it."""
        # a single-rater run leaves the panel fields out, so its name is what it always was
        key = self.model_dump(
            mode="json", exclude={"sample_set"} | (set() if self.is_panel else _PANEL_FIELDS)
        )
        key["samples"] = hashlib.sha256("\n".join(sample_ids).encode()).hexdigest()
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:8]
        if self.is_panel:
            return f"{self.rater_name}-{digest}"
        kind = "replay" if self.labels_from else self.strategy
        return f"{self.rater_name}-{kind}-{digest}"


_PANEL_FIELDS = {"study", "raters", "consensus", "pool", "rounds"}


@dataclass(frozen=True)
class RoundState:
    """What a run knows after a round: the prompt it judges with, every training answer so
    far, every pair asked, and the patterns the prompt was rewritten from."""

    prompt: JudgePrompt
    comparisons: tuple[Comparison, ...] = ()
    asked: tuple[Pair, ...] = ()
    patterns: PreferencePatterns | None = None


def stable_seed(*parts: Any) -> int:
    """A seed that depends only on `parts` (a run's name, a round number, a pair)."""
    text = "|".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def choose_pairs(
    comparisons: Sequence[Comparison],
    asked: Sequence[Pair],
    number: int,
    *,
    run: str,
    strategy: Strategy,
    count: int,
    pool: Sequence[str],
    features: dict[str, Features],
    prior: Sequence[Criterion],
) -> list[Pair]:
    """Round `number`'s pairs, chosen from the answers before it (active: where the fit of
    `comparisons` around `prior` is least sure), never one of `asked`."""
    fit = fit_rubric(list(comparisons), features, prior) if strategy == "active" else None
    return next_pairs(
        pool,
        count,
        strategy,
        asked=asked,
        seed=stable_seed(run, number),
        fit=fit,
        features=features if strategy == "active" else None,
    )


def learn_round(
    state: RoundState,
    comparisons: Sequence[Comparison],
    samples: SampleSet,
    *,
    learner: PreferenceLearner,
    analyzer: JudgePromptAnalyzer,
) -> RoundState:
    """Learn from every training answer so far (`comparisons`) and rewrite the state's prompt
    from the patterns."""
    patterns = learner.update(list(comparisons), samples)
    prompt = analyzer.rewrite(state.prompt, patterns).prompt
    return replace(state, prompt=prompt, comparisons=tuple(comparisons), patterns=patterns)


def learner_for(config: LoopConfig) -> PreferenceLearner:
    """The run's learner: its model, fitting around what the brief states."""
    return PreferenceLearner(
        model=config.learner_model,
        prior=Brief(text=config.brief).stated_criteria(),
        brief=config.brief,
    )


class SimulatedRound(BaseModel):
    """One round of a simulated run: its labels and the judge's held-out agreement."""

    round: int
    labels: int
    agreement: float
    agreement_true: float | None
    undecided: int


def simulate_rounds(
    config: LoopConfig, rounds: int, samples: SampleSet, cache: FeatureCache | None = None
) -> list[SimulatedRound]:
    """Rounds 0..`rounds` of the run `config` defines, answered by its simulated rater with no
    store: the same split, pairs, answers, learning and held-out scores as `run_rounds`."""
    if config.rater is None:
        raise LoopError("Simulating rounds needs a simulated rater profile.")
    rater = SimulatedRater(config.rater, samples, cache)
    pool, held = samples.split(config.heldout, seed=config.seed)
    run = config.run_id(samples.ids)
    learner = learner_for(config)
    analyzer = JudgePromptAnalyzer(model=config.analyzer_model)
    features = {i: rater.features(i) for i in samples.ids}
    rows = heldout_pairs(
        [_answer(rater, pair) for pair in itertools.combinations(held.ids, 2)], rater.true_choice
    )
    state = RoundState(prompt=config.starting_prompt)
    results = []
    for number in range(rounds + 1):
        if number:
            pairs = choose_pairs(
                state.comparisons,
                state.asked,
                number,
                run=run,
                strategy=config.strategy,
                count=config.pairs_per_round,
                pool=pool.ids,
                features=features,
                prior=learner.prior,
            )
            state = replace(state, asked=state.asked + tuple(pairs))
            answers = state.comparisons + tuple(_answer(rater, pair) for pair in pairs)
            state = learn_round(state, answers, samples, learner=learner, analyzer=analyzer)
        judge = SpeechJudge(prompt=state.prompt, model=config.judge_model, seed=config.seed)
        scores = score_heldout(judge, samples, rows, seed=config.seed, listwise=False)
        results.append(
            SimulatedRound(
                round=number,
                labels=len(state.comparisons),
                agreement=scores.agreement,
                agreement_true=scores.agreement_true,
                undecided=scores.undecided,
            )
        )
    return results


def _answer(rater: SimulatedRater, pair: Sequence[str]) -> Comparison:
    preferred, rejected = rater.rank(list(pair))[:2]
    return Comparison(preferred_id=preferred, rejected_id=rejected, rater=rater.name)
