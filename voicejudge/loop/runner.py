"""Alignment rounds: ask for rankings, learn, rewrite the judge prompt, evaluate on held-out
pairs; round after round, resumable from the store.

Everything a run needs to continue is in the trace store: its `rank_audio` calls (tagged with
the run and round), the answers on them, and the output of each finished round. Pair choice
is deterministic given the answers so far, so re-running a command after a crash re-creates
only what is missing and never asks or stores a comparison twice.
"""

from __future__ import annotations

import itertools
import shlex
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import weave
from pydantic import BaseModel, Field, PrivateAttr
from weave.trace.weave_client import WeaveClient

from voicejudge.audio.features import FeatureCache, Features
from voicejudge.audio.sample_set import SampleSet, load_sample_set
from voicejudge.evaluation.heldout import Decision, HeldOutPair, evaluate_judge, heldout_pairs
from voicejudge.judging.judge import SpeechJudge
from voicejudge.labels.pairs import Pair
from voicejudge.labels.ranking import (
    Comparison,
    RecordedRanking,
    comparisons_from,
    rank_audio,
    read_rankings,
)
from voicejudge.labels.simulated_raters import SimulatedRater
from voicejudge.learning.learner import PreferenceLearner
from voicejudge.loop.state import (
    HUMAN,
    LoopConfig,
    LoopError,
    RoundState,
    choose_pairs,
    learn_round,
    learner_for,
    stable_seed,
)
from voicejudge.models import check_model
from voicejudge.prompting.judge_prompt import (
    JudgePrompt,
    load_judge_prompt,
    publish_judge_prompt,
)
from voicejudge.prompting.rewrite import JudgePromptAnalyzer
from voicejudge.settings import load_settings
from voicejudge.tracking import op_calls, ref_uri, step_attributes, step_calls


class RoundResult(BaseModel):
    """One finished round: how many labels it had, how the judge did, and what it made."""

    run: str
    round: int
    labels: int = Field(description="training comparisons so far (cumulative)")
    agreement: float
    agreement_true: float | None
    kappa: float
    ci95: tuple[float, float]
    position_consistency: float
    kendall_tau: float | None
    undecided: int
    heldout_pairs: int
    prompt_ref: str | None
    patterns_ref: str | None
    call_ids: list[str] = Field(description="this round's rank_audio calls")
    decisions: list[Decision] = Field(default_factory=list)


class RunResult(BaseModel):
    """A run's rounds, in order, and where its traces are."""

    run: str
    rater: str
    rounds: list[RoundResult]
    store: str
    ceiling: float | None = Field(
        default=None, description="the best agreement the rater's labels allow (1 - flip rate)"
    )


RunStep = Literal[
    "started",
    "continued",
    "replaying",
    "round_done",
    "asking",
    "waiting",
    "learning",
    "judging",
    "round_finished",
    "writing",
]


class RunEvent(BaseModel):
    """A step of a run, for whoever watches it (the CLI's progress bar, a log, a test): what
    kind of step, which run and round, and one line a person can read."""

    kind: RunStep
    run: str
    round: int | None = None
    last_round: int = Field(description="the last round this command runs")
    count: int | None = Field(default=None, description="comparisons this step is about")
    message: str


Progress = Callable[[RunEvent], None]


class AlignmentLoop(weave.Model):
    """One alignment run: its config and the learner and analyzer it uses."""

    run: str
    config: LoopConfig
    learner: PreferenceLearner
    analyzer: JudgePromptAnalyzer
    poll_s: float = 2.0

    _samples: SampleSet = PrivateAttr()
    _pool: SampleSet = PrivateAttr()
    _heldout: SampleSet = PrivateAttr()
    _rater: SimulatedRater | None = PrivateAttr(default=None)
    _client: WeaveClient = PrivateAttr()
    _progress: Progress | None = PrivateAttr(default=None)
    _last_round: int = PrivateAttr(default=0)
    _features: dict[str, Features] = PrivateAttr(default_factory=dict)

    def attach(
        self,
        samples: SampleSet,
        client: WeaveClient,
        progress: Progress | None = None,
        last_round: int = 0,
    ) -> None:
        """Give the loop what is not part of its identity: the audio, the store, a progress
        callback and the last round the command runs."""
        self._last_round = last_round
        self._samples = samples
        self._pool, self._heldout = samples.split(self.config.heldout, seed=self.config.seed)
        self._client = client
        if self.config.rater is not None:
            self._rater = SimulatedRater(self.config.rater, samples)
        self._progress = progress

    @weave.op
    def run_round(self, number: int, prompt: JudgePrompt) -> RoundResult:
        """Ask (or reuse) this round's comparisons, learn from every label so far, rewrite the
        prompt and evaluate the new judge on the held-out pairs. Round 0 evaluates the starting
        prompt, before any label."""
        heldout_calls = self._ensure_heldout_calls()
        train_calls = self._ensure_train_calls(number) if number else []
        self._collect(heldout_calls + train_calls, number)
        comparisons = self._train_comparisons(number)
        new_prompt, patterns = prompt, None
        if number:
            self.say(
                "learning",
                number,
                f"round {number}: learning from {len(comparisons)} comparisons",
                len(comparisons),
            )
            state = learn_round(
                RoundState(prompt=prompt),
                comparisons,
                self._samples,
                learner=self.learner,
                analyzer=self.analyzer,
            )
            new_prompt, patterns = state.prompt, state.patterns
        rows = self._heldout_rows()
        self.say(
            "judging", number, f"round {number}: judging {len(rows)} held-out pairs", len(rows)
        )
        judge = SpeechJudge(prompt=new_prompt, model=self.config.judge_model, seed=self.config.seed)
        scores = evaluate_judge(
            judge, self._samples, rows, name=f"heldout-{self.run}", seed=self.config.seed
        )
        return RoundResult(
            **scores.model_dump(exclude={"pairs"}),
            run=self.run,
            round=number,
            labels=len(comparisons),
            heldout_pairs=scores.pairs,
            prompt_ref=ref_uri(new_prompt),
            patterns_ref=ref_uri(patterns) if patterns is not None else None,
            call_ids=train_calls,
        )

    def say(
        self, kind: RunStep, number: int | None, message: str, count: int | None = None
    ) -> None:
        """Tell whoever watches the run about a step of it."""
        if self._progress is not None:
            self._progress(
                RunEvent(
                    kind=kind,
                    run=self.run,
                    round=number,
                    last_round=self._last_round,
                    count=count,
                    message=message,
                )
            )

    # --- the comparisons of this run -------------------------------------------------------

    def _label_run(self) -> str:
        return self.config.labels_from or self.run

    def _calls(self, run: str) -> list[tuple[str, dict[str, Any]]]:
        """This run's `rank_audio` calls, oldest first, with what each asked."""
        return [
            (call.id, call.output)
            for call in op_calls(self._client, "rank_audio")
            if call.exception is None
            and isinstance(call.output, dict)
            and call.output.get("run") == run
        ]

    def _ensure_heldout_calls(self) -> list[str]:
        existing = {
            frozenset(output["sample_ids"]): call_id
            for call_id, output in self._calls(self._label_run())
            if output.get("heldout")
        }
        wanted = list(itertools.combinations(self._heldout.ids, 2))
        if self.config.labels_from:
            return [existing[frozenset(p)] for p in wanted if frozenset(p) in existing]
        missing = [pair for pair in wanted if frozenset(pair) not in existing]
        if missing:
            self.say("asking", 0, f"asking {len(missing)} held-out comparisons", len(missing))
        for pair in missing:
            existing[frozenset(pair)] = self._ask(pair, round_number=0, heldout=True)
        return [existing[frozenset(pair)] for pair in wanted]

    def _ensure_train_calls(self, number: int) -> list[str]:
        """This round's comparisons: the batch chosen from the answers of earlier rounds (so a
        resumed round chooses what an uninterrupted one would), asking only what is missing."""
        calls = [
            (call_id, output)
            for call_id, output in self._calls(self._label_run())
            if not output.get("heldout")
        ]
        this_round = {
            frozenset(output["sample_ids"]): call_id
            for call_id, output in calls
            if output.get("round") == number
        }
        if self.config.labels_from:
            if not this_round:
                raise LoopError(
                    f"Run {self.config.labels_from} has no comparisons in round {number}."
                )
            return list(this_round.values())
        earlier = [
            tuple(output["sample_ids"][:2])
            for _, output in calls
            if (output.get("round") or 0) < number
        ]
        chosen = self._choose_pairs(number, self.config.pairs_per_round, earlier)
        missing = [pair for pair in chosen if frozenset(pair) not in this_round]
        if not chosen and not this_round:
            raise LoopError(
                f"Every pair of the {len(self._pool)} ranking takes has been asked; "
                "use fewer rounds or pairs per round, or a larger set."
            )
        if missing:
            self.say(
                "asking",
                number,
                f"round {number}: asking {len(missing)} comparisons ({self.config.strategy})",
                len(missing),
            )
        for pair in missing:
            this_round[frozenset(pair)] = self._ask(pair, round_number=number)
        ordered = [this_round[frozenset(pair)] for pair in chosen]
        return ordered + [c for c in this_round.values() if c not in ordered]

    def _choose_pairs(self, number: int, count: int, asked: list[Pair]) -> list[Pair]:
        active = self.config.strategy == "active"
        return choose_pairs(
            self._train_comparisons(number - 1) if active else [],
            asked,
            number,
            run=self.run,
            strategy=self.config.strategy,
            count=count,
            pool=self._pool.ids,
            features={i: self._feature(i) for i in self._samples.ids} if active else {},
            prior=self.learner.prior,
        )

    def _ask(self, pair: Sequence[str], round_number: int, heldout: bool = False) -> str:
        samples = [self._samples.get(i) for i in pair]
        _, call = rank_audio.call(
            samples,
            round=round_number,
            seed=stable_seed(self.run, round_number, *pair),
            run=self.run,
            heldout=heldout,
            asked_of=self.config.rater.source if self.config.rater is not None else HUMAN,
        )
        return call.id

    def _collect(self, call_ids: list[str], number: int) -> None:
        """Make sure every call has this rater's answer: a simulated rater answers at once, a
        person in the ranking app is waited for."""
        if self.config.labels_from:
            return
        self._client.flush()
        while True:
            answered = set(self._answers(call_ids))
            waiting = [call_id for call_id in call_ids if call_id not in answered]
            if not waiting:
                return
            if self._rater is not None:
                self._rater.answer_pending(self._client, waiting)
                continue
            self.say(
                "waiting",
                number,
                f"round {number}: waiting for {len(waiting)} of {len(call_ids)} rankings "
                "in the ranking app (voicejudge rank --set "
                f"{shlex.quote(self.config.sample_set)} --run {shlex.quote(self.run)})",
            )
            time.sleep(self.poll_s)

    def _answers(self, call_ids: Sequence[str]) -> dict[str, RecordedRanking]:
        """The answer this run counts for each call: the simulated rater's, or the first one a
        person gave."""
        wanted = set(call_ids)
        found: dict[str, RecordedRanking] = {}
        for recorded in read_rankings(self._client):
            if recorded.call_id not in wanted or recorded.call_id in found:
                continue
            if self._counts(recorded):
                found[recorded.call_id] = recorded
        return found

    def _counts(self, recorded: RecordedRanking) -> bool:
        if self.config.rater is not None:
            return recorded.feedback.source == self.config.rater.source
        return recorded.feedback.source == HUMAN

    def _train_comparisons(self, through_round: int) -> list[Comparison]:
        return self._comparisons(
            call_id
            for call_id, output in self._calls(self._label_run())
            if not output.get("heldout") and 1 <= (output.get("round") or 0) <= through_round
        )

    def _heldout_rows(self) -> list[HeldOutPair]:
        comparisons = self._comparisons(
            call_id for call_id, output in self._calls(self._label_run()) if output.get("heldout")
        )
        truth = self._rater.true_choice if self._rater is not None else None
        return heldout_pairs(comparisons, truth)

    def _comparisons(self, call_ids: Iterable[str]) -> list[Comparison]:
        """The pairs this run's answers to these calls imply, in call order."""
        calls = list(call_ids)
        answers = self._answers(calls)
        return [
            comparison
            for call_id in calls
            if call_id in answers
            for comparison in comparisons_from(answers[call_id].feedback, call_id)
        ]

    def _feature(self, sample_id: str) -> Features:
        if sample_id not in self._features:
            cache = FeatureCache(load_settings().feature_cache)
            self._features[sample_id] = cache.features(self._samples.get(sample_id).clip())
        return self._features[sample_id]


def finished_rounds(client: WeaveClient, run: str) -> dict[int, RoundResult]:
    """The rounds of `run` that completed, by number (the latest result of each)."""
    found: dict[int, RoundResult] = {}
    for call in step_calls(client, "round", run=run):
        output = call.output
        if call.exception is None and isinstance(output, dict) and output.get("run") == run:
            found[int(output["round"])] = RoundResult.model_validate(plain_record(output))
    return found


def check_run(config: LoopConfig, rounds: int, samples: SampleSet | None = None) -> SampleSet:
    """Everything that can be wrong with a run before it writes anything: the set and every
    clip in it, the held-out size, the models and whether there are pairs enough to ask."""
    if rounds < 1:
        raise LoopError("Run at least one round.")
    samples = samples or load_sample_set(config.sample_set)
    for sample in samples:
        sample.clip()
    if len(samples) < config.heldout + 2:
        raise LoopError(
            f"The set has {len(samples)} takes: too few to keep {config.heldout} for evaluation "
            "and still rank pairs; lower --heldout."
        )
    for model in (config.judge_model, config.learner_model, config.analyzer_model):
        check_model(model)
    pool = len(samples) - config.heldout
    available = pool * (pool - 1) // 2
    wanted = config.pairs_per_round * (rounds - config.start_round + 1)
    if not config.labels_from and wanted > available:
        raise LoopError(
            f"{rounds} rounds of {config.pairs_per_round} pairs need {wanted} comparisons, but "
            f"the {pool} ranking takes make only {available} pairs; use fewer rounds or pairs "
            "per round, or a larger set."
        )
    return samples


def prepare_run(
    config: LoopConfig, client: WeaveClient, samples: SampleSet
) -> tuple[str, JudgePrompt]:
    """The run's name and the prompt it starts from (published, so it has a ref)."""
    return config.run_id(samples.ids), _start_prompt(config, client)


def _start_prompt(config: LoopConfig, client: WeaveClient) -> JudgePrompt:
    """The brief's starting prompt; for a replay from round R, the prompt its source had after
    round R-1."""
    if not config.labels_from or config.start_round == 1:
        return publish_judge_prompt(config.starting_prompt)
    before = config.start_round - 1
    for source in (config.prompts_from, config.labels_from):
        if source is None:
            continue
        done = finished_rounds(client, source)
        if before in done and done[before].prompt_ref:
            return load_judge_prompt(done[before].prompt_ref)
    raise LoopError(
        f"Run {config.prompts_from or config.labels_from} has no finished round {before}."
    )


def run_rounds(
    config: LoopConfig,
    rounds: int,
    *,
    client: WeaveClient,
    progress: Progress | None = None,
    on_round: Callable[[RoundResult], None] | None = None,
    samples: SampleSet | None = None,
    poll_s: float = 2.0,
) -> RunResult:
    """Run (or continue) rounds 1..`rounds` of the run `config` defines; with a person as the
    rater, the store is checked for their answers every `poll_s` seconds."""
    samples = check_run(config, rounds, samples)
    run, prompt = prepare_run(config, client, samples)
    loop = AlignmentLoop(
        run=run,
        config=config,
        learner=learner_for(config),
        analyzer=JudgePromptAnalyzer(model=config.analyzer_model),
        poll_s=poll_s,
    )
    loop.attach(samples, client, progress, last_round=rounds)
    done = finished_rounds(client, run)
    results: list[RoundResult] = []
    first = 0 if config.start_round == 1 else config.start_round
    loop.say(*_opening(config, run, done, first, rounds))
    for number in range(first, rounds + 1):
        if number in done:
            result = done[number]
            loop.say("round_done", number, f"round {number}: already done ({result.labels} labels)")
        else:
            # marked on this call only (not its children), so the run is found by what it is
            marked = {"display_name": None, "attributes": step_attributes("round", run)}
            result = loop.run_round(number, prompt, __weave=marked)
            loop.say(
                "round_finished",
                number,
                f"round {number}: agreement {result.agreement:.3f} on {result.heldout_pairs} "
                f"held-out pairs ({result.labels} labels)",
            )
        results.append(result)
        if on_round is not None:
            on_round(result)
        if result.prompt_ref is not None:
            prompt = load_judge_prompt(result.prompt_ref)  # carries its ref: the next parent
    return RunResult(
        run=run,
        rater=config.rater_name,
        rounds=results,
        store=store_location(client),
        ceiling=None if config.rater is None else round(1 - config.rater.flip_rate, 4),
    )


def _opening(
    config: LoopConfig, run: str, done: dict[int, RoundResult], first: int, last: int
) -> tuple[RunStep, int, str]:
    """What a command does with a run: start it, continue it at the first missing round, or
    replay another run's rankings."""
    if config.labels_from:
        return (
            "replaying",
            first,
            f"replaying the rankings of run {config.labels_from} as run {run}: "
            f"{_span(first, last)}",
        )
    missing = [n for n in range(first, last + 1) if n not in done]
    if not done:
        return "started", first, f"starting run {run}: {_span(first, last)}"
    if not missing:
        return "continued", last, f"run {run} already has {_span(first, last)}"
    at = missing[0]
    finished = "nothing" if at == first else _span(first, at - 1)
    return "continued", at, f"continuing run {run} at round {at} ({finished} done)"


def _span(first: int, last: int) -> str:
    return f"round {first}" if first == last else f"rounds {first}-{last}"


def store_location(client: WeaveClient) -> str:
    """Where the traces are: the store file, or the hosted project."""
    path = getattr(client.server, "path", None)
    return str(path) if path is not None else f"{client.entity}/{client.project}"


def plain_record(value: Any) -> Any:
    """A raw store record without weave's type keys, for pydantic."""
    if isinstance(value, dict):
        return {k: plain_record(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list):
        return [plain_record(v) for v in value]
    return value
