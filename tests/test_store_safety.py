"""The store is safe to copy and to inspect: its file alone is complete after a command, a lost
write-ahead log is reported, calls a killed process left running are closed, and stored text
cannot drive the terminal."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from weave.trace.weave_client import WeaveClient

from voicejudge import LocalTraceServer, load_sample_set
from voicejudge.labels.ranking import RANKING_FEEDBACK_TYPE, rank_audio

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
VOICEJUDGE = str(Path(sys.executable).parent / "voicejudge")
VOICES = ROOT / "assets" / "voices"


def run(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "100", "VOICEJUDGE_HOME": str(home)}
    return subprocess.run([VOICEJUDGE, *args], capture_output=True, text=True, env=env, timeout=300)


def _calls_in(path: Path) -> int:
    server = LocalTraceServer(path)
    try:
        client = WeaveClient("local", "voicejudge", server, ensure_project_exists=False)
        return len(list(client.get_calls()))
    finally:
        server.close()


def test_after_a_command_the_store_file_alone_is_complete(tmp_path: Path) -> None:
    home = tmp_path / "home"
    takes = [str(VOICES / "voice-001.flac"), str(VOICES / "voice-002.flac")]
    for command in (
        ["judge", *takes],
        ["rounds", "--set", str(VOICES), "--rater", "studio", "--rounds", "1",
         "--pairs-per-round", "2", "--heldout", "3"],
    ):  # fmt: skip
        result = run(*command, home=home)
        assert result.returncode == 0, result.stderr
        wal = home / "traces.db-wal"
        assert not wal.exists() or wal.stat().st_size == 0, "the log is merged on exit"
        alone = tmp_path / f"copy-{command[0]}" / "traces.db"
        alone.parent.mkdir()
        shutil.copy(home / "traces.db", alone)
        assert _calls_in(alone) == _calls_in(home / "traces.db") > 0


def test_backup_copies_a_store_in_use(tmp_path: Path) -> None:
    home = tmp_path / "home"
    holder = _hold_store(home)
    try:
        result = run("backup", str(tmp_path / "backup.db"), home=home)
        assert result.returncode == 0, result.stderr
        assert _calls_in(tmp_path / "backup.db") == 3
        again = run("backup", str(tmp_path / "backup.db"), home=home)
        assert again.returncode == 1 and "--force" in again.stderr
    finally:
        holder.kill()
        holder.wait()


def _hold_store(home: Path) -> subprocess.Popen:
    """A process that traces three calls, keeps the store open and waits."""
    script = textwrap.dedent(
        """
        import sys, time, weave
        from tests import netguard; netguard.install()
        from voicejudge import init_tracking
        client = init_tracking(backend="local")

        @weave.op
        def noted(x: int) -> int:
            return x

        for x in range(3):
            noted(x)
        client.flush()
        print("ready", flush=True)
        time.sleep(600)
        """
    )
    env = {**os.environ, "VOICEJUDGE_HOME": str(home)}
    process = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


@pytest.mark.parametrize("deleted", [["-wal"], ["-wal", "-shm"]], ids=["log", "log-and-index"])
def test_doctor_reports_a_deleted_log_of_a_live_store(tmp_path: Path, deleted: list[str]) -> None:
    home = tmp_path / "home"
    holder = _hold_store(home)
    try:
        assert (home / "traces.db-wal").stat().st_size > 0
        healthy = run("doctor", home=home)
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        for suffix in deleted:
            (home / f"traces.db{suffix}").unlink()
        broken = run("doctor", home=home)
        refused = run("traces", home=home)
    finally:
        holder.kill()
        holder.wait()
    assert broken.returncode == 1
    text = " ".join(broken.stdout.split())
    assert f"traces.db-wal was deleted while process {holder.pid}" in text and "lost" in text
    assert refused.returncode == 1 and "lost" in refused.stderr, "no command carries on"


def test_a_store_whose_log_was_lost_is_not_rebuilt(tmp_path: Path) -> None:
    home = tmp_path / "home"
    holder = _hold_store(home)
    holder.kill()
    holder.wait()
    (home / "traces.db-wal").unlink()
    before = (home / "traces.db").read_bytes()
    for command in (["traces"], ["rounds", "--set", str(VOICES), "--rater", "studio"]):
        result = run(*command, home=home)
        assert result.returncode == 1 and "those changes are lost" in result.stderr
    assert run("doctor", home=home).returncode == 1, "the evidence is kept"
    assert (home / "traces.db").read_bytes() == before


def test_a_stopped_ranking_app_leaves_a_complete_store(tmp_path: Path) -> None:
    import httpx

    home = tmp_path / "home"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = subprocess.Popen(
        [VOICEJUDGE, "rank", "--set", str(VOICES), "--port", str(port)],
        env={**os.environ, "VOICEJUDGE_HOME": str(home)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert app.stdout is not None and "Ranking" in app.stdout.readline()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:

        def call(endpoint: str, *data: object) -> Any:
            event = http.post(f"/gradio_api/call/{endpoint}", json={"data": data}).json()
            text = http.get(f"/gradio_api/call/{endpoint}/{event['event_id']}").text
            return json.loads(text.split("data:", 1)[1].splitlines()[0])[0]

        comparison = call("next_comparison", "ann")
        call("submit_ranking", "ann", comparison["call_id"], ["B", "A"], False, "", [], None)
    app.send_signal(signal.SIGTERM)
    assert app.wait(timeout=60) == 128 + signal.SIGTERM
    alone = tmp_path / "copy" / "traces.db"
    alone.parent.mkdir()
    shutil.copy(home / "traces.db", alone)
    server = LocalTraceServer(alone)
    try:
        rows = server.feedback_query({"project_id": "local/voicejudge"}).result
    finally:
        server.close()
    assert [row["payload"]["value"]["rater"] for row in rows] == ["ann"]


def test_doctor_reports_a_store_copied_without_its_log(tmp_path: Path) -> None:
    home = tmp_path / "home"
    holder = _hold_store(home)
    try:
        copy = tmp_path / "copy"
        copy.mkdir()
        shutil.copy(home / "traces.db", copy / "traces.db")
    finally:
        holder.kill()
        holder.wait()
    result = run("doctor", home=copy)
    assert result.returncode == 1
    assert "holds no tables" in " ".join(result.stdout.split())


def test_calls_a_killed_process_left_running_are_closed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    script = textwrap.dedent(
        """
        import time, weave
        from tests import netguard; netguard.install()
        from voicejudge import init_tracking
        client = init_tracking(backend="local")

        @weave.op
        def long_job() -> None:
            client.flush()
            print("started", flush=True)
            time.sleep(600)

        long_job()
        """
    )
    env = {**os.environ, "VOICEJUDGE_HOME": str(home)}
    process = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "started"
    process.send_signal(signal.SIGKILL)
    process.wait()

    doctor = run("doctor", home=home)
    assert doctor.returncode == 0
    assert "left running by processes that ended" in " ".join(doctor.stdout.split())
    listed = run("traces", "--json", home=home)
    (call,) = [c for c in json.loads(listed.stdout) if c["op"] == "long_job"]
    assert call["status"] == "error" and call["error"].startswith("Interrupted")
    assert "none" in " ".join(run("doctor", home=home).stdout.split())


ESCAPES = "\x1b]0;owned\x07\x1b[2J\x9b1m"


@pytest.fixture
def hostile_answer(client) -> str:
    """A rank_audio call whose stored answer (written by someone else) carries escapes."""
    voices = load_sample_set(VOICES)
    _, call = rank_audio.call([voices.get("voice-001"), voices.get("voice-002")])
    client.flush()
    client.server.feedback_create(
        {
            "project_id": client.project_id,
            "weave_ref": f"weave:///{client.project_id}/call/{call.id}",
            "feedback_type": RANKING_FEEDBACK_TYPE,
            "payload": {
                "value": {
                    "ranking": ["voice-002", "voice-001"],
                    "rater": f"mallory{ESCAPES}",
                    "note": f"cleared{ESCAPES}",
                }
            },
            "creator": f"mallory{ESCAPES}",
        }
    )
    return call.id


@pytest.mark.parametrize("view", [["traces", "show"], ["lineage"]])
def test_stored_control_characters_print_escaped(
    hostile_answer: str, client, isolated_home: Path, view: list[str]
) -> None:
    client.flush()
    result = run(*view, hostile_answer, "--project", "contract", home=isolated_home)
    assert result.returncode == 0, result.stderr
    assert "mallory" in result.stdout and "cleared" in result.stdout
    for raw in ("\x1b", "\x07", "\x9b"):
        assert raw not in result.stdout
    assert "\\x1b]0;owned\\x07" in result.stdout.replace("\n", "")
