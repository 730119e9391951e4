"""A broken, foreign, newer or unwritable store: a clear error naming the path, nothing written."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from voicejudge import LocalTraceServer, StoreError
from voicejudge.tracking.store import SCHEMA_VERSION

pytestmark = pytest.mark.slow

VOICEJUDGE = shutil.which("voicejudge", path=str(Path(sys.executable).parent))


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "VOICEJUDGE_HOME": str(home)}
    return subprocess.run([VOICEJUDGE, *args], capture_output=True, text=True, env=env, timeout=120)


def assert_clean_failure(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    for needle in needles:
        assert needle in message


def test_not_a_sqlite_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "traces.db").write_bytes(b"these are not the traces you are looking for" * 100)
    with pytest.raises(StoreError, match="not a voicejudge trace store") as caught:
        LocalTraceServer(home / "traces.db")
    assert str(home / "traces.db") in str(caught.value)
    assert_clean_failure(run_cli("traces", home=home), str(home / "traces.db"), "VOICEJUDGE_HOME")


def test_foreign_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE songs (title TEXT)")
    with pytest.raises(StoreError, match="not a voicejudge trace store"):
        LocalTraceServer(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("songs",)]


def test_store_from_a_newer_schema(tmp_path: Path) -> None:
    home = tmp_path / "home"
    LocalTraceServer(home / "traces.db").close()
    with sqlite3.connect(home / "traces.db") as conn:
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
        )
    with pytest.raises(StoreError, match="newer voicejudge"):
        LocalTraceServer(home / "traces.db")
    assert_clean_failure(run_cli("traces", home=home), "newer voicejudge", "Upgrade voicejudge")


def test_store_folder_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="Cannot create the trace store folder") as caught:
        LocalTraceServer(blocker / "home" / "traces.db")
    assert "VOICEJUDGE_HOME" in str(caught.value)
    assert not (blocker / "home").exists()


@pytest.fixture
def unwritable_home(tmp_path: Path):
    """A folder nobody may write to: read-only mode, and immutable when running as root."""
    home = tmp_path / "readonly-home"
    home.mkdir()
    home.chmod(0o555)
    immutable = os.geteuid() == 0
    if immutable and subprocess.run(["chattr", "+i", str(home)], capture_output=True).returncode:
        pytest.skip("running as root and cannot make a folder immutable here")
    yield home
    if immutable:
        subprocess.run(["chattr", "-i", str(home)], check=True)
    home.chmod(0o755)


def test_store_folder_not_writable(unwritable_home: Path) -> None:
    with pytest.raises(StoreError, match="not writable") as caught:
        LocalTraceServer(unwritable_home / "traces.db")
    assert str(unwritable_home) in str(caught.value)
    assert_clean_failure(run_cli("traces", home=unwritable_home), str(unwritable_home), "writ")
    assert list(unwritable_home.iterdir()) == []


def test_schema_is_versioned(tmp_path: Path) -> None:
    server = LocalTraceServer(tmp_path / "traces.db")
    assert server.store.schema_version == SCHEMA_VERSION
    server.close()
    assert LocalTraceServer(tmp_path / "traces.db").store.schema_version == SCHEMA_VERSION


def test_a_version_1_store_is_migrated_and_keeps_its_files(tmp_path: Path) -> None:
    from voicejudge.tracking.store import _MIGRATIONS

    path = tmp_path / "traces.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.executescript(_MIGRATIONS[1])
        conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        conn.execute(
            "INSERT INTO objects VALUES ('e/p', 'x', 'd', 0, 'object', NULL, NULL, '{}', "
            "'2026-01-01T00:00:00.000000+00:00', NULL, 'u')"
        )
        conn.execute("INSERT INTO files VALUES ('f-digest', X'41424344')")
    server = LocalTraceServer(path)
    assert server.store.schema_version == SCHEMA_VERSION == 3
    content = server.file_content_read({"project_id": "e/p", "digest": "f-digest"}).content
    assert content == b"ABCD"
