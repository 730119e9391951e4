"""Human rankings: the `rank_audio` op, answers written as Weave human annotations, and the
pairwise comparisons derived from them.

A comparison asked of a person is a traced `rank_audio` call; the answer is a `RankingFeedback`
stored as `wandb.annotation.voicejudge.ranking` feedback on that call, against a published
annotation spec, so hosted Weave shows it in its annotation column. Each call records whom it
is asked of (a person, any person, a simulated rater) and the run or study it belongs to; an
answer from anyone else is refused. `Comparison`s are derived from the feedback, never stored
twice. Labels written by the original voice-judge notebook are read too.
"""

from __future__ import annotations

import random
from typing import Any

import weave
from pydantic import (
    BaseModel,
    Field,
    ValidationError,
)
from weave.trace.weave_client import WeaveClient

from voicejudge.audio.sample_set import VoiceSample
from voicejudge.labels.feedback import (
    LABELS,
    PERSON_SOURCE,
    SIMULATED_PREFIX,
    STORED,
    RankingError,
    RankingFeedback,
    comparisons_from,
)
from voicejudge.labels.notebook import (
    NOTEBOOK_ANNOTATION_TYPE,
    NOTEBOOK_SCORER_TYPE,
    notebook_ranking,
)
from voicejudge.learning.comparison import Comparison
from voicejudge.tracking.gateway import (
    StoredFeedback,
    add_feedback,
    feedback_rows,
    op_calls,
    plain_record,
    read_call,
)
from voicejudge.tracking.refs import call_uri, op_name_of

RANKING_SPEC = "voicejudge.ranking"
RANKING_FEEDBACK_TYPE = f"wandb.annotation.{RANKING_SPEC}"


class ComparisonRequest(BaseModel):
    """What a `rank_audio` call asks: these takes, in this order, under these labels."""

    sample_ids: list[str]
    presented_order: list[str]
    labels: dict[str, str] = Field(description="label -> sample id")
    round: int | None = None
    run: str | None = Field(default=None, description="the alignment run that asked it")
    heldout: bool = Field(default=False, description="an evaluation label, never learned from")
    asked_of: str | None = Field(
        default=None,
        description="whose answer it takes: a person's name, 'human' (any person) or "
        "'simulated:<profile>'; None: anyone's",
    )
    study: str | None = Field(
        default=None, description="the sample set a person's own comparison was asked in"
    )

    @property
    def belongs_to(self) -> str:
        """The run or study this comparison is part of, in words."""
        if self.run is not None:
            if self.heldout:
                return f"run {self.run} (held-out evaluation)"
            return f"run {self.run}" + (f" (round {self.round})" if self.round is not None else "")
        if self.study is not None:
            return f"study {self.study}" + (f" (asked of {self.asked_of})" if self.asked_of else "")
        return "no run or study (an open comparison)"

    def answerable_by(self, rater: str | None, source: str) -> bool:
        """Whether an answer by `rater` from `source` may be stored on this comparison: a
        simulated rater's comparison takes only its answers, a person's only theirs."""
        if self.asked_of is None:
            return True
        if self.asked_of.startswith(SIMULATED_PREFIX) or self.asked_of == PERSON_SOURCE:
            return source == self.asked_of
        return source == PERSON_SOURCE and rater == self.asked_of


class RecordedRanking(BaseModel):
    """A ranking read back from the store, with the call it answers."""

    call_id: str
    feedback_id: str
    feedback: RankingFeedback

    def comparisons(self) -> list[Comparison]:
        """The pairs this ranking implies."""
        return comparisons_from(self.feedback, self.call_id)


@weave.op(
    name="rank_audio",
    postprocess_inputs=lambda inputs: _trace_samples(inputs),
    # traced as plain data: weave walks every attribute of a pydantic object, ~10 ms a call
    postprocess_output=lambda request: _trace_request(request),
)
def rank_audio(
    samples: list[VoiceSample],
    round: int | None = None,
    seed: int | None = None,
    run: str | None = None,
    heldout: bool = False,
    asked_of: str | None = None,
    study: str | None = None,
) -> ComparisonRequest:
    """Ask for a ranking of 2-4 takes, of whom `asked_of` names; the call is what the answer is
    attached to."""
    ids = [sample.id for sample in samples]
    if not 2 <= len(ids) <= len(LABELS) or len(set(ids)) != len(ids):
        raise RankingError(f"A comparison needs 2 to {len(LABELS)} different takes; got {ids}.")
    order = list(ids)
    random.Random(seed).shuffle(order)
    return ComparisonRequest(
        sample_ids=ids,
        presented_order=order,
        labels=dict(zip(LABELS, order, strict=False)),
        round=round,
        run=run,
        heldout=heldout,
        asked_of=asked_of,
        study=study,
    )


def publish_ranking_spec() -> Any:
    """Publish (or find, if unchanged) the annotation spec rankings are written against."""
    spec = weave.AnnotationSpec(
        name=RANKING_SPEC,
        description="A ranking of 2-4 voice takes, best first, with the rater and a note.",
        field_schema=RankingFeedback,
    )
    return weave.publish(spec, name=RANKING_SPEC)


_spec_refs: dict[tuple[int, str], str] = {}


def _spec_ref(client: WeaveClient) -> str:
    """The spec's ref for this client's project, published once per process."""
    key = (id(client.server), client.project_id)
    if key not in _spec_refs:
        _spec_refs[key] = publish_ranking_spec().uri()
    return _spec_refs[key]


def submit_ranking(
    call_id: str,
    feedback: RankingFeedback,
    client: WeaveClient | None = None,
    asked: ComparisonRequest | None = None,
) -> str:
    """Attach a ranking to its `rank_audio` call; returns the feedback id.

    A comparison counts one answer per rater: a different answer by the same rater is stored as
    a new version that names the one it replaces, which stays readable; the same answer again
    (a double click) stores nothing and returns the existing id.
    """
    client = client or _client()
    asked = asked or comparison_request(client, call_id)
    if not asked.answerable_by(feedback.rater, feedback.source):
        whose = "a person's" if asked.asked_of == PERSON_SOURCE else f"{asked.asked_of}'s"
        raise RankingError(
            f"Comparison {call_id} belongs to {asked.belongs_to}: it takes only {whose} "
            f"answer, not one from {feedback.rater}."
        )
    if sorted(feedback.ranking) != sorted(asked.sample_ids):
        raise RankingError(
            f"Ranking {feedback.ranking} does not fit comparison {call_id}: it must order "
            f"each of its takes ({', '.join(asked.sample_ids)}) exactly once."
        )
    call_ref = call_uri(client.project_id, call_id)
    earlier = [
        row
        for row in feedback_rows(client, [RANKING_FEEDBACK_TYPE], call_ref)
        if row.value.get("rater") == feedback.rater
    ]
    current = _current(earlier)
    if current is not None:
        if all(current.value.get(key) == getattr(feedback, key) for key in _SAME_ANSWER):
            return current.id
        feedback = feedback.model_copy(update={"replaces": current.id})
    return add_feedback(
        client,
        call_ref,
        RANKING_FEEDBACK_TYPE,
        {"value": feedback.model_dump(mode="json")},
        creator=feedback.rater,
        annotation_ref=_spec_ref(client),
    )


def read_rankings(
    client: WeaveClient | None = None, rater: str | None = None, *, include_replaced: bool = False
) -> list[RecordedRanking]:
    """Every stored ranking, oldest first, including labels the voice-judge notebook wrote;
    answers a rater later replaced are left out unless `include_replaced`."""
    client = client or _client()
    rows = feedback_rows(
        client, [RANKING_FEEDBACK_TYPE, NOTEBOOK_ANNOTATION_TYPE, NOTEBOOK_SCORER_TYPE]
    )
    annotated = {row.weave_ref for row in rows if row.feedback_type != NOTEBOOK_SCORER_TYPE}
    replaced = set() if include_replaced else _replaced_ids(rows)
    recorded = []
    for row in rows:
        if row.feedback_type == NOTEBOOK_SCORER_TYPE and row.weave_ref in annotated:
            continue  # the notebook's annotation of the same call says more
        if row.id in replaced or row.call_id is None:
            continue
        feedback = _as_ranking(client, row)
        if feedback is not None and (rater is None or feedback.rater == rater):
            recorded.append(
                RecordedRanking(call_id=row.call_id, feedback_id=row.id, feedback=feedback)
            )
    return recorded


_SAME_ANSWER = ("ranking", "tie", "note", "source")


def _current(rows: list[StoredFeedback]) -> StoredFeedback | None:
    """The newest of one rater's answers to one call that nothing replaced."""
    replaced = _replaced_ids(rows)
    live = [row for row in rows if row.id not in replaced]
    return live[-1] if live else None


def _replaced_ids(rows: list[StoredFeedback]) -> set[str]:
    """Answers superseded by a later one: named by its `replaces`, or (two answers stored at
    once by the same rater) any older one still current beside a newer one."""
    replaced = {
        str(row.value["replaces"])
        for row in rows
        if row.feedback_type == RANKING_FEEDBACK_TYPE and row.value.get("replaces")
    }
    newest: dict[tuple[str, str], str] = {}
    for row in rows:  # oldest first
        if row.feedback_type != RANKING_FEEDBACK_TYPE or row.id in replaced:
            continue
        key = (row.weave_ref, str(row.value.get("rater")))
        if key in newest:
            replaced.add(newest[key])
        newest[key] = row.id
    return replaced


def read_comparisons(
    client: WeaveClient | None = None, rater: str | None = None
) -> list[Comparison]:
    """The pairwise comparisons every stored ranking implies."""
    return [
        comparison
        for recorded in read_rankings(client, rater)
        for comparison in recorded.comparisons()
    ]


def pending_calls(
    client: WeaveClient | None = None, rater: str | None = None, *, source: str | None = None
) -> list[str]:
    """`rank_audio` calls not yet answered (by `rater`, if given), oldest first; with `source`,
    only those an answer by `rater` from that source may be stored on."""
    client = client or _client()
    client.flush()
    answered = {
        r.call_id for r in read_rankings(client) if rater is None or r.feedback.rater == rater
    }
    return [
        call_id
        for call_id, request in _comparisons(client)
        if call_id not in answered
        and (source is None or (request is not None and request.answerable_by(rater, source)))
    ]


def unanswered_comparisons(
    client: WeaveClient | None = None,
) -> list[tuple[str, ComparisonRequest]]:
    """`rank_audio` calls nobody has answered yet, oldest first, with what each asks."""
    client = client or _client()
    client.flush()
    answered = {r.call_id for r in read_rankings(client)}
    return [
        (call_id, asked)
        for call_id, asked in _comparisons(client)
        if asked is not None and call_id not in answered
    ]


def check_person_run(client: WeaveClient, run: str) -> None:
    """Refuse a run a person cannot answer: unknown here, or asked of a simulated rater."""
    asked = [request for _, request in _comparisons(client) if request and request.run == run]
    if not asked:
        runs = comparison_runs(client)
        raise RankingError(
            f"No run {run!r} has asked comparisons in this store (runs: "
            f"{', '.join(runs[-5:]) or 'none yet'}); start one with voicejudge rounds "
            "--rater human, which names it while it waits."
        )
    if all((r.asked_of or "").startswith(SIMULATED_PREFIX) for r in asked):
        raise RankingError(
            f"Run {run} is answered by a simulated rater ({asked[0].asked_of}); a person ranks "
            "their own study (leave out --run) or a run started with --rater human."
        )


def comparison_runs(client: WeaveClient | None = None) -> list[str]:
    """The alignment runs that asked comparisons in this store, in the order they began."""
    runs = (asked.run for _, asked in _comparisons(client or _client()) if asked is not None)
    return list(dict.fromkeys(run for run in runs if run is not None))


def asked_comparisons(
    client: WeaveClient, run: str | None = None
) -> list[tuple[str, ComparisonRequest]]:
    """Every finished `rank_audio` call voicejudge can read (of `run`, if given), oldest first,
    with what it asks."""
    return [
        (call_id, request)
        for call_id, request in _comparisons(client)
        if request is not None and (run is None or request.run == run)
    ]


def _comparisons(client: WeaveClient) -> list[tuple[str, ComparisonRequest | None]]:
    """Every finished `rank_audio` call with what it asks, oldest first (a call whose output
    this project cannot read, such as the notebook's, with no request)."""
    found = []
    for call in op_calls(client, "rank_audio"):
        if call.exception is None:
            found.append((call.id, _request_in(call.output)))
    return found


def _as_ranking(client: WeaveClient, row: StoredFeedback) -> RankingFeedback | None:
    if row.feedback_type != RANKING_FEEDBACK_TYPE:
        return notebook_ranking(client, row)
    try:
        return RankingFeedback.model_validate(row.value, context=STORED)
    except ValidationError:
        return None  # a label this project cannot interpret is left out, not guessed


def comparison_request(client: WeaveClient, call_id: str) -> ComparisonRequest:
    """What a `rank_audio` call asked; `RankingError` for an unknown or unfinished call."""
    call = read_call(client, call_id)
    if call is None or call.output is None:  # perhaps not written yet by this process
        client.flush()
        call = read_call(client, call_id)
    if call is None:
        raise RankingError(f"No comparison {call_id!r}: it is not a traced call here.")
    if op_name_of(str(call.op_name)) != "rank_audio" or not isinstance(call.output, dict):
        raise RankingError(f"Call {call_id!r} is not a finished rank_audio comparison.")
    request = _request_in(call.output)
    if request is None:
        raise RankingError(f"Call {call_id!r} holds no comparison voicejudge can read.")
    return request


def _request_in(output: Any) -> ComparisonRequest | None:
    if not isinstance(output, dict):
        return None
    try:
        return ComparisonRequest.model_validate(plain_record(output))
    except ValidationError:
        return None


def _trace_request(request: ComparisonRequest | None) -> dict[str, Any] | None:
    return request.model_dump(mode="json") if request is not None else None


def _trace_samples(inputs: dict[str, Any]) -> dict[str, Any]:
    samples = inputs.get("samples") or []
    return {
        **{k: v for k, v in inputs.items() if k != "samples"},
        "samples": [
            {"id": s.id, "instructions": s.instructions, "audio": s.clip().to_weave()}
            for s in samples
        ],
    }


def _client() -> WeaveClient:
    from weave.trace.context.weave_client_context import get_weave_client

    client = get_weave_client()
    if client is None:
        from voicejudge.tracking import init_tracking

        client = init_tracking()
    return client
