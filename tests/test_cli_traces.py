"""`voicejudge traces` and `voicejudge doctor` as a user runs them, against a real store."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import weave
from weave.trace.weave_client import WeaveClient

VOICEJUDGE = shutil.which("voicejudge", path=str(Path(sys.executable).parent))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "160"}
    return subprocess.run([VOICEJUDGE, *args], capture_output=True, text=True, env=env, timeout=120)


def _populate(client: WeaveClient) -> str:
    """Trace a small session; ops are defined here so each fresh store gets them published."""

    @weave.op
    def rank_audio(first: str, second: str) -> list[str]:
        return [second, first]

    @weave.op
    def judge_round(pair: list[str]) -> list[str]:
        return rank_audio(*pair)

    @weave.op
    def broken_loader(path: str) -> None:
        raise ValueError(f"{path} is empty audio")

    _, call = judge_round.call(["take-1", "take-2"])
    call.feedback.add("voicejudge.ranking", {"ranking": ["take-2", "take-1"], "rater": "ann"})
    call.feedback.add_note("second one sounds older")
    with contextlib.suppress(ValueError):
        broken_loader("silence.wav")
    weave.publish(weave.StringPrompt("v0 {x}"), name="judge-prompt")
    weave.publish(weave.StringPrompt("v1 {x}"), name="judge-prompt")
    client.flush()
    return call.id


def test_traces_lists_recent_calls_with_status_latency_feedback_and_error(client) -> None:
    _populate(client)
    result = run_cli("traces", "--project", "contract", "--json")
    assert result.returncode == 0, result.stderr
    calls = json.loads(result.stdout)
    assert [c["op"] for c in calls] == ["broken_loader", "rank_audio", "judge_round"]
    by_op = {c["op"]: c for c in calls}
    assert by_op["judge_round"]["feedback_count"] == 2
    assert by_op["judge_round"]["status"] == "success"
    assert by_op["broken_loader"]["status"] == "error"
    assert by_op["broken_loader"]["error"] == "ValueError: silence.wav is empty audio"
    assert all(c["latency_ms"] is not None for c in calls)

    table = run_cli("traces", "--project", "contract")
    assert table.returncode == 0
    assert "judge_round" in table.stdout and "ValueError" in table.stdout

    only = json.loads(
        run_cli("traces", "--project", "contract", "--op", "rank_audio", "--json").stdout
    )
    assert [c["op"] for c in only] == ["rank_audio"]


def test_traces_show_prints_inputs_output_feedback_children(client) -> None:
    call_id = _populate(client)
    result = run_cli("traces", "show", call_id, "--project", "contract", "--json")
    assert result.returncode == 0, result.stderr
    detail = json.loads(result.stdout)
    assert detail["inputs"] == {"pair": ["take-1", "take-2"]}
    assert detail["output"] == ["take-2", "take-1"]
    assert [f["feedback_type"] for f in detail["feedback"]] == [
        "voicejudge.ranking",
        "wandb.note.1",
    ]
    assert [c["op"] for c in detail["children"]] == ["rank_audio"]

    pretty = run_cli("traces", "show", call_id, "--project", "contract")
    assert pretty.returncode == 0
    assert "second one sounds older" in pretty.stdout


def test_traces_show_unknown_id_is_a_clear_error(client) -> None:
    result = run_cli("traces", "show", "no-such-call", "--project", "contract")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "no-such-call" in result.stderr and "voicejudge traces" in result.stderr


def test_traces_objects_lists_versions(client) -> None:
    _populate(client)
    result = run_cli("traces", "objects", "--project", "contract", "--json")
    assert result.returncode == 0, result.stderr
    objects = {o["name"]: o for o in json.loads(result.stdout)}
    assert objects["judge-prompt"]["versions"] == 2
    assert objects["judge-prompt"]["latest_version"] == 1
    assert objects["judge-prompt"]["object_class"] == "StringPrompt"
    assert objects["rank_audio"]["kind"] == "op"


def test_empty_store_says_so() -> None:
    result = run_cli("traces")
    assert result.returncode == 0
    assert "No traced calls yet" in result.stdout


def test_doctor_passes_offline() -> None:
    result = run_cli("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "embedded store" in result.stdout and "none yet" in result.stdout


def test_doctor_checks_the_real_store(client) -> None:
    _populate(client)
    client.flush()
    result = run_cli("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    text = " ".join(result.stdout.split())
    assert "quick_check passed" in text and "schema v" in text
    assert "local/contract: 3 calls, " in text
