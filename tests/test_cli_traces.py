"""`voicejudge traces` and `voicejudge doctor` as a user runs them, against a real store."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import weave
from weave.trace.weave_client import WeaveClient

from voicejudge import Settings, close_tracking, init_tracking
from voicejudge.app.call_view import summarise
from voicejudge.app.trace_views import latency
from voicejudge.audio.sample_set import load_sample_set, publish_sample_set
from voicejudge.labels.simulated_raters import load_rater_profile
from voicejudge.loop.runner import run_rounds
from voicejudge.loop.state import LoopConfig
from voicejudge.tracking.gateway import op_calls

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
VOICES = ROOT / "assets" / "voices"
VOICEJUDGE = shutil.which("voicejudge", path=str(Path(sys.executable).parent))
CALL_ID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
ROUND_SCREEN_LINES = 50


def run_cli(
    *args: str, columns: int = 160, home: Path | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns)}
    if home is not None:
        env["VOICEJUDGE_HOME"] = str(home)
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

    @weave.op
    def decode(path: str) -> None:
        raise ValueError(f"{path} is empty audio")

    @weave.op
    def load_takes(paths: list[str]) -> int:
        for path in paths:
            with contextlib.suppress(ValueError):
                decode(path)  # a failed child: this call ends as descendant_error
        return len(paths)

    load_takes(["quiet.wav"])
    _, call = judge_round.call(["take-1", "take-2"])
    call.feedback.add("voicejudge.ranking", {"ranking": ["take-2", "take-1"], "rater": "ann"})
    call.feedback.add_note("second one sounds older")
    with contextlib.suppress(ValueError):
        broken_loader("silence.wav")
    weave.publish(weave.StringPrompt("v0 {x}"), name="judge-prompt")
    weave.publish(weave.StringPrompt("v1 {x}"), name="judge-prompt")
    client.flush()
    return call.id


@dataclass(frozen=True)
class Traced:
    """A store with one real alignment round, then the small session of `_populate`."""

    home: Path
    judged_call: str
    round_call: str

    def cli(self, *args: str, columns: int = 80) -> subprocess.CompletedProcess:
        result = run_cli(*args, "--project", "contract", columns=columns, home=self.home)
        assert result.returncode == 0, result.stderr
        return result

    def json(self, *args: str) -> object:
        return json.loads(self.cli(*args, "--json").stdout)


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Traced:
    home = tmp_path_factory.mktemp("traced") / "home"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("VOICEJUDGE_HOME", str(home))
        client = init_tracking(project="contract", backend="local", settings=Settings(home=home))
        try:
            voices = load_sample_set(VOICES)
            publish_sample_set(voices, name="studio-takes")
            config = LoopConfig(
                sample_set=str(VOICES),
                rater=load_rater_profile("gravel"),
                heldout=5,
                pairs_per_round=4,
                strategy="active",
            )
            run_rounds(config, 1, client=client, samples=voices)
            judged = _populate(client)
            round_call = op_calls(client, "AlignmentLoop.run_round")[-1]  # round 1 ranks pairs
            return Traced(home=home, judged_call=judged, round_call=round_call.id)
        finally:
            close_tracking()


def _assert_fits(text: str, width: int = 80) -> list[str]:
    lines = text.splitlines()
    assert lines and all(len(line) <= width for line in lines), max(lines, key=len)
    return lines


def _call_row(lines: list[str], call_id: str) -> tuple[str, str]:
    """The line that lists `call_id` and the line under it."""
    (index,) = [i for i, line in enumerate(lines) if call_id in line]
    return lines[index], lines[index + 1] if index + 1 < len(lines) else ""


def test_traces_lists_recent_calls_with_status_latency_feedback_and_error(traced) -> None:
    calls = traced.json("traces", "--limit", "3")
    assert [c["op"] for c in calls] == ["broken_loader", "rank_audio", "judge_round"]
    by_op = {c["op"]: c for c in calls}
    assert by_op["judge_round"]["feedback_count"] == 2
    assert by_op["judge_round"]["status"] == "success"
    assert by_op["broken_loader"]["status"] == "error"
    assert by_op["broken_loader"]["error"] == "ValueError: silence.wav is empty audio"
    assert all(c["latency_ms"] is not None for c in calls)

    only = traced.json("traces", "--op", "rank_audio")
    assert {c["op"] for c in only} == {"rank_audio"} and len(only) > 1
    partial = traced.cli("traces", "--op", "run_round").stdout
    assert "No calls of op 'run_round'" in partial and "AlignmentLoop.run_round" in partial
    refused = run_cli("traces", "--limit", "0", "--project", "contract", home=traced.home)
    assert refused.returncode == 1 and "--limit must be at least 1" in refused.stderr


def test_at_80_columns_each_call_shows_op_status_latency_feedback_error_and_whole_id(
    traced,
) -> None:
    calls = traced.json("traces", "--limit", "40")
    lines = _assert_fits(traced.cli("traces", "--limit", "40").stdout)
    header = lines[1].split()
    assert header[:2] == ["call", "id"] and {"op", "status", "latency", "feedback"} <= set(header)
    assert len({c["op"] for c in calls}) > 5
    assert {"success", "error", "descendant_error"} <= {c["status"] for c in calls}
    for call in calls:
        row, below = _call_row(lines, call["id"])
        method = call["op"].rsplit(".", 1)[-1]
        assert method[:8] in row, (call["op"], row)
        assert _status_at_80(call["status"]) in row and latency(call["latency_ms"]) in row
        if call["feedback_count"]:
            assert re.search(rf"\s{call['feedback_count']}(\s|$)", row), row
        if call["error"]:
            assert "ValueError: " in row + below and "is empty audio" in row + below
    assert set(CALL_ID.findall("\n".join(lines))) == {c["id"] for c in calls}


def test_a_call_id_copied_from_the_80_column_list_opens_that_call(traced) -> None:
    lines = traced.cli("traces", "--limit", "3").stdout.splitlines()
    copied = CALL_ID.findall(_call_row(lines, traced.judged_call)[0])
    assert copied == [traced.judged_call]
    shown = traced.cli("traces", "show", *copied).stdout
    assert traced.judged_call in shown and "judge_round" in shown


def test_wide_lists_op_names_errors_and_times_in_full(traced) -> None:
    calls = traced.json("traces", "--limit", "40")
    lines = traced.cli("traces", "--limit", "40", "--wide").stdout.splitlines()
    assert any(len(line) > 80 for line in lines)
    for call in calls:
        row, _ = _call_row(lines, call["id"])
        assert call["op"] in row and (call["error"] or "") in row
    text = "\n".join(lines)
    assert "ValueError: silence.wav is empty audio" in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", text)


def test_show_of_a_round_fits_a_screen_and_json_has_every_child(traced) -> None:
    detail = traced.json("traces", "show", traced.round_call)
    children = Counter(c["op"] for c in detail["children"])
    assert children["rank_audio"] == 4 and len(detail["children"]) > 4
    assert "_class_name" in json.dumps(detail["output"])

    lines = _assert_fits(traced.cli("traces", "show", traced.round_call).stdout)
    assert len(lines) <= ROUND_SCREEN_LINES
    text = "\n".join(lines)
    assert lines[0].split()[:2] == ["AlignmentLoop.run_round", "success"]
    assert traced.round_call in text and detail["trace_id"] in text
    for noise in ("_class_name", "_bases", "_type", "weave:///"):
        assert noise not in text
    assert re.search(r"prompt_ref +judge-prompt:v\d+$", text, re.MULTILINE)
    assert re.search(r"decisions +\d+ items: \[\{first: voice-", text)
    for op, count in children.items():
        assert f"{op} ×{count}" in text
    assert set(CALL_ID.findall(text)) - {traced.round_call, detail["trace_id"]} <= {
        c["id"] for c in detail["children"]
    }


def test_show_summarises_inputs_output_feedback_and_children(traced) -> None:
    detail = traced.json("traces", "show", traced.judged_call)
    assert detail["inputs"] == {"pair": ["take-1", "take-2"]}
    assert detail["output"] == ["take-2", "take-1"]
    assert [f["feedback_type"] for f in detail["feedback"]] == [
        "voicejudge.ranking",
        "wandb.note.1",
    ]
    assert [c["op"] for c in detail["children"]] == ["rank_audio"]

    lines = _assert_fits(traced.cli("traces", "show", traced.judged_call).stdout)
    text = "\n".join(lines)
    assert re.search(r"pair +\[take-1, take-2\]", text)
    assert "output  [take-2, take-1]" in text
    assert "ranking: [take-2, take-1] · rater: ann" in text
    assert "second one sounds older" in text
    assert f"rank_audio ×1  {detail['children'][0]['id']}" in text


def test_show_of_a_failed_call_gives_its_error(traced) -> None:
    (failed,) = traced.json("traces", "--op", "broken_loader")
    text = traced.cli("traces", "show", failed["id"]).stdout
    assert "broken_loader  error" in text
    assert "ValueError: silence.wav is empty audio" in text


def test_long_text_is_cut_with_its_length_and_refs_are_short() -> None:
    ref = "weave:///local/contract/object/judge-prompt:abc123"
    summary = summarise("word " * 200, 40, {})
    assert len(summary) == 40 and summary.endswith("… (1000 chars)")
    assert summarise({"_class_name": "X", "prompt": ref}, 60, {ref: "judge-prompt:v3"}) == (
        "{prompt: judge-prompt:v3}"
    )


def test_objects_lists_named_objects_first_and_internal_ones_behind_all(traced) -> None:
    named = traced.json("traces", "objects")
    everything = traced.json("traces", "objects", "--all")
    internal = [o for o in everything if o["internal"]]
    assert not any(o["internal"] for o in named) and len(named) + len(internal) == len(everything)
    # ops defined in `_populate`: a module-level op that another store of this test process
    # (same project name) published first is not published again, so it may be missing here
    assert {o["name"] for o in internal} >= {"rank_audio", "judge_round", "broken_loader"}
    prompt = next(o for o in named if o["name"] == "judge-prompt")
    assert prompt["versions"] >= 2 and prompt["object_class"] in ("StringPrompt", "JudgePrompt")
    assert {"preference-patterns", "studio-takes"} <= {o["name"] for o in named}
    assert any(o["object_class"] == "Evaluation" for o in named)

    lines = _assert_fits(traced.cli("traces", "objects").stdout)
    names = {o["name"] for o in everything}
    listed = [line.split()[0] for line in lines if line.strip() and line.split()[0] in names]
    assert listed == [o["name"] for o in named]
    assert f"{len(internal)} internal ops and objects hidden; --all lists them." in lines[-1]

    lines = _assert_fits(traced.cli("traces", "objects", "--all").stdout)
    rows = {line.split()[0]: number for number, line in enumerate(lines) if line.strip()}
    assert max(rows[o["name"]] for o in named) < min(rows[o["name"]] for o in internal)


def test_in_tmux_at_80_columns_the_views_show_whole_ids(traced) -> None:
    commands = [
        f"{VOICEJUDGE} traces --project contract --limit 12",
        f"{VOICEJUDGE} traces show {traced.round_call} --project contract",
    ]
    screen = _in_tmux(commands, traced.home)
    lines = screen.splitlines()
    assert all(len(line) <= 80 for line in lines)
    (shown,) = [i for i, line in enumerate(lines) if line.startswith("AlignmentLoop.run_round")]
    listing, round_view = lines[:shown], "\n".join(lines[shown:])
    assert {"op", "status", "latency", "feedback"} <= set(listing[1].split())
    for call in traced.json("traces", "--limit", "12"):
        row, _ = _call_row(listing, call["id"])
        assert _status_at_80(call["status"]) in row and latency(call["latency_ms"]) in row
    assert traced.round_call in round_view and "rank_audio ×4" in round_view
    assert "_class_name" not in round_view


def _status_at_80(status: str) -> str:
    """How a status reads in a narrow listing (weave's `descendant_error` is 16 cells)."""
    return {"descendant_error": "child error"}.get(status, status)


def _in_tmux(commands: list[str], home: Path) -> str:
    """What an 80x24 tmux pane shows (scrollback included) after running `commands`."""
    socket, done = f"voicejudge-test-{uuid.uuid4().hex[:8]}", "END-OF-VIEWS"
    environment = f"env -u COLUMNS -u LINES VOICEJUDGE_HOME={shlex.quote(str(home))}"
    script = "; ".join([*(f"{environment} {c}" for c in commands), f"echo {done}", "sleep 600"])
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    subprocess.run([*tmux, "new-session", "-d", "-x", "80", "-y", "24", script], check=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            screen = subprocess.run(
                [*tmux, "capture-pane", "-p", "-J", "-S", "-", "-E", "-"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            if done in screen.replace(f"echo {done}", ""):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"the views did not finish in tmux:\n{screen}")
    finally:
        subprocess.run([*tmux, "kill-server"], check=False)


def test_traces_show_unknown_id_is_a_clear_error(client) -> None:
    result = run_cli("traces", "show", "no-such-call", "--project", "contract")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "no-such-call" in result.stderr and "voicejudge traces" in result.stderr


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
    assert "local/contract: 5 calls, " in text
