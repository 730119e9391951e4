"""`AlignmentLoop`: one run's rounds. Each asks for this round's rankings (reusing the calls the
store has, tagged with the run and round), waits for the answers, learns, rewrites the judge
prompt and evaluates it on the held-out pairs."""

from __future__ import annotations

import itertools
import shlex
import time
from collections.abc import Iterable, Sequence

import weave
from pydantic import PrivateAttr
from weave.trace.weave_client import WeaveClient

from voicejudge.audio.features import FeatureCache, Features
from voicejudge.audio.sample_set import SampleSet
from voicejudge.evaluation.heldout import HeldOutPair, evaluate_judge, heldout_pairs
from voicejudge.judging.judge import SpeechJudge
from voicejudge.labels.feedback import comparisons_from
from voicejudge.labels.pairs import Pair
from voicejudge.labels.ranking import (
    ComparisonRequest,
    RecordedRanking,
    asked_comparisons,
    rank_audio,
    read_rankings,
)
from voicejudge.labels.simulated_raters import SimulatedRater
from voicejudge.learning.comparison import Comparison
from voicejudge.learning.learner import PreferenceLearner
from voicejudge.loop.results import Progress, RoundResult, RunLoop
from voicejudge.loop.state import (
    HUMAN,
    LoopError,
    RoundState,
    choose_pairs,
    learn_round,
    stable_seed,
)
from voicejudge.prompting.judge_prompt import JudgePrompt
from voicejudge.prompting.rewrite import JudgePromptAnalyzer
from voicejudge.settings import load_settings
from voicejudge.tracking import ref_uri


class AlignmentLoop(RunLoop):
    """One alignment run: its config and the learner and analyzer it uses."""

    learner: PreferenceLearner
    analyzer: JudgePromptAnalyzer
    poll_s: float = 2.0

    _pool: SampleSet = PrivateAttr()
    _heldout: SampleSet = PrivateAttr()
    _rater: SimulatedRater | None = PrivateAttr(default=None)
    _features: dict[str, Features] = PrivateAttr(default_factory=dict)

    def attach(
        self,
        samples: SampleSet,
        client: WeaveClient,
        progress: Progress | None = None,
        last_round: int = 0,
    ) -> None:
        """Attach as every loop does, and split the set and seat the simulated rater."""
        super().attach(samples, client, progress, last_round)
        self._pool, self._heldout = samples.split(self.config.heldout, seed=self.config.seed)
        if self.config.rater is not None:
            self._rater = SimulatedRater(self.config.rater, samples)

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

    # --- the comparisons of this run -------------------------------------------------------

    def _label_run(self) -> str:
        return self.config.labels_from or self.run

    def _calls(self, run: str) -> list[tuple[str, ComparisonRequest]]:
        """This run's `rank_audio` calls, oldest first, with what each asked."""
        return asked_comparisons(self._client, run)

    def _ensure_heldout_calls(self) -> list[str]:
        existing = {
            frozenset(asked.sample_ids): call_id
            for call_id, asked in self._calls(self._label_run())
            if asked.heldout
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
            (call_id, asked)
            for call_id, asked in self._calls(self._label_run())
            if not asked.heldout
        ]
        this_round = {
            frozenset(asked.sample_ids): call_id
            for call_id, asked in calls
            if asked.round == number
        }
        if self.config.labels_from:
            if not this_round:
                raise LoopError(
                    f"Run {self.config.labels_from} has no comparisons in round {number}."
                )
            return list(this_round.values())
        earlier = [
            (asked.sample_ids[0], asked.sample_ids[1])
            for _, asked in calls
            if (asked.round or 0) < number
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
            for call_id, asked in self._calls(self._label_run())
            if not asked.heldout and 1 <= (asked.round or 0) <= through_round
        )

    def _heldout_rows(self) -> list[HeldOutPair]:
        comparisons = self._comparisons(
            call_id for call_id, asked in self._calls(self._label_run()) if asked.heldout
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
