"""The SQLite file behind the embedded trace store: opening it safely, its schema and versions.

Several processes may share one file: WAL mode lets readers run beside a writer, a busy
timeout makes writers wait for each other, and every write runs in `BEGIN IMMEDIATE` so
read-modify-write steps (such as numbering object versions) are atomic across processes.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from voicejudge.errors import StoreError
from voicejudge.tracking.wal import lost_writes, read_only_uri

SCHEMA_VERSION = 3

# Each entry brings a store from the previous version to this one. Never edit a released step:
# add the next version instead.
_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE calls (
        project_id TEXT NOT NULL,
        id TEXT NOT NULL,
        trace_id TEXT,
        parent_id TEXT,
        thread_id TEXT,
        turn_id TEXT,
        op_name TEXT,
        op_base TEXT,
        display_name TEXT,
        started_at TEXT,
        ended_at TEXT,
        exception TEXT,
        attributes TEXT,
        inputs TEXT,
        output TEXT,
        summary TEXT,
        wb_user_id TEXT,
        wb_run_id TEXT,
        wb_run_step INTEGER,
        wb_run_step_end INTEGER,
        PRIMARY KEY (project_id, id)
    );
    CREATE INDEX calls_by_op ON calls (project_id, op_base, started_at);
    CREATE INDEX calls_by_op_name ON calls (project_id, op_name);
    CREATE INDEX calls_by_trace ON calls (project_id, trace_id);
    CREATE INDEX calls_by_parent ON calls (project_id, parent_id);
    CREATE INDEX calls_by_start ON calls (project_id, started_at);

    CREATE TABLE call_refs (
        project_id TEXT NOT NULL,
        call_id TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('input', 'output')),
        ref TEXT NOT NULL,
        UNIQUE (project_id, call_id, direction, ref)
    );
    CREATE INDEX call_refs_by_ref ON call_refs (project_id, direction, ref);
    CREATE INDEX call_refs_by_call ON call_refs (project_id, call_id);

    CREATE TABLE objects (
        project_id TEXT NOT NULL,
        object_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        version_index INTEGER NOT NULL,
        kind TEXT NOT NULL,
        base_object_class TEXT,
        leaf_object_class TEXT,
        val TEXT NOT NULL,
        created_at TEXT NOT NULL,
        deleted_at TEXT,
        wb_user_id TEXT,
        PRIMARY KEY (project_id, object_id, digest),
        UNIQUE (project_id, object_id, version_index)
    );

    CREATE TABLE object_tags (
        project_id TEXT NOT NULL,
        object_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        tag TEXT NOT NULL,
        PRIMARY KEY (project_id, object_id, digest, tag)
    );

    CREATE TABLE object_aliases (
        project_id TEXT NOT NULL,
        object_id TEXT NOT NULL,
        alias TEXT NOT NULL,
        digest TEXT NOT NULL,
        PRIMARY KEY (project_id, object_id, alias)
    );

    CREATE TABLE table_rows (
        project_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        val TEXT NOT NULL,
        PRIMARY KEY (project_id, digest)
    );

    CREATE TABLE tables (
        project_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        row_digests TEXT NOT NULL,
        PRIMARY KEY (project_id, digest)
    );

    CREATE TABLE files (
        digest TEXT PRIMARY KEY,
        content BLOB NOT NULL
    );

    CREATE TABLE feedback (
        project_id TEXT NOT NULL,
        id TEXT NOT NULL,
        weave_ref TEXT NOT NULL,
        feedback_type TEXT NOT NULL,
        payload TEXT NOT NULL,
        creator TEXT,
        created_at TEXT NOT NULL,
        wb_user_id TEXT,
        annotation_ref TEXT,
        runnable_ref TEXT,
        call_ref TEXT,
        trigger_ref TEXT,
        queue_id TEXT,
        extra TEXT NOT NULL,
        PRIMARY KEY (project_id, id)
    );
    CREATE INDEX feedback_by_ref ON feedback (project_id, weave_ref);
    CREATE INDEX feedback_by_created ON feedback (project_id, created_at);
    """,
    # v2: files belong to a project. A v1 file is kept for every project the store holds.
    2: """
    ALTER TABLE files RENAME TO files_v1;
    CREATE TABLE files (
        project_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        content BLOB NOT NULL,
        PRIMARY KEY (project_id, digest)
    );
    INSERT INTO files (project_id, digest, content)
        SELECT projects.project_id, files_v1.digest, files_v1.content
        FROM files_v1 CROSS JOIN (
            SELECT project_id FROM objects UNION SELECT project_id FROM calls
        ) AS projects;
    DROP TABLE files_v1;
    """,
    # v3: which process wrote a call, so calls a killed process left running can be closed.
    3: """
    ALTER TABLE calls ADD COLUMN writer TEXT;
    CREATE INDEX calls_unfinished ON calls (project_id) WHERE ended_at IS NULL;
    """,
}

_BUSY_TIMEOUT_MS = 60_000


class SQLiteStore:
    """One store file, opened and migrated on construction.

    A writer and a reader connection, each shared by this process's threads under its own
    lock: with WAL, reads go on while a write waits for another process to finish.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser().resolve()
        self._write_lock = threading.RLock()
        self._read_lock = threading.Lock()
        self._writer = self._open()
        try:
            self._ensure_schema()
            self._check_writable()
        except BaseException:
            self._writer.close()
            raise
        self._reader = self._connect()

    def _open(self) -> sqlite3.Connection:
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"Cannot create the trace store folder {folder}: {exc.strerror or exc}. "
                "Set VOICEJUDGE_HOME to a folder you can write to."
            ) from None
        if self.path.exists() and not self.path.is_file():
            raise StoreError(
                f"The trace store path {self.path} is not a file. "
                "Remove it or set VOICEJUDGE_HOME to another folder."
            )
        if self.path.exists():
            lost = lost_writes(self.path)
            if lost:  # opening would carry on from the main file as if nothing had happened
                raise StoreError(lost)
            try:  # SQLite would open an unwritable file read-only and leave files beside it
                self.path.open("r+b").close()
            except OSError:
                raise self._explain(sqlite3.OperationalError("readonly database")) from None
        conn = self._connect()
        try:
            conn.execute("PRAGMA journal_mode=WAL").fetchone()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise self._explain(exc) from None
        return conn

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=_BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            raise self._explain(exc) from None
        return conn

    def _explain(self, exc: sqlite3.DatabaseError) -> StoreError:
        message = str(exc).lower()
        if "not a database" in message or "malformed" in message:
            return StoreError(
                f"{self.path} is not a voicejudge trace store (not a readable SQLite database). "
                "Move the file aside or set VOICEJUDGE_HOME to another folder."
            )
        if "readonly" in message or "unable to open" in message or "read-only" in message:
            return StoreError(
                f"Cannot write the trace store {self.path}: the folder or file is not writable. "
                "Fix its permissions or set VOICEJUDGE_HOME to a folder you can write to."
            )
        return StoreError(f"Trace store {self.path} failed: {exc}")

    def _ensure_schema(self) -> None:
        try:
            version = self._read_version()
            if version == SCHEMA_VERSION:
                return
            self._check_not_newer(version)
            with self.write() as conn:
                version = self._read_version()
                self._check_not_newer(version)
                if version == 0 and self._has_foreign_tables(conn):
                    raise StoreError(
                        f"{self.path} is a SQLite database but not a voicejudge trace store. "
                        "Move the file aside or set VOICEJUDGE_HOME to another folder."
                    )
                if version == 0:
                    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                for step in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in _split_statements(_MIGRATIONS[step]):
                        conn.execute(statement)
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(SCHEMA_VERSION),),
                )
        except sqlite3.DatabaseError as exc:
            raise self._explain(exc) from None

    def _check_writable(self) -> None:
        """Fail now, not at the first traced call, when the file cannot be written (SQLite
        opens an unwritable file read-only without a word)."""
        with self.write() as conn:
            conn.execute("UPDATE meta SET value = value WHERE 0")

    def _read_version(self) -> int:
        with self._write_lock:
            has_meta = self._writer.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
            ).fetchone()
            if not has_meta:
                return 0
            row = self._writer.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone()
        return int(row[0]) if row else 0

    def _check_not_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"The trace store {self.path} was written by a newer voicejudge "
                f"(store schema v{version}; this version reads up to v{SCHEMA_VERSION}). "
                "Upgrade voicejudge, or set VOICEJUDGE_HOME to another folder."
            )

    @staticmethod
    def _has_foreign_tables(conn: sqlite3.Connection) -> bool:
        row = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name != 'meta'"
        ).fetchone()
        return bool(row[0])

    @property
    def schema_version(self) -> int:
        return self._read_version()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the file's write lock from its first statement."""
        with self._write_lock:
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise self._explain(exc) from None
            try:
                yield conn
                conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                self._rollback(conn)
                raise self._explain(exc) from exc
            except BaseException:
                self._rollback(conn)
                raise

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        # SQLite may already have rolled back (a full disk, say); a second rollback would
        # raise and hide the error that matters.
        if conn.in_transaction:
            conn.execute("ROLLBACK")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read statement and return all its rows."""
        with self._read_lock:
            try:
                return self._reader.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                raise self._explain(exc) from exc

    def backup(self, target: Path) -> None:
        """A consistent copy of the whole store in `target` (see `backup_store`)."""
        with self._write_lock:
            _copy(self._writer, self.path, target)

    def close(self) -> None:
        """Merge the write-ahead log into the main file and close, so that `traces.db` alone
        holds everything (another process still reading keeps the rest until it closes)."""
        with self._write_lock, self._read_lock:
            # busy or read-only: SQLite checkpoints again when the last connection closes
            with contextlib.suppress(sqlite3.DatabaseError):
                self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._writer.close()
            self._reader.close()


def backup_store(source: Path, target: Path) -> None:
    """A consistent copy of the store file `source`, what its write-ahead log holds included,
    in `target`: read-only (a store nobody may write can still be backed up), written beside
    `target` first, checked, then moved into place."""
    lost = lost_writes(source)
    if lost:
        raise StoreError(lost)
    try:
        conn = sqlite3.connect(read_only_uri(source), uri=True)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"Cannot read the trace store {source}: {exc}.") from None
    try:
        _copy(conn, source, target)
    finally:
        conn.close()


def _copy(conn: sqlite3.Connection, source: Path, target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        copy = sqlite3.connect(partial)
        try:
            conn.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
            problems = copy.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            copy.close()
        if problems != "ok":
            raise StoreError(f"The copy of {source} failed its check ({problems}).")
        partial.replace(target)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"Cannot back up the trace store {source}: {exc}.") from None
    except OSError as exc:
        raise StoreError(f"Cannot write the backup {target}: {exc.strerror or exc}.") from None
    finally:
        partial.unlink(missing_ok=True)


def _split_statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]
