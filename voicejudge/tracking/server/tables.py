"""Tables: content-addressed rows and the ordered row-digest lists that make a table version."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from typing import Any

from weave.trace.errors import DigestMismatchError, InvalidRequest, NotFoundError
from weave.trace.serialization.digest import compute_row_digest, compute_table_digest
from weave.vendor.weave_server_sdk.types import (
    TableCreateFromDigestsResponse,
    TableCreateResponse,
    TableQueryResponse,
    TableQueryStatsBatchResponse,
    TableQueryStatsResponse,
    TableUpdateResponse,
)
from weave.vendor.weave_server_sdk.types.table_query_response import Row
from weave.vendor.weave_server_sdk.types.table_query_stats_batch_response import Table as TableStats

from voicejudge.tracking import query as q
from voicejudge.tracking.server.base import ServerBase, construct, dumps


class TablesMixin(ServerBase):
    """A table version is a list of row digests; each row is stored once per project."""

    def table_create(self, req: Mapping[str, Any]) -> TableCreateResponse:
        table = req["table"]
        project_id = table["project_id"]
        rows = list(table["rows"])
        row_digests = [compute_row_digest(row) for row in rows]
        digest = compute_table_digest(row_digests)
        expected = table.get("expected_digest")
        if expected and expected != digest:
            raise DigestMismatchError(f"Table: expected digest {expected}, computed {digest}")
        with self.store.write() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO table_rows (project_id, digest, val) VALUES (?, ?, ?)",
                [(project_id, d, dumps(row)) for d, row in zip(row_digests, rows, strict=True)],
            )
            self._insert_table(conn, project_id, digest, row_digests)
        return TableCreateResponse(digest=digest, row_digests=row_digests)

    def table_create_from_digests(self, req: Mapping[str, Any]) -> TableCreateFromDigestsResponse:
        project_id = req["project_id"]
        row_digests = list(req["row_digests"])
        digest = compute_table_digest(row_digests)
        expected = req.get("expected_digest")
        if expected and expected != digest:
            raise DigestMismatchError(f"Table: expected digest {expected}, computed {digest}")
        with self.store.write() as conn:
            (known,) = conn.execute(
                "SELECT count(*) FROM table_rows WHERE project_id = ? AND digest IN "
                "(SELECT value FROM json_each(?))",
                (project_id, json.dumps(sorted(set(row_digests)))),
            ).fetchone()
            if known != len(set(row_digests)):
                raise NotFoundError("Some table rows were not found; create them first")
            self._insert_table(conn, project_id, digest, row_digests)
        return TableCreateFromDigestsResponse(digest=digest)

    def table_update(self, req: Mapping[str, Any]) -> TableUpdateResponse:
        project_id = req["project_id"]
        row_digests = self._table_row_digests(project_id, req["base_digest"])
        new_rows: list[tuple[str, Any]] = []
        for update in req["updates"]:
            if "append" in update:
                row = update["append"]["row"]
                new_rows.append((compute_row_digest(row), row))
                row_digests.append(new_rows[-1][0])
            elif "insert" in update:
                row, index = update["insert"]["row"], update["insert"]["index"]
                if not 0 <= index <= len(row_digests):
                    raise InvalidRequest(
                        f"Cannot insert at row {index} of a {len(row_digests)}-row table"
                    )
                new_rows.append((compute_row_digest(row), row))
                row_digests.insert(index, new_rows[-1][0])
            elif "pop" in update:
                index = update["pop"]["index"]
                if not -len(row_digests) <= index < len(row_digests):
                    raise InvalidRequest(
                        f"Cannot pop row {index} of a {len(row_digests)}-row table"
                    )
                row_digests.pop(index)
            else:
                raise InvalidRequest(f"Unknown table update {update!r}")
        digest = compute_table_digest(row_digests)
        with self.store.write() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO table_rows (project_id, digest, val) VALUES (?, ?, ?)",
                [(project_id, d, dumps(row)) for d, row in new_rows],
            )
            self._insert_table(conn, project_id, digest, row_digests)
        return TableUpdateResponse(digest=digest, updated_row_digests=[d for d, _ in new_rows])

    def table_query(self, req: Mapping[str, Any]) -> TableQueryResponse:
        return TableQueryResponse(rows=list(self.table_query_stream(req)))

    def table_query_stream(self, req: Mapping[str, Any]) -> Iterator[Row]:
        project_id = req["project_id"]
        indexed = list(enumerate(self._table_row_digests(project_id, req["digest"])))
        wanted = (req.get("filter") or {}).get("row_digests")
        if wanted is not None:
            wanted_set = set(wanted)
            indexed = [(i, d) for i, d in indexed if d in wanted_set]
        limit, offset = req.get("limit"), req.get("offset") or 0
        sort_by = list(req.get("sort_by") or [])
        if not sort_by:
            indexed = indexed[offset:] if limit is None else indexed[offset : offset + limit]
        vals = self._row_vals(project_id, [d for _, d in indexed])
        rows = [{"digest": d, "val": vals[d], "original_index": i} for i, d in indexed]
        if sort_by:
            q.sort_rows(rows, [{**s, "field": f"val.{s['field']}"} for s in sort_by])
            rows = rows[offset:] if limit is None else rows[offset : offset + limit]
        for row in rows:
            yield construct(Row, **row)

    def table_query_stats(self, req: Mapping[str, Any]) -> TableQueryStatsResponse:
        return TableQueryStatsResponse(
            count=len(self._table_row_digests(req["project_id"], req["digest"]))
        )

    def table_query_stats_batch(self, req: Mapping[str, Any]) -> TableQueryStatsBatchResponse:
        project_id = req["project_id"]
        tables = []
        for digest in req.get("digests") or []:
            row_digests = self._table_row_digests(project_id, digest)
            size = None
            if req.get("include_storage_size"):
                (size,) = self.store.query(
                    "SELECT coalesce(sum(length(val)), 0) FROM table_rows WHERE project_id = ? "
                    "AND digest IN (SELECT value FROM json_each(?))",
                    (project_id, json.dumps(row_digests)),
                )[0]
            tables.append(
                TableStats(count=len(row_digests), digest=digest, storage_size_bytes=size)
            )
        return TableQueryStatsBatchResponse(tables=tables)

    @staticmethod
    def _insert_table(
        conn: sqlite3.Connection, project_id: str, digest: str, row_digests: list[str]
    ) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO tables (project_id, digest, row_digests) VALUES (?, ?, ?)",
            (project_id, digest, json.dumps(row_digests)),
        )

    def _table_row_digests(self, project_id: str, digest: str) -> list[str]:
        rows = self.store.query(
            "SELECT row_digests FROM tables WHERE project_id = ? AND digest = ?",
            (project_id, digest),
        )
        if not rows:
            raise NotFoundError(f"Table {digest} not found")
        return json.loads(rows[0][0])

    def _row_vals(self, project_id: str, digests: list[str]) -> dict[str, Any]:
        if not digests:
            return {}
        rows = self.store.query(
            "SELECT digest, val FROM table_rows WHERE project_id = ? AND digest IN "
            "(SELECT value FROM json_each(?))",
            (project_id, json.dumps(sorted(set(digests)))),
        )
        return {digest: json.loads(val) for digest, val in rows}
