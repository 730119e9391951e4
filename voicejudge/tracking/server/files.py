"""Files: content-addressed file blobs per project."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from weave.trace.errors import DigestMismatchError, NotFoundError
from weave.trace.serialization.digest import compute_file_digest
from weave.trace_server_bindings.models import FileContentReadRes
from weave.vendor.weave_server_sdk.types import FileCreateResponse, FileStatsResponse

from voicejudge.tracking.server.base import ServerBase


class FilesMixin(ServerBase):
    """File contents, stored once per project and digest."""

    def file_create(self, req: Mapping[str, Any]) -> FileCreateResponse:
        payload = req["file"]
        content = payload[1] if isinstance(payload, tuple) else payload
        if hasattr(content, "read"):
            content = content.read()
        digest = compute_file_digest(content)
        expected = req.get("expected_digest")
        if expected and expected != digest:
            raise DigestMismatchError(f"File: expected digest {expected}, computed {digest}")
        with self.store.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO files (project_id, digest, content) VALUES (?, ?, ?)",
                (req["project_id"], digest, content),
            )
        return FileCreateResponse(digest=digest)

    def file_content_read(self, req: Mapping[str, Any]) -> FileContentReadRes:
        rows = self.store.query(
            "SELECT content FROM files WHERE project_id = ? AND digest = ?",
            (req["project_id"], req["digest"]),
        )
        if not rows:
            raise NotFoundError(f"File {req['digest']} not found")
        return FileContentReadRes(content=bytes(rows[0][0]))

    def files_stats(self, req: Mapping[str, Any]) -> FileStatsResponse:
        (total,) = self.store.query(
            "SELECT coalesce(sum(length(content)), 0) FROM files WHERE project_id = ?",
            (req["project_id"],),
        )[0]
        return FileStatsResponse(total_size_bytes=total)
