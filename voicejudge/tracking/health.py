"""The state of a store file, read without changing it: its write-ahead log, integrity,
schema, contents and the calls still marked running.

SQLite keeps recent writes in `traces.db-wal` until they are merged into `traces.db`; the
shared-memory index `traces.db-shm` records how much of the log is valid. A log deleted or
cut short while that index still counts its pages means those writes are gone, which no
reading of `traces.db` alone can tell. `voicejudge doctor` reports these findings.
"""

from __future__ import annotations

import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from voicejudge.tracking.processes import process_ended
from voicejudge.tracking.store import SCHEMA_VERSION

Level = Literal["ok", "info", "warn", "fail"]
_TABLES = {"meta", "calls", "call_refs", "objects", "feedback", "files", "tables", "table_rows"}
_WAL_HEADER, _WAL_FRAME_HEADER = 32, 24


@dataclass(frozen=True)
class Finding:
    """One fact about the store, with how much it matters."""

    name: str
    level: Level
    detail: str


def inspect_store(path: Path) -> list[Finding]:
    """Everything `doctor` says about the store at `path`; never writes to it."""
    if not path.exists():
        return [Finding("trace store", "info", f"{path}: none yet; made on first use")]
    if not path.is_file():
        return [Finding("trace store", "fail", f"{path} is not a file")]
    lost = _lost_log(path)
    if lost:
        return [Finding("write-ahead log", "fail", lost)]
    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    except sqlite3.DatabaseError as exc:
        return [Finding("trace store", "fail", f"{path} cannot be opened: {exc}")]
    try:
        return _contents(path, conn)
    except sqlite3.DatabaseError as exc:
        return [Finding("trace store", "fail", f"{path} is not a readable SQLite store: {exc}")]
    finally:
        conn.close()


def _contents(path: Path, conn: sqlite3.Connection) -> list[Finding]:
    findings = [Finding("trace store", "ok", str(path)), _log_state(path)]
    check = conn.execute("PRAGMA quick_check").fetchone()[0]
    if check != "ok":
        findings.append(Finding("integrity", "fail", f"{path}: {check}"))
        return findings
    findings.append(Finding("integrity", "ok", "quick_check passed"))
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        findings.append(
            Finding(
                "schema",
                "fail",
                f"{path} holds no tables: its data is missing. Was it copied without its "
                "-wal file, or the -wal file deleted? Restore both, or a `voicejudge backup`.",
            )
        )
        return findings
    missing = _TABLES - tables
    if missing:
        findings.append(
            Finding(
                "schema",
                "fail",
                f"{path} is not a voicejudge store, or is damaged: no {', '.join(sorted(missing))}",
            )
        )
        return findings
    version = int(conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])
    if version > SCHEMA_VERSION:
        findings.append(
            Finding("schema", "fail", f"v{version}, newer than this voicejudge (v{SCHEMA_VERSION})")
        )
        return findings
    upgrade = (
        f"; upgraded to v{SCHEMA_VERSION} when next opened" if version < SCHEMA_VERSION else ""
    )
    findings.append(Finding("schema", "ok", f"v{version}{upgrade}"))
    findings.append(Finding("contents", "info", _counts(conn)))
    findings.append(_unfinished(conn, has_writer=version >= 3))
    return findings


def _counts(conn: sqlite3.Connection) -> str:
    projects: dict[str, list[int]] = {}
    for index, table in enumerate(("calls", "objects", "feedback")):
        sql = f"SELECT project_id, count(*) FROM {table} GROUP BY project_id"
        for project, count in conn.execute(sql):
            projects.setdefault(project, [0, 0, 0])[index] = count
    if not projects:
        return "empty"
    return "; ".join(
        f"{project}: {calls} calls, {objects} object versions, {feedback} feedback"
        for project, (calls, objects, feedback) in sorted(projects.items())
    )


def _unfinished(conn: sqlite3.Connection, has_writer: bool) -> Finding:
    column = "writer" if has_writer else "NULL"
    writers = [row[0] for row in conn.execute(f"SELECT {column} FROM calls WHERE ended_at IS NULL")]
    orphaned = sum(1 for writer in writers if writer and process_ended(writer))
    if orphaned:
        return Finding(
            "unfinished calls",
            "warn",
            f"{orphaned} call(s) left running by processes that ended (killed or crashed); "
            "voicejudge marks them interrupted the next time it opens the store",
        )
    if writers:
        return Finding("unfinished calls", "info", f"{len(writers)} call(s) running now")
    return Finding("unfinished calls", "ok", "none")


def _log_state(path: Path) -> Finding:
    log = _sidecar(path, "-wal")
    size = log.stat().st_size if log.exists() else 0
    if not size:
        return Finding("write-ahead log", "ok", "merged: traces.db alone holds everything")
    return Finding(
        "write-ahead log",
        "info",
        f"{size // 1024} KB not yet merged into {path.name} (a process has the store open, or "
        "one was killed): copy the store with `voicejudge backup`, not by copying the file",
    )


def _lost_log(path: Path) -> str | None:
    """A description of writes lost with the log, when the index says there were some."""
    index = _sidecar(path, "-shm")
    try:
        header = index.read_bytes()[:48] if index.exists() else b""
    except OSError:
        return None
    if len(header) < 48 or not header[12]:
        return None
    order: Literal["little", "big"] = "little" if sys.byteorder == "little" else "big"
    page = int.from_bytes(header[14:16], order)
    page = 65536 if page == 1 else page
    frames = int.from_bytes(header[16:20], order)
    if not frames or not page:
        return None
    log = _sidecar(path, "-wal")
    needed = _WAL_HEADER + frames * (_WAL_FRAME_HEADER + page)
    size = log.stat().st_size if log.exists() else 0
    if size >= needed:
        return None
    state = "is missing" if not log.exists() else f"is cut short ({size} of {needed} bytes)"
    return (
        f"{log.name} {state}, but {index.name} says it holds {frames} page(s) of changes not "
        f"yet in {path.name}: those changes are lost. Stop every voicejudge process, put back "
        f"the -wal file if you have it, or restore a `voicejudge backup`; otherwise move "
        f"{path.name}-shm aside to use what {path.name} still holds."
    )


def _sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)
