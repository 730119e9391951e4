"""The ranking desk with a judge: active pairs around its criteria, and its agreement."""

from __future__ import annotations

from pathlib import Path

from voicejudge.data import SampleSet, load_sample_set
from voicejudge.desk import RankingDesk
from voicejudge.judge import SpeechJudge
from voicejudge.judge_prompt import seed_prompt

ROOT = Path(__file__).resolve().parents[1]


def test_a_judge_picks_pairs_and_reports_agreement(client) -> None:
    voices = load_sample_set(ROOT / "assets" / "voices")
    subset = SampleSet(name="voices", samples=voices.samples[:8])
    judge = SpeechJudge(prompt=seed_prompt())
    desk = RankingDesk(subset, client=client, judge=judge)
    for turn in range(4):
        assignment = desk.next_assignment("ann")
        assert assignment is not None and len(assignment.takes) == 2
        a, b = (take.sample_id for take in assignment.takes)
        verdict = judge.compare(subset.get(a), subset.get(b))
        # Answer like the judge on even turns and against it on odd ones.
        winner = verdict.winner or a
        loser = b if winner == a else a
        if turn % 2:
            winner, loser = loser, winner
        labels = {take.sample_id: take.label for take in assignment.takes}
        desk.submit("ann", assignment.call_id, [labels[winner], labels[loser]])
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
        ids = sorted(take.sample_id for take in assignment.takes)
        seen.append(tuple(ids))
        desk.submit("ann", assignment.call_id, ["A", "B"])
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 3
