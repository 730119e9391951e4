"""The state of a store file, read without changing it: its write-ahead log (see
`tracking.wal`), integrity, schema, contents and the calls still marked running. This is
what `voicejudge doctor` reports."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from voicejudge.tracking.processes import process_ended
from voicejudge.tracking.store import SCHEMA_VERSION
from voicejudge.tracking.wal import lost_writes, read_only_uri, sidecar

Level = Literal["ok", "info", "warn", "fail"]
_TABLES = {"meta", "calls", "call_refs", "objects", "feedback", "files", "tables", "table_rows"}


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
    lost = lost_writes(path)
    if lost:
        return [Finding("write-ahead log", "fail", lost)]
    if not _writable(path):
        return [Finding("trace store", "fail", f"{path} is not writable: fix its permissions")]
    try:
        conn = sqlite3.connect(read_only_uri(path), uri=True)
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


def _writable(path: Path) -> bool:
    try:
        path.open("r+b").close()
    except OSError:
        return False
    return True


def _log_state(path: Path) -> Finding:
    log = sidecar(path, "-wal")
    size = log.stat().st_size if log.exists() else 0
    if not size:
        return Finding("write-ahead log", "ok", "merged: traces.db alone holds everything")
    return Finding(
        "write-ahead log",
        "info",
        f"{size // 1024} KB not yet merged into {path.name} (a process has the store open, or "
        "one was killed): copy the store with `voicejudge backup`, not by copying the file",
    )
