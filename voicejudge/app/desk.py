"""The ranking desk: what a rater is asked next, and what happens to their answer.

Everything the ranking app does goes through here, so a script can do the same. A rater is
served only comparisons that are theirs to answer and that nobody has answered: their own
unanswered ones (and open ones of the set) first, then new ones chosen for coverage, or
actively around a judge's criteria when there is one. An alignment run's comparisons (its
held-out set too) are served only by a desk opened on that run.
"""

from __future__ import annotations

import itertools
import threading
import time

from pydantic import BaseModel, Field, ValidationError
from weave.trace.weave_client import WeaveClient

from voicejudge.audio.features import FeatureCache
from voicejudge.audio.sample_set import SampleSet
from voicejudge.errors import validation_problems
from voicejudge.judging.judge import SpeechJudge
from voicejudge.labels.feedback import PERSON_SOURCE, RankingError, RankingFeedback, rater_name
from voicejudge.labels.pairs import Strategy, extra_takes, next_pairs
from voicejudge.labels.ranking import (
    ComparisonRequest,
    RecordedRanking,
    comparison_request,
    rank_audio,
    read_rankings,
    submit_ranking,
    unanswered_comparisons,
)
from voicejudge.learning.preference_fit import fit_rubric
from voicejudge.settings import load_settings


class Take(BaseModel):
    """One clip as a blind listener gets it: a neutral label and the sound, nothing else that
    tells which take it is (its intended delivery only when the desk is asked to show it)."""

    label: str
    audio: bytes = Field(repr=False, description="WAV without the file's name or tags")
    instructions: str | None = None


class Assignment(BaseModel):
    """A comparison handed to a rater, with the run or study it is part of."""

    call_id: str
    takes: list[Take]
    belongs_to: str
    run: str | None = None


class Progress(BaseModel):
    """How far a rater has got, and how often the judge agrees with them."""

    total: int
    judge_agreement: float | None = None
    judged_pairs: int = 0


class RankingDesk:
    """Serves comparisons from one sample set to people and records their answers; with `run`,
    only that alignment run's comparisons (a person's run waits for them)."""

    def __init__(
        self,
        samples: SampleSet,
        *,
        client: WeaveClient,
        judge: SpeechJudge | None = None,
        takes: int = 2,
        seed: int = 0,
        show_instructions: bool = False,
        run: str | None = None,
    ) -> None:
        self.samples = samples
        self.run = run
        self.client = client
        self.judge = judge
        self.takes = takes
        self.seed = seed
        self.show_instructions = show_instructions
        self._audio: dict[str, bytes] = {}
        self._asked: dict[str, ComparisonRequest] = {}
        self._lock = threading.Lock()
        self._submitting: dict[tuple[str, str], threading.Lock] = {}
        self._submitting_lock = threading.Lock()  # never held while reading the store
        self._given: dict[str, set[str]] = {}
        self._given_pairs: dict[str, set[frozenset[str]]] = {}
        self._judged: dict[tuple[str, str], bool] = {}

    def next_assignment(self, rater: str) -> Assignment | None:
        """The oldest unanswered comparison that is this rater's to answer, or a new one (not
        for a run: the run asks its own); None when there is nothing to rank."""
        rater = rater_name(rater)
        with self._lock:
            given = self._given.setdefault(rater, set())
            for call_id, request in unanswered_comparisons(self.client):
                if call_id not in given and self._serves(rater, request):
                    return self._give(rater, call_id, request)
            new = None if self.run is not None else self._new_comparison(rater)
            if new is None:
                return None
            return self._give(rater, *new)

    def _serves(self, rater: str, request: ComparisonRequest) -> bool:
        """A comparison of this set and of this desk's run (or of none), asked of this rater,
        of any person, or of nobody in particular."""
        return (
            request.run == self.run
            and request.answerable_by(rater, PERSON_SOURCE)
            and set(request.sample_ids) <= set(self.samples.ids)
        )

    def _give(self, rater: str, call_id: str, request: ComparisonRequest) -> Assignment:
        self._asked[call_id] = request  # what a call asks never changes
        self._given.setdefault(rater, set()).add(call_id)
        self._given_pairs.setdefault(rater, set()).update(
            frozenset(pair) for pair in itertools.combinations(request.sample_ids, 2)
        )
        return self._assignment(call_id, request)

    def _rankings(self, rater: str) -> list[RecordedRanking]:
        """This rater's rankings of takes in this set (a project may hold other sets)."""
        ids = set(self.samples.ids)
        return [r for r in read_rankings(self.client, rater) if set(r.feedback.ranking) <= ids]

    def submit(
        self,
        rater: str,
        call_id: str,
        order: list[str],
        *,
        tie: bool = False,
        note: str = "",
        played: list[str] | None = None,
        elapsed_s: float | None = None,
        require_play: bool = False,
    ) -> str:
        """Record an answer given in labels (best first); returns the feedback id. An answer
        to another run's or another rater's comparison is refused, and with `require_play`
        one that does not list every take as played."""
        rater = rater_name(rater)
        request = self._request_of(call_id)
        if request is None:
            raise RankingError(f"No comparison {call_id!r} for this sample set.")
        if request.run != self.run:
            opened = f"run {self.run}" if self.run is not None else "no run"
            raise RankingError(
                f"Comparison {call_id} belongs to {request.belongs_to}, but this desk is open "
                f"on {opened}; answer a run's comparisons with voicejudge rank --run RUN."
            )
        unknown = sorted((set(order) | set(played or [])) - set(request.labels))
        if unknown:
            raise RankingError(f"Unknown label(s) {', '.join(unknown)} for this comparison.")
        if sorted(order) != sorted(request.labels):
            raise RankingError(
                f"Order every take of this comparison ({', '.join(request.labels)}) exactly once."
            )
        unplayed = [label for label in request.labels if label not in (played or [])]
        if require_play and unplayed:
            raise RankingError(
                f"Play every take before ranking; not played yet: {', '.join(unplayed)}."
            )
        try:
            feedback = RankingFeedback(
                ranking=[request.labels[label] for label in order],
                tie=tie,
                rater=rater,
                presented_order=request.presented_order,
                played=[request.labels[label] for label in played or []],
                note=note,
                elapsed_s=elapsed_s,
                source=PERSON_SOURCE,
            )
        except ValidationError as exc:
            raise RankingError(
                f"This answer cannot be stored: {validation_problems(exc)}."
            ) from None
        with self._submitting_lock:
            guard = self._submitting.setdefault((rater, call_id), threading.Lock())
        with guard:  # a double click must not store two answers for one rater
            return submit_ranking(call_id, feedback, self.client, asked=request)

    def take_audio(self, call_id: str, label: str) -> bytes:
        """The blind audio of one take of a comparison of this set, by its label."""
        request = self._request_of(call_id)
        if request is None:
            raise RankingError(f"No comparison {call_id!r} for this sample set.")
        if label not in request.labels:
            raise RankingError(f"Unknown label {label!r} for this comparison.")
        with self._lock:
            return self._blind_audio(request.labels[label])

    def skip(self, rater: str, call_id: str) -> None:
        """Leave a comparison unanswered for now; it is offered again in a later session."""
        with self._lock:
            self._given.setdefault(rater_name(rater), set()).add(call_id)

    def progress(self, rater: str) -> Progress:
        """This rater's answers so far, and the judge's agreement with their pairs."""
        rater = rater_name(rater)
        rankings = self._rankings(rater)
        if self.judge is None:
            return Progress(total=len(rankings))
        agree = judged = 0
        for recorded in rankings:
            for pair in recorded.comparisons():
                key = (pair.preferred_id, pair.rejected_id)
                if key not in self._judged:
                    try:
                        verdict = self.judge.compare(
                            self.samples.get(pair.preferred_id),
                            self.samples.get(pair.rejected_id),
                        )
                    except Exception:  # progress must never cost a saved answer its page
                        continue
                    if verdict.winner is None:
                        continue
                    self._judged[key] = verdict.winner == pair.preferred_id
                judged += 1
                agree += self._judged[key]
        return Progress(
            total=len(rankings),
            judge_agreement=agree / judged if judged else None,
            judged_pairs=judged,
        )

    def _new_comparison(self, rater: str) -> tuple[str, ComparisonRequest] | None:
        recorded = self._rankings(rater)
        asked = [pair for r in recorded for pair in itertools.combinations(r.feedback.ranking, 2)]
        asked += [(first, second) for first, second in self._given_pairs.get(rater, set())]
        ids = self.samples.ids
        strategy: Strategy = "balanced"
        fit, features = None, None
        if self.judge is not None:
            cache = FeatureCache(load_settings().feature_cache)
            features = {i: cache.features(self.samples.get(i).clip()) for i in ids}
            comparisons = [c for r in recorded for c in r.comparisons()]
            fit = fit_rubric(comparisons, features, self.judge.prompt.criteria)
            strategy = "active"
        pairs = next_pairs(
            ids, 1, strategy, asked=asked, seed=self.seed + len(asked), fit=fit, features=features
        )
        if not pairs:
            return None
        chosen = [
            *pairs[0],
            *extra_takes(
                pairs[0],
                ids,
                self.takes - 2,
                asked=asked,
                seed=self.seed + len(asked),
                fit=fit,
                features=features,
            ),
        ]
        seed = int(time.time_ns() % 2**31)
        request, call = rank_audio.call(
            [self.samples.get(i) for i in chosen],
            seed=seed,
            asked_of=rater,
            study=self.samples.name,
        )
        self.client.flush()  # stored before it is handed out, so any reader can find it
        return call.id, request

    def _request_of(self, call_id: str) -> ComparisonRequest | None:
        if call_id in self._asked:
            return self._asked[call_id]
        try:
            request = comparison_request(self.client, call_id)
        except RankingError:
            return None
        if not set(request.sample_ids) <= set(self.samples.ids):
            return None
        return request

    def _assignment(self, call_id: str, request: ComparisonRequest) -> Assignment:
        takes = []
        for label, sample_id in request.labels.items():
            sample = self.samples.get(sample_id)
            takes.append(
                Take(
                    label=label,
                    audio=self._blind_audio(sample_id),
                    instructions=sample.instructions if self.show_instructions else None,
                )
            )
        return Assignment(
            call_id=call_id, takes=takes, belongs_to=request.belongs_to, run=request.run
        )

    def _blind_audio(self, sample_id: str) -> bytes:
        if sample_id not in self._audio:
            if len(self._audio) >= _AUDIO_KEPT:
                self._audio.pop(next(iter(self._audio)))
            self._audio[sample_id] = self.samples.get(sample_id).blind_audio()
        return self._audio[sample_id]


_AUDIO_KEPT = 64  # encoded takes kept in memory; a page needs at most four
