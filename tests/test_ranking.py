"""Rankings as Weave human annotations on `rank_audio` calls, read back as comparisons."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import weave
from weave.trace.weave_client import WeaveClient

from voicejudge import LocalTraceServer
from voicejudge.audio.sample_set import load_sample_set
from voicejudge.labels.feedback import RankingError, RankingFeedback, rater_name
from voicejudge.labels.notebook import NOTEBOOK_ANNOTATION_TYPE, NOTEBOOK_SCORER_TYPE
from voicejudge.labels.ranking import (
    RANKING_FEEDBACK_TYPE,
    pending_calls,
    rank_audio,
    read_comparisons,
    read_rankings,
    submit_ranking,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def voices():
    return load_sample_set(ROOT / "assets" / "voices")


def _ask(voices, *numbers: int, seed: int = 1) -> str:
    _, call = rank_audio.call([voices.get(f"voice-{n:03d}") for n in numbers], round=1, seed=seed)
    return call.id


def _reopened(client: WeaveClient) -> WeaveClient:
    client.flush()
    return WeaveClient(
        client.entity,
        client.project,
        LocalTraceServer(client.server.path),
        ensure_project_exists=False,
    )


def test_rank_audio_records_the_presentation(client, voices) -> None:
    request, call = rank_audio.call(
        [voices.get("voice-001"), voices.get("voice-002"), voices.get("voice-003")], round=2, seed=7
    )
    assert sorted(request.presented_order) == ["voice-001", "voice-002", "voice-003"]
    assert list(request.labels) == ["A", "B", "C"]
    assert [request.labels[label] for label in "ABC"] == request.presented_order
    client.flush()
    stored = client.get_call(call.id)
    assert [s["id"] for s in stored.inputs["samples"]] == ["voice-001", "voice-002", "voice-003"]
    assert stored.inputs["samples"][0]["audio"].format == "wav"
    for bad in ([voices.get("voice-001")], [voices.get("voice-001")] * 2):
        with pytest.raises(RankingError):
            rank_audio(bad)


def test_submitted_rankings_read_back_from_another_client(client, voices) -> None:
    pair, triple = _ask(voices, 1, 2), _ask(voices, 3, 4, 5)
    submit_ranking(
        pair,
        RankingFeedback(
            ranking=["voice-002", "voice-001"], rater="ann", note="rougher", played=["voice-001"]
        ),
    )
    submit_ranking(
        triple,
        RankingFeedback(
            ranking=["voice-005", "voice-003", "voice-004"], rater="ann", elapsed_s=12.5
        ),
    )
    reader = _reopened(client)
    recorded = {r.call_id: r.feedback for r in read_rankings(reader)}
    assert recorded[pair].ranking == ["voice-002", "voice-001"]
    assert recorded[pair].note == "rougher" and recorded[pair].played == ["voice-001"]
    assert recorded[triple].ranking == ["voice-005", "voice-003", "voice-004"]
    assert recorded[triple].rater == "ann" and recorded[triple].source == "human"
    pairs = {(c.preferred_id, c.rejected_id) for c in read_comparisons(reader)}
    assert pairs == {
        ("voice-002", "voice-001"),
        ("voice-005", "voice-003"),
        ("voice-005", "voice-004"),
        ("voice-003", "voice-004"),
    }
    feedback = list(reader.get_call(pair).feedback)
    assert [f.feedback_type for f in feedback] == [RANKING_FEEDBACK_TYPE]
    spec = reader.get(weave.ref(feedback[0].annotation_ref))
    assert spec.name == "voicejudge.ranking" and "ranking" in spec.field_schema["properties"]


def test_one_current_answer_per_rater_and_a_replaced_one_stays_readable(client, voices) -> None:
    call_id = _ask(voices, 6, 7)
    first = submit_ranking(
        call_id, RankingFeedback(ranking=["voice-006", "voice-007"], rater="ann")
    )
    again = submit_ranking(
        call_id, RankingFeedback(ranking=["voice-006", "voice-007"], rater="ann")
    )
    assert again == first, "the same answer twice stores nothing new"
    second = submit_ranking(
        call_id, RankingFeedback(ranking=["voice-007", "voice-006"], rater="ann")
    )
    submit_ranking(call_id, RankingFeedback(ranking=["voice-006", "voice-007"], rater="bob"))
    reader = _reopened(client)
    rankings = read_rankings(reader)
    by_rater = {r.feedback.rater: r.feedback.ranking for r in rankings if r.call_id == call_id}
    assert by_rater == {"ann": ["voice-007", "voice-006"], "bob": ["voice-006", "voice-007"]}
    history = {r.feedback_id: r.feedback for r in read_rankings(reader, include_replaced=True)}
    assert history[first].ranking == ["voice-006", "voice-007"] and history[first].rater == "ann"
    assert history[second].replaces == first
    assert len(client.get_call(call_id).feedback) == 3


def test_pending_calls_per_rater(client, voices) -> None:
    first, second = _ask(voices, 8, 9), _ask(voices, 10, 11)
    submit_ranking(first, RankingFeedback(ranking=["voice-008", "voice-009"], rater="ann"))
    assert pending_calls(client, rater="ann") == [second]
    assert pending_calls(client, rater="bob") == [first, second]
    assert pending_calls(client) == [second]


def test_a_comparison_takes_answers_only_from_whom_it_was_asked_of(client, voices) -> None:
    pair = [voices.get("voice-020"), voices.get("voice-021")]
    ids = ["voice-021", "voice-020"]
    _, of_bob = rank_audio.call(pair, asked_of="bob", study="voices")
    _, of_studio = rank_audio.call(pair, run="r1", heldout=True, asked_of="simulated:studio")
    _, of_any_person = rank_audio.call(pair, run="r2", round=1, asked_of="human")
    client.flush()
    refused = re.escape("study voices (asked of bob): it takes only bob's answer")
    with pytest.raises(RankingError, match=refused):
        submit_ranking(of_bob.id, RankingFeedback(ranking=ids, rater="ann"))
    refused = re.escape("run r1 (held-out evaluation): it takes only simulated:studio's")
    with pytest.raises(RankingError, match=refused):
        submit_ranking(of_studio.id, RankingFeedback(ranking=ids, rater="ann"))
    with pytest.raises(RankingError, match="only a person's answer, not one from studio"):
        submit_ranking(
            of_any_person.id,
            RankingFeedback(ranking=ids, rater="studio", source="simulated:studio"),
        )
    assert read_rankings(client) == [], "a refused answer stores nothing"
    submit_ranking(of_bob.id, RankingFeedback(ranking=ids, rater="bob"))
    submit_ranking(
        of_studio.id, RankingFeedback(ranking=ids, rater="studio", source="simulated:studio")
    )
    submit_ranking(of_any_person.id, RankingFeedback(ranking=ids, rater="ann"))
    assert {r.call_id: r.feedback.rater for r in read_rankings(client)} == {
        of_bob.id: "bob",
        of_studio.id: "studio",
        of_any_person.id: "ann",
    }


def test_pending_calls_of_a_source_are_those_it_may_answer(client, voices) -> None:
    pair = [voices.get("voice-022"), voices.get("voice-023")]
    _, of_bob = rank_audio.call(pair, asked_of="bob")
    _, of_studio = rank_audio.call(pair, run="r1", asked_of="simulated:studio")
    _, open_one = rank_audio.call(pair)
    client.flush()
    studio = pending_calls(client, "studio", source="simulated:studio")
    assert studio == [of_studio.id, open_one.id]
    assert pending_calls(client, "bob", source="human") == [of_bob.id, open_one.id]


@pytest.mark.parametrize("name", ["simulated:bright", " Simulated:me"])
def test_simulated_names_are_not_person_names(name: str) -> None:
    with pytest.raises(RankingError, match="kept for simulated raters"):
        rater_name(name)


def test_bad_submissions_are_clear_errors(client, voices) -> None:
    call_id = _ask(voices, 12, 13)
    with pytest.raises(RankingError, match="exactly once"):
        submit_ranking(call_id, RankingFeedback(ranking=["voice-012", "voice-999"], rater="ann"))
    with pytest.raises(RankingError, match="No comparison 'nope'"):
        submit_ranking("nope", RankingFeedback(ranking=["a", "b"], rater="ann"))
    assert read_rankings(client) == []


def test_ties_imply_no_comparisons(client, voices) -> None:
    call_id = _ask(voices, 14, 15)
    submit_ranking(
        call_id, RankingFeedback(ranking=["voice-014", "voice-015"], tie=True, rater="ann")
    )
    assert len(read_rankings(client)) == 1 and read_comparisons(client) == []


def test_labels_from_the_voice_judge_notebook_are_read(client) -> None:
    @weave.op(name="rank_audio")
    def notebook_rank_audio(sample_1: dict, sample_2: dict) -> None:
        return None

    one = {"voice_instructions_id": "vi-1", "voice_instructions": "gruff"}
    two = {"voice_instructions_id": "vi-2", "voice_instructions": "smooth"}
    _, annotated = notebook_rank_audio.call(one, two)
    _, scored = notebook_rank_audio.call(two, one)
    spec = weave.publish(
        weave.AnnotationSpec(name="AudioRanker", field_schema={"type": "object"}),
        name="AudioRanker",
    )
    annotated.feedback.add(
        NOTEBOOK_ANNOTATION_TYPE,
        {
            "value": {
                "ranking_session_id": "s",
                "target_call_id": annotated.id,
                "ranked_samples": [
                    {"rank": 2, "id": "vi-1", "original_input_order": 0},
                    {"rank": 1, "id": "vi-2", "original_input_order": 1},
                ],
            }
        },
        creator="morgan",
        annotation_ref=spec.uri(),
    )
    client.flush()
    client.server.feedback_create(
        {
            "project_id": client.project_id,
            "weave_ref": f"weave:///{client.project_id}/call/{scored.id}",
            "feedback_type": NOTEBOOK_SCORER_TYPE,
            "payload": {
                "output": {
                    "preferred_sample_id": "vi-1",
                    "sample_one_preferred": False,
                    "sample_two_preferred": True,
                }
            },
            "runnable_ref": "weave:///x/y/op/BinaryVoiceRank:abc",
        }
    )
    recorded = {r.call_id: r.feedback for r in read_rankings(client)}
    assert recorded[annotated.id].ranking == ["vi-2", "vi-1"]
    assert recorded[annotated.id].presented_order == ["vi-1", "vi-2"]
    assert recorded[annotated.id].rater == "morgan"
    assert recorded[annotated.id].source == "import:notebook-annotation"
    assert recorded[scored.id].ranking == ["vi-1", "vi-2"]
    assert recorded[scored.id].source == "import:notebook-scorer"
