"""`LocalTraceServer`: the trace-server methods the weave 0.54 client calls, on a SQLite file.

Requests arrive as dicts shaped like the REST bodies and weave's own response models go back,
so an unchanged `WeaveClient` runs on it offline; each resource's methods are a mixin here.
"""

from __future__ import annotations

import atexit
import getpass
import json
from pathlib import Path

from weave.trace_server_bindings.models import EnsureProjectExistsRes
from weave.vendor.weave_server_sdk.types import ServerInfoRes

from voicejudge.tracking.call_queue import CallWriteQueue
from voicejudge.tracking.processes import process_ended, this_process
from voicejudge.tracking.server.base import now
from voicejudge.tracking.server.calls import CallsMixin
from voicejudge.tracking.server.feedback import FeedbackMixin
from voicejudge.tracking.server.files import FilesMixin
from voicejudge.tracking.server.objects import ObjectsMixin
from voicejudge.tracking.server.refs import RefsMixin
from voicejudge.tracking.server.tables import TablesMixin
from voicejudge.tracking.store import SQLiteStore

__all__ = ["LocalTraceServer"]


class LocalTraceServer(CallsMixin, RefsMixin, ObjectsMixin, TablesMixin, FilesMixin, FeedbackMixin):
    """An in-process Weave trace server on one SQLite file, safe to share between processes."""

    def __init__(self, path: str | Path, user: str | None = None) -> None:
        self.store = SQLiteStore(path)
        self.user = user or _local_user()
        self.writer = this_process()
        self.call_processor = CallWriteQueue(self._write_calls)
        self._closed = False
        atexit.register(self.close)
        self.close_interrupted_calls()

    @property
    def path(self) -> Path:
        return self.store.path

    def flush(self) -> None:
        """Persist every queued call write."""
        self.call_processor.flush()

    def backup(self, target: Path) -> None:
        """Copy the whole store, queued writes included, to `target` (see `SQLiteStore`)."""
        self.flush()
        self.store.backup(target)

    def close(self) -> None:
        """Write what is queued and close the file, leaving it complete on its own."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        try:
            self.call_processor.close()
        finally:
            self.store.close()

    def close_interrupted_calls(self) -> int:
        """Mark the calls that a process on this machine left running when it died (killed,
        crashed) as ended with an `Interrupted` error; returns how many."""
        rows = self.store.query(
            "SELECT project_id, id, writer FROM calls WHERE ended_at IS NULL AND writer IS NOT NULL"
        )
        orphaned = [(project, call) for project, call, writer in rows if process_ended(writer)]
        if not orphaned:
            return 0
        exception = json.dumps(
            {
                "type": "Interrupted",
                "message": "the process running this call ended before the call finished",
            }
        )
        with self.store.write() as conn:
            conn.executemany(
                "UPDATE calls SET ended_at = ?, exception = ? "
                "WHERE project_id = ? AND id = ? AND ended_at IS NULL",
                [(now(), exception, project, call) for project, call in orphaned],
            )
        return len(orphaned)

    def server_info(self) -> ServerInfoRes:
        return ServerInfoRes(
            min_required_weave_python_version="0.0.0", trace_server_version="local"
        )

    def ensure_project_exists(self, entity: str, project: str) -> EnsureProjectExistsRes:
        return EnsureProjectExistsRes(project_name=project)


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"
