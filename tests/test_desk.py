"""The ranking desk with a judge: active pairs around its criteria, and its agreement."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from voicejudge.app.desk import RankingDesk
from voicejudge.audio import extract_features
from voicejudge.audio.sample_set import SampleSet, load_sample_set
from voicejudge.judging.judge import SpeechJudge
from voicejudge.labels.feedback import RankingError
from voicejudge.labels.pairs import information
from voicejudge.labels.ranking import comparison_request
from voicejudge.learning.comparison import Comparison
from voicejudge.learning.preference_fit import fit_rubric
from voicejudge.prompting.judge_prompt import seed_prompt

ROOT = Path(__file__).resolve().parents[1]


def sample_ids(client, assignment) -> dict[str, str]:
    """Label -> sample id, read from the store: the assignment itself never says."""
    return comparison_request(client, assignment.call_id).labels


def test_a_judge_picks_pairs_and_reports_agreement(client) -> None:
    voices = load_sample_set(ROOT / "assets" / "voices")
    subset = SampleSet(name="voices", samples=voices.samples[:8])
    features = {s.id: extract_features(s.clip()) for s in subset.samples}
    judge = SpeechJudge(prompt=seed_prompt())
    desk = RankingDesk(subset, client=client, judge=judge)
    answered: list[Comparison] = []
    for turn in range(4):
        assignment = desk.next_assignment("ann")
        assert assignment is not None and len(assignment.takes) == 2
        a, b = sample_ids(client, assignment).values()
        asked = {frozenset((c.preferred_id, c.rejected_id)) for c in answered}
        fresh = [p for p in itertools.combinations(subset.ids, 2) if frozenset(p) not in asked]
        fit = fit_rubric(answered, features, judge.prompt.criteria)
        value = dict(zip(map(frozenset, fresh), information(fit, features, fresh), strict=True))
        assert value[frozenset((a, b))] == pytest.approx(max(value.values())), (
            f"turn {turn}: the judge's fit has a more informative pair than {a} v {b}"
        )
        verdict = judge.compare(subset.get(a), subset.get(b))
        # Answer like the judge on even turns and against it on odd ones.
        winner = verdict.winner or a
        loser = b if winner == a else a
        if turn % 2:
            winner, loser = loser, winner
        labels = {sample: label for label, sample in sample_ids(client, assignment).items()}
        desk.submit("ann", assignment.call_id, [labels[winner], labels[loser]])
        answered.append(Comparison(preferred_id=winner, rejected_id=loser, rater="ann"))
    progress = desk.progress("ann")
    assert progress.total == 4
    assert progress.judged_pairs == 4, "the offline judge decides every pair in both orders"
    assert progress.judge_agreement == 0.5
    assert desk.progress("bob").total == 0


def test_every_pair_once_then_nothing_left(client) -> None:
    voices = load_sample_set(ROOT / "assets" / "voices")
    trio = SampleSet(name="trio", samples=voices.samples[:3])
    desk = RankingDesk(trio, client=client)
    seen = []
    while (assignment := desk.next_assignment("ann")) is not None:
        ids = sorted(sample_ids(client, assignment).values())
        seen.append(tuple(ids))
        desk.submit("ann", assignment.call_id, ["A", "B"])
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 3


def test_concurrent_double_submit_stores_one_answer(client) -> None:
    import threading

    voices = load_sample_set(ROOT / "assets" / "voices")
    desk = RankingDesk(SampleSet(name="voices", samples=voices.samples[:4]), client=client)
    assignment = desk.next_assignment("ann")
    threads = [
        threading.Thread(target=desk.submit, args=("ann", assignment.call_id, ["B", "A"]))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(client.get_call(assignment.call_id).feedback) == 1


def test_skipping_moves_on_to_another_pair(client) -> None:
    voices = load_sample_set(ROOT / "assets" / "voices")
    desk = RankingDesk(SampleSet(name="voices", samples=voices.samples[:5]), client=client)
    first = desk.next_assignment("ann")
    desk.skip("ann", first.call_id)
    second = desk.next_assignment("ann")
    assert set(sample_ids(client, second).values()) != set(sample_ids(client, first).values())


def test_rankings_of_another_set_and_short_orders(client) -> None:
    from voicejudge.labels.feedback import RankingFeedback
    from voicejudge.labels.ranking import rank_audio, submit_ranking

    voices = load_sample_set(ROOT / "assets" / "voices")
    _, other = rank_audio.call([voices.get("voice-030"), voices.get("voice-031")])
    client.flush()
    submit_ranking(other.id, RankingFeedback(ranking=["voice-031", "voice-030"], rater="ann"))
    subset = SampleSet(name="voices", samples=voices.samples[:4])
    desk = RankingDesk(subset, client=client, judge=SpeechJudge(prompt=seed_prompt()))
    assignment = desk.next_assignment("ann")
    assert set(sample_ids(client, assignment).values()) <= set(subset.ids)
    assert desk.progress("ann").total == 0, "rankings of other sets are not this set's"
    with pytest.raises(RankingError, match="exactly once"):
        desk.submit("ann", assignment.call_id, ["A"])


def test_a_runs_comparisons_are_served_only_on_a_desk_opened_on_that_run(client) -> None:
    from voicejudge.labels.ranking import rank_audio

    voices = load_sample_set(ROOT / "assets" / "voices")
    subset = SampleSet(name="voices", samples=voices.samples[:6])
    pair = [subset.get("voice-001"), subset.get("voice-002")]
    _, heldout = rank_audio.call(pair, round=0, run="r1", heldout=True, asked_of="human")
    client.flush()
    own_study = RankingDesk(subset, client=client)
    first = own_study.next_assignment("ann")
    assert first.call_id != heldout.id and first.run is None
    assert first.belongs_to == "study voices (asked of ann)"
    with pytest.raises(RankingError, match=re.escape("to run r1 (held-out evaluation), but")):
        own_study.submit("ann", heldout.id, ["A", "B"])

    on_the_run = RankingDesk(subset, client=client, run="r1")
    served = on_the_run.next_assignment("ann")
    assert (served.call_id, served.belongs_to) == (heldout.id, "run r1 (held-out evaluation)")
    with pytest.raises(RankingError, match=re.escape("to study voices (asked of ann), but")):
        on_the_run.submit("ann", first.call_id, ["A", "B"])
    on_the_run.submit("ann", heldout.id, ["A", "B"])
    assert on_the_run.next_assignment("ann") is None, "a run's desk asks nothing of its own"
    assert len(client.get_call(heldout.id).feedback) == 1


def test_one_persons_comparison_is_not_served_to_another(client) -> None:
    voices = load_sample_set(ROOT / "assets" / "voices")
    desk = RankingDesk(SampleSet(name="voices", samples=voices.samples[:6]), client=client)
    anns = desk.next_assignment("ann")
    bobs = desk.next_assignment("bob")
    assert bobs.call_id != anns.call_id and bobs.belongs_to == "study voices (asked of bob)"
    with pytest.raises(RankingError, match="takes only ann's answer, not one from bob"):
        desk.submit("bob", anns.call_id, ["A", "B"])
    with pytest.raises(RankingError, match="kept for simulated raters"):
        desk.next_assignment("simulated:bright")
    assert len(client.get_call(anns.call_id).feedback) == 0


def test_with_the_play_check_every_take_must_have_been_played(client) -> None:
    voices = load_sample_set(ROOT / "assets" / "voices")
    desk = RankingDesk(SampleSet(name="voices", samples=voices.samples[:4]), client=client)
    assignment = desk.next_assignment("ann")
    with pytest.raises(RankingError, match="not played yet: B"):
        desk.submit("ann", assignment.call_id, ["B", "A"], played=["A"], require_play=True)
    assert len(client.get_call(assignment.call_id).feedback) == 0
    desk.submit("ann", assignment.call_id, ["B", "A"], played=["A", "B"], require_play=True)
    assert len(client.get_call(assignment.call_id).feedback) == 1


@pytest.mark.parametrize("with_judge", [False, True], ids=["balanced", "active"])
def test_the_third_take_of_a_page_is_chosen_like_the_pair_not_by_position(
    client, with_judge: bool
) -> None:
    voices = load_sample_set(ROOT / "assets" / "voices")
    subset = SampleSet(name="eight", samples=voices.samples[:8])
    judge = SpeechJudge(prompt=seed_prompt()) if with_judge else None
    desk = RankingDesk(subset, client=client, takes=3, judge=judge)
    shown: list[str] = []
    by_position = 0
    for _ in range(8):
        assignment = desk.next_assignment("ann")
        assert assignment is not None and len(assignment.takes) == 3
        pair_and_extra = comparison_request(client, assignment.call_id).sample_ids
        first_free = next(i for i in subset.ids if i not in pair_and_extra[:2])
        by_position += pair_and_extra[2] == first_free
        shown += pair_and_extra
        desk.submit("ann", assignment.call_id, ["A", "B", "C"])
    assert by_position < 8, "every third take was the first free one of the set"
    if not with_judge:
        counts = [shown.count(i) for i in subset.ids]
        assert max(counts) - min(counts) <= 2, f"balanced pages spread the takes: {counts}"
