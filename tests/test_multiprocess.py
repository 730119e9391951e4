"""Several processes share one store file at once and nothing is lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from voicejudge import LocalTraceServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
WORKERS, CALLS, VERSIONS = 4, 200, 20


def test_four_writers_then_a_fifth_reader(tmp_path: Path) -> None:
    home, go = tmp_path / "shared-home", tmp_path / "go"
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.store_worker",
                str(home),
                str(w),
                str(go),
                str(CALLS),
                str(VERSIONS),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WORKERS)
    ]
    go.touch()
    results = []
    for worker in workers:
        stdout, stderr = worker.communicate(timeout=300)
        assert worker.returncode == 0, stderr
        results.append(json.loads(stdout.strip().splitlines()[-1]))

    reader = subprocess.run(
        [sys.executable, "-c", _READER, str(home / "traces.db")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(reader.stdout)
    written_calls = {cid for r in results for cid in r["call_ids"]}
    assert len(written_calls) == WORKERS * CALLS
    assert set(seen["call_ids"]) == written_calls
    assert seen["feedback"] == WORKERS * CALLS
    assert sorted(seen["feedback_pairs"]) == sorted(
        [w, i] for w in range(WORKERS) for i in range(CALLS)
    )
    written_digests = {d for r in results for d in r["digests"]}
    assert len(written_digests) == WORKERS * VERSIONS
    assert set(seen["versions"]) == written_digests
    assert sorted(seen["versions"].values()) == list(range(WORKERS * VERSIONS))


_READER = """
import json, sys
from tests import netguard
netguard.install()
from voicejudge import LocalTraceServer
server = LocalTraceServer(sys.argv[1])
project = "local/shared"
calls = [c for c in server.calls_query_stream({"project_id": project}) if "rank_audio" in c.op_name]
feedback = server.feedback_query({"project_id": project}).result
objs = server.objs_query({"project_id": project, "filter": {"object_ids": ["shared-rubric"]}}).objs
print(json.dumps({
    "call_ids": [c.id for c in calls],
    "feedback": len(feedback),
    "feedback_pairs": [[f["payload"]["worker"], f["payload"]["index"]] for f in feedback],
    "versions": {o.digest: o.version_index for o in objs},
}))
"""


def test_reader_sees_writes_of_another_server_instance(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    writer, reader = LocalTraceServer(path), LocalTraceServer(path)
    writer.obj_create({"obj": {"project_id": "e/p", "object_id": "x", "val": {"a": 1}}})
    assert reader.obj_read({"project_id": "e/p", "object_id": "x", "digest": "latest"}).obj.val == {
        "a": 1
    }
