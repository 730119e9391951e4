"""Failure paths of the embedded store: retries, deleted objects, locks, scoping, bad requests."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import weave
from weave.trace.errors import InvalidRequest, NotFoundError, ObjectDeletedError

from voicejudge import Settings, close_tracking, init_tracking
from voicejudge.tracking.call_queue import CallWriteQueue
from voicejudge.tracking.server import LocalTraceServer

VOICEJUDGE = str(Path(sys.executable).parent / "voicejudge")


def test_failed_call_write_stays_queued_and_is_retried() -> None:
    written: list[tuple[str, dict]] = []
    failures = [sqlite3.OperationalError("database is locked")] * 2

    def write(batch: list[tuple[str, dict]]) -> None:
        if failures:
            raise failures.pop()
        written.extend(batch)

    queue = CallWriteQueue(write, batch_window_s=0.001)
    queue.put("start", {"n": 1})
    with pytest.raises(sqlite3.OperationalError):
        queue.flush()
    assert queue.num_outstanding_jobs == 1
    queue.put("end", {"n": 1})
    queue.close()
    assert written == [("start", {"n": 1}), ("end", {"n": 1})]
    assert queue.num_outstanding_jobs == 0
    with pytest.raises(Exception, match="closed"):
        queue.put("start", {"n": 2})


def test_deleted_version_raises_object_deleted(tmp_path: Path) -> None:
    server = LocalTraceServer(tmp_path / "traces.db")
    project = "e/p"
    first = server.obj_create({"obj": {"project_id": project, "object_id": "x", "val": {"v": 1}}})
    second = server.obj_create({"obj": {"project_id": project, "object_id": "x", "val": {"v": 2}}})
    server.obj_delete({"project_id": project, "object_id": "x", "digests": [second.digest]})
    with pytest.raises(ObjectDeletedError):
        server.obj_read({"project_id": project, "object_id": "x", "digest": second.digest})
    latest = server.obj_read({"project_id": project, "object_id": "x", "digest": "latest"}).obj
    assert (latest.digest, latest.val) == (first.digest, {"v": 1})
    again = server.obj_create({"obj": {"project_id": project, "object_id": "x", "val": {"v": 3}}})
    versions = server.objs_query({"project_id": project}).objs
    assert {o.digest: o.version_index for o in versions} == {first.digest: 0, again.digest: 2}


def test_deleted_object_through_the_client(client) -> None:
    ref = weave.publish(weave.StringPrompt("gone soon"), name="doomed")
    ref.delete()
    with pytest.raises(ObjectDeletedError):
        client.get(ref)


@pytest.mark.slow
def test_reads_go_on_while_another_process_writes(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    server = LocalTraceServer(path)
    server.obj_create({"obj": {"project_id": "e/p", "object_id": "x", "val": {"v": 1}}})
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO meta (key, value) VALUES ('busy', 'yes')")
    seen: list[object] = []
    reader = threading.Thread(
        target=lambda: seen.append(
            server.obj_read({"project_id": "e/p", "object_id": "x", "digest": "latest"}).obj.val
        )
    )
    reader.start()
    reader.join(timeout=10)
    other.execute("ROLLBACK")
    other.close()
    assert seen == [{"v": 1}], "the read waited for another process's write"


def test_files_belong_to_their_project(tmp_path: Path) -> None:
    server = LocalTraceServer(tmp_path / "traces.db")
    digest = server.file_create({"project_id": "e/a", "file": ("f.txt", b"secret")}).digest
    assert server.file_content_read({"project_id": "e/a", "digest": digest}).content == b"secret"
    with pytest.raises(NotFoundError):
        server.file_content_read({"project_id": "e/b", "digest": digest})
    assert server.files_stats({"project_id": "e/b"}).total_size_bytes == 0


def test_table_updates_reject_bad_indexes(tmp_path: Path) -> None:
    server = LocalTraceServer(tmp_path / "traces.db")
    table = server.table_create({"table": {"project_id": "e/p", "rows": [{"n": 0}, {"n": 1}]}})
    for update in ({"insert": {"index": 5, "row": {"n": 9}}}, {"pop": {"index": 2}}):
        with pytest.raises(InvalidRequest):
            server.table_update(
                {"project_id": "e/p", "base_digest": table.digest, "updates": [update]}
            )
    updated = server.table_update(
        {
            "project_id": "e/p",
            "base_digest": table.digest,
            "updates": [{"insert": {"index": 1, "row": {"n": 9}}}, {"pop": {"index": 0}}],
        }
    )
    rows = server.table_query({"project_id": "e/p", "digest": updated.digest}).rows
    assert [r.val for r in rows] == [{"n": 9}, {"n": 1}]


def test_entity_slash_project_on_the_local_store(settings: Settings) -> None:
    client = init_tracking(project="team/voices", backend="local", settings=settings)
    assert (client.entity, client.project) == ("team", "voices")

    @weave.op
    def hello() -> str:
        return "hi"

    hello()
    client.flush()
    assert [c.output for c in client.get_calls()] == ["hi"]
    close_tracking()


@pytest.mark.slow
def test_unreachable_hosted_weave_is_a_clean_cli_error(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "WANDB_API_KEY": "k" * 40,
        "WANDB_BASE_URL": f"http://127.0.0.1:{port}",
        "WANDB_ENTITY": "ann",
        "NETRC": str(tmp_path / "none"),
        "WANDB__SERVICE_WAIT": "5",
    }
    env.pop("WANDB_MODE", None)
    result = subprocess.run(
        [VOICEJUDGE, "traces"], capture_output=True, text=True, env=env, timeout=180
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert "--backend local" in message and "hosted W&B Weave" in message
