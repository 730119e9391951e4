"""Refs: reading `weave:///` object and table refs, following their extra path into the value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from weave.trace.errors import InvalidRequest, NotFoundError
from weave.trace.refs import ObjectRef, TableRef
from weave.vendor.weave_server_sdk.types import RefReadBatchResponse

from voicejudge.tracking.refs import REF_PREFIX, parse_ref
from voicejudge.tracking.server.objects import ObjectsMixin
from voicejudge.tracking.server.tables import TablesMixin


class RefsMixin(ObjectsMixin, TablesMixin):
    """Resolves refs to stored values, walking through the objects and tables on their path."""

    def refs_read_batch(self, req: Mapping[str, Any]) -> RefReadBatchResponse:
        return RefReadBatchResponse(vals=[self._read_ref(uri) for uri in req["refs"]])

    def _read_ref(self, uri: str) -> Any:
        ref = parse_ref(uri)
        project_id = f"{ref.entity}/{ref.project}"
        if isinstance(ref, TableRef):
            value: Any = _TableHandle(project_id, ref.digest)
            extra: tuple[str, ...] = ()
        elif isinstance(ref, ObjectRef):
            value = self.obj_read(
                {"project_id": project_id, "object_id": ref.name, "digest": ref.digest}
            ).obj.val
            extra = ref.extra
        else:
            raise InvalidRequest(f"Cannot read ref {uri}")
        for edge, key in zip(extra[::2], extra[1::2], strict=True):
            value = self._follow(value)
            value = self._step(value, edge, key)
        return self._table_rows(value) if isinstance(value, _TableHandle) else value

    def _follow(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith(REF_PREFIX):
            ref = parse_ref(value)
            if isinstance(ref, TableRef):
                return _TableHandle(f"{ref.entity}/{ref.project}", ref.digest)
            return self._read_ref(value)
        return value

    def _step(self, value: Any, edge: str, key: str) -> Any:
        if isinstance(value, _TableHandle):
            row_digests = self._table_row_digests(value.project_id, value.digest)
            if edge == "index" and -len(row_digests) <= int(key) < len(row_digests):
                digest = row_digests[int(key)]
            elif edge == "id" and key in row_digests:
                digest = key
            else:
                raise NotFoundError(f"Row {key} not found in table {value.digest}")
            return self._row_vals(value.project_id, [digest])[digest]
        if edge in ("key", "attr") and isinstance(value, dict):
            if key not in value:
                raise NotFoundError(f"No field {key!r} in referenced value")
            return value[key]
        if edge == "index" and isinstance(value, list) and -len(value) <= int(key) < len(value):
            return value[int(key)]
        raise NotFoundError(f"Cannot follow {edge}/{key} in referenced value")

    def _table_rows(self, table: _TableHandle) -> list[Any]:
        digests = self._table_row_digests(table.project_id, table.digest)
        vals = self._row_vals(table.project_id, digests)
        return [vals[d] for d in digests]


class _TableHandle:
    """A table reached while walking a ref path; rows are read only when needed."""

    __slots__ = ("digest", "project_id")

    def __init__(self, project_id: str, digest: str) -> None:
        self.project_id = project_id
        self.digest = digest
