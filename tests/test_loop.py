"""Alignment rounds end to end on the bundled voices: resumable, traced, with lineage."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.fake_gemini import reply
from voicejudge.app.desk import RankingDesk
from voicejudge.audio.sample_set import load_sample_set
from voicejudge.labels.ranking import pending_calls, read_rankings
from voicejudge.labels.simulated_raters import load_rater_profile
from voicejudge.loop.alignment import align, replay_config
from voicejudge.loop.lineage import LineageError, comparisons_in, lineage
from voicejudge.loop.results import RunEvent, finished_rounds
from voicejudge.loop.runner import run_rounds
from voicejudge.loop.state import LoopConfig
from voicejudge.tracking.gateway import step_calls

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"heldout": 5, "pairs_per_round": 4, "strategy": "active"}


@pytest.fixture(scope="module")
def voices():
    return load_sample_set(ROOT / "assets" / "voices")


def _config(rater: str | None = "gravel", **changes) -> LoopConfig:
    return LoopConfig(
        sample_set=str(ROOT / "assets" / "voices"),
        rater=load_rater_profile(rater) if rater else None,
        **{**SMALL, **changes},
    )


def _versions(client, name: str) -> int:
    found = client.server.objs_query(
        {"project_id": client.project_id, "filter": {"object_ids": [name]}}
    )
    return len(found.objs)


def _rank_audio_calls(client) -> list:
    client.flush()
    op = f"weave:///{client.project_id}/op/rank_audio:*"
    return list(
        client.server.calls_query_stream(
            {"project_id": client.project_id, "filter": {"op_names": [op]}}
        )
    )


def test_rounds_learn_from_every_label_and_resume_without_asking_again(client, voices) -> None:
    config = _config()
    events: list[RunEvent] = []
    first = run_rounds(config, 2, client=client, samples=voices, progress=events.append)
    assert [r.labels for r in first.rounds] == [0, 4, 8]  # round 0: the brief's prompt
    assert events[0].kind == "started" and {e.run for e in events} == {first.run}
    assert [e.round for e in events if e.kind == "round_finished"] == [0, 1, 2]
    assert all(r.heldout_pairs == 10 and r.agreement_true is not None for r in first.rounds)
    assert all(
        0 <= r.agreement <= 1 and r.ci95[0] <= r.agreement <= r.ci95[1] for r in first.rounds
    )
    calls = _rank_audio_calls(client)
    assert len(calls) == 10 + 8
    events.clear()
    again = run_rounds(config, 3, client=client, samples=voices, progress=events.append)
    assert [r.model_dump() for r in again.rounds[:3]] == [r.model_dump() for r in first.rounds]
    assert (events[0].kind, events[0].round) == ("continued", 3)
    assert [e.round for e in events if e.kind == "round_done"] == [0, 1, 2]
    assert [e.round for e in events if e.kind == "round_finished"] == [3]
    assert again.rounds[3].labels == 12
    assert len(_rank_audio_calls(client)) == 10 + 12
    rankings = read_rankings(client)
    assert len(rankings) == 22 and len({r.call_id for r in rankings}) == 22
    assert _versions(client, "judge-prompt") == 1 + 3
    assert _versions(client, "preference-patterns") == 3
    assert sorted(finished_rounds(client, first.run)) == [0, 1, 2, 3]
    marked = step_calls(client, "round", run=first.run)
    assert [c.attributes["voicejudge"] for c in marked] == [
        {"step": "round", "run": first.run}
    ] * 4, "rounds are found by what the call is marked as, not by its op's name"
    assert all(c.parent_id is None for c in marked), "only the round call itself is marked"


def test_a_round_resumed_mid_way_asks_what_an_uninterrupted_one_would(
    client, voices, monkeypatch: pytest.MonkeyPatch
) -> None:
    import voicejudge.loop.alignment_loop as loop_module

    config = _config(strategy="active")
    run_rounds(config, 1, client=client, samples=voices)
    asked = {"round 2": 0}
    real = loop_module.rank_audio.call

    def crash_after_two(samples, **kwargs):
        if kwargs.get("round") == 2:
            asked["round 2"] += 1
            if asked["round 2"] > 2:
                raise KeyboardInterrupt  # the process dies after asking two of four
        return real(samples, **kwargs)

    monkeypatch.setattr(loop_module.rank_audio, "call", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        run_rounds(config, 2, client=client, samples=voices)
    monkeypatch.undo()
    resumed = run_rounds(config, 2, client=client, samples=voices)
    pairs = {
        frozenset(c.output["sample_ids"])
        for c in client.get_calls(filter={"call_ids": resumed.rounds[2].call_ids})
    }
    from voicejudge import Settings, close_tracking, init_tracking

    close_tracking()
    other = init_tracking(
        project="uninterrupted", backend="local", settings=Settings(home=client_home(client))
    )
    straight = run_rounds(config, 2, client=other, samples=voices)
    straight_pairs = {
        frozenset(c.output["sample_ids"])
        for c in other.get_calls(filter={"call_ids": straight.rounds[2].call_ids})
    }
    assert pairs == straight_pairs and len(pairs) == 4
    assert resumed.rounds[2].agreement == straight.rounds[2].agreement
    close_tracking()


def client_home(client) -> Path:
    return Path(client.server.path).parent


def test_lineage_of_the_final_prompt_lists_every_comparison(client, voices) -> None:
    result = run_rounds(_config(strategy="random"), 2, client=client, samples=voices)
    final = result.rounds[-1]
    tree = lineage(final.prompt_ref, client)
    listed = comparisons_in(tree)
    assert result.rounds[0].call_ids == []  # round 0 asks nothing
    train_calls = set(result.rounds[1].call_ids + result.rounds[2].call_ids)
    assert {c["call_id"] for c in listed} == train_calls
    assert all(c["rater"] == "gravel" and c["source"] == "simulated:gravel" for c in listed)
    versions = [n.label.split(" ")[0] for n in tree.walk() if n.kind == "prompt"]
    assert len(versions) == 3  # round 2, round 1, the seed
    evaluation = [
        c
        for c in client.get_calls(
            filter={"op_names": [f"weave:///{client.project_id}/op/Evaluation.evaluate:*"]}
        )
    ][-1]
    from_evaluation = lineage(evaluation.id, client)
    assert from_evaluation.children[0].ref == final.prompt_ref
    assert {c["call_id"] for c in comparisons_in(from_evaluation)} == train_calls
    rewrites = list(
        client.get_calls(
            filter={"op_names": [f"weave:///{client.project_id}/op/JudgePromptAnalyzer.rewrite:*"]}
        )
    )
    assert lineage(rewrites[-1].id, client).children[0].ref == final.prompt_ref  # its output
    with pytest.raises(LineageError, match="No call"):
        lineage("not-a-call", client)


def test_replay_with_another_analyzer_reaches_the_same_feedback(gemini, client, voices) -> None:
    source = run_rounds(_config(), 2, client=client, samples=voices)
    gemini.default = lambda request: reply(
        {
            "reasoning": "The listener likes low, slow voices.",
            "judge_prompt": "Prefer the lowest, slowest voice.",
            "criteria": [{"feature": "f0_median_hz", "kind": "lower", "weight": 1.0}],
        }
    )
    config, rounds = replay_config(
        client, run=None, from_round=2, analyzer_model="gemini:gemini-test"
    )
    assert rounds == 2 and config.labels_from == source.run
    before = len(_rank_audio_calls(client))
    replayed = run_rounds(config, rounds, client=client, samples=voices)
    assert len(_rank_audio_calls(client)) == before  # nothing asked again
    assert [r.round for r in replayed.rounds] == [2]
    new_prompt = replayed.rounds[0].prompt_ref
    assert new_prompt != source.rounds[2].prompt_ref
    tree = lineage(new_prompt, client)
    assert len(gemini.requests) == 1  # the analyzer; learning and judging stayed acoustic
    same = {c["feedback_id"] for c in comparisons_in(tree)}
    original = {
        c["feedback_id"] for c in comparisons_in(lineage(source.rounds[2].prompt_ref, client))
    }
    assert same == original and same
    parent = next(n for n in tree.walk() if n.kind == "prompt" and n.ref != new_prompt)
    assert parent.ref == source.rounds[1].prompt_ref  # replay starts from round 1's prompt
    again, _ = replay_config(client, run=replayed.run, from_round=2)  # a replay of the replay
    assert again.labels_from == source.run and again.prompts_from == replayed.run
    twice = run_rounds(again, 2, client=client, samples=voices)
    assert len(_rank_audio_calls(client)) == before
    assert {
        c["feedback_id"] for c in comparisons_in(lineage(twice.rounds[0].prompt_ref, client))
    } == original


def test_a_person_answers_in_the_app_while_the_round_waits(client, voices) -> None:
    config = _config(rater=None, heldout=3, pairs_per_round=2, strategy="sequential")
    done: dict = {}

    def rounds() -> None:
        done["result"] = run_rounds(config, 1, client=client, samples=voices, poll_s=0.05)

    worker = threading.Thread(target=rounds)
    worker.start()
    desk = RankingDesk(voices, client=client, run=config.run_id(voices.ids))
    answered = 0
    deadline = time.monotonic() + 60
    while worker.is_alive() and time.monotonic() < deadline:
        if not pending_calls(client, "ann"):
            time.sleep(0.05)
            continue
        assignment = desk.next_assignment("ann")  # the run's comparisons, held-out ones too
        assert assignment is not None
        labels = [take.label for take in assignment.takes]
        desk.submit("ann", assignment.call_id, labels, note="the first one")
        answered += 1
    worker.join(timeout=60)
    result = done["result"]
    assert answered == 3 + 2 and result.rater == "human"
    assert [r.labels for r in result.rounds] == [0, 2]
    assert result.rounds[1].agreement_true is None


def test_killed_in_round_two_the_same_command_ends_with_the_expected_store(tmp_path: Path) -> None:
    home = tmp_path / "crash-home"
    env = {**os.environ, "VOICEJUDGE_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-m",
        "voicejudge.app.cli",
        "rounds",
        "--set",
        str(ROOT / "assets" / "voices"),
        "--rater",
        "bright",
        "--rounds",
        "3",
        "--pairs-per-round",
        "4",
        "--heldout",
        "5",
        "--strategy",
        "random",
    ]
    from voicejudge import Settings, close_tracking, init_tracking

    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, cwd=ROOT)
    deadline = time.monotonic() + 120
    while not (home / "traces.db").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    store = init_tracking(backend="local", settings=Settings(home=home))
    try:
        while process.poll() is None and time.monotonic() < deadline:
            # the store, not the printed text, says when round 2 has started asking
            if any((c.output or {}).get("round") == 2 for c in _rank_audio_calls(store)):
                process.kill()
                break
            time.sleep(0.05)
        process.wait(timeout=60)
        assert process.returncode != 0, "the run finished before it could be killed"
        finished = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
        assert finished.returncode == 0, finished.stderr
        assert "round 1: already done" in finished.stdout
        calls = [c for c in _rank_audio_calls(store) if c.output is not None]
        rankings = read_rankings(store)
        assert len(calls) == 10 + 3 * 4
        assert len(rankings) == len(calls) and {r.call_id for r in rankings} == {
            c.id for c in calls
        }
        assert _versions(store, "judge-prompt") == 1 + 3
        assert _versions(store, "preference-patterns") == 3
        run = LoopConfig(
            sample_set="x", rater=load_rater_profile("bright"), **{**SMALL, "strategy": "random"}
        ).run_id(load_sample_set(ROOT / "assets" / "voices").ids)
        assert sorted(finished_rounds(store, run)) == [0, 1, 2, 3]
    finally:
        close_tracking()


def test_align_logs_an_offline_wandb_run_linked_to_the_traces(
    client, voices, isolated_home
) -> None:
    names = ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_DISABLE_WEAVE", "WANDB_MODE")
    before = {name: os.environ.get(name) for name in names}
    outcome = align(_config(), 2, client=client, job_type="rounds")
    assert {name: os.environ.get(name) for name in names} == before, "wandb's variables put back"
    assert outcome.curve.exists() and outcome.curve.read_bytes()[:4] == b"\x89PNG"
    report = outcome.report.read_text()
    assert outcome.result.run in report and outcome.result.rounds[-1].prompt_ref in report
    run_folder = Path(outcome.wandb_run)
    assert run_folder.is_dir() and run_folder.is_relative_to(isolated_home)
    assert list(run_folder.glob("*.wandb"))
    client.flush()
    linked = {
        c.wb_run_id for c in client.server.calls_query_stream({"project_id": client.project_id})
    }
    run_id = run_folder.name.rsplit("-", 1)[-1]
    assert f"{client.entity}/{client.project}/{run_id}" in linked
    import json

    table = json.loads(outcome.table.read_text())
    assert [r["labels"] for r in table["rounds"]] == [0, 4, 8]
    assert set(table["rounds"][0]) >= {
        "round",
        "labels",
        "agreement",
        "agreement_true",
        "kappa",
        "ci95",
        "position_consistency",
        "prompt_ref",
    }
