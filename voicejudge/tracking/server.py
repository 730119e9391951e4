"""`LocalTraceServer`: the trace-server methods the weave 0.54 client calls, on a SQLite file.

The client hands requests over as plain dicts shaped like the REST bodies and expects weave's
own response models back, so an unchanged `WeaveClient` runs on it fully offline. Digests are
computed with weave's own functions, so refs made here equal what hosted Weave would make.
"""

from __future__ import annotations

import atexit
import datetime as dt
import getpass
import json
import re
import sqlite3
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from weave.trace.errors import (
    DigestMismatchError,
    InvalidRequest,
    NotFoundError,
    ObjectDeletedError,
)
from weave.trace.refs import ObjectRef, Ref, TableRef
from weave.trace.serialization.digest import (
    compute_file_digest,
    compute_object_digest_result,
    compute_row_digest,
    compute_table_digest,
)
from weave.trace_server_bindings.models import (
    CallsQueryRes,
    EnsureProjectExistsRes,
    FileContentReadRes,
)
from weave.vendor.weave_server_sdk.types import (
    CallDeleteResponse,
    CallQueryStatsResponse,
    CallReadResponse,
    CallStartResponse,
    FeedbackBatchCreateResponse,
    FeedbackCreateResponse,
    FeedbackQueryResponse,
    FeedbackReplaceResponse,
    FileCreateResponse,
    FileStatsResponse,
    ObjectCreateResponse,
    ObjectDeleteResponse,
    ObjectQueryResponse,
    ObjectReadResponse,
    RefReadBatchResponse,
    ServerInfoRes,
    TableCreateFromDigestsResponse,
    TableCreateResponse,
    TableQueryResponse,
    TableQueryStatsBatchResponse,
    TableQueryStatsResponse,
    TableUpdateResponse,
)
from weave.vendor.weave_server_sdk.types.call_read_response import Call
from weave.vendor.weave_server_sdk.types.object_delete_response import DeletedVersion
from weave.vendor.weave_server_sdk.types.object_query_response import Obj as ListedObj
from weave.vendor.weave_server_sdk.types.object_read_response import Obj
from weave.vendor.weave_server_sdk.types.objects import AliasListResponse, TagListResponse
from weave.vendor.weave_server_sdk.types.table_query_response import Row
from weave.vendor.weave_server_sdk.types.table_query_stats_batch_response import (
    Table as TableStats,
)

from voicejudge.tracking import query as q
from voicejudge.tracking.call_queue import CallWrite, CallWriteQueue
from voicejudge.tracking.processes import process_ended, this_process
from voicejudge.tracking.refs import REF_PREFIX, refs_in
from voicejudge.tracking.store import SQLiteStore

_CALL_COLUMNS = (
    "id, project_id, trace_id, parent_id, thread_id, turn_id, op_name, display_name, "
    "started_at, ended_at, exception, attributes, inputs, output, summary, wb_user_id, "
    "wb_run_id, wb_run_step, wb_run_step_end"
)
_UPSERT_CALL_START = (
    "INSERT INTO calls (project_id, id, trace_id, parent_id, thread_id, turn_id, op_name, "
    "op_base, display_name, started_at, attributes, inputs, wb_user_id, wb_run_id, wb_run_step, "
    "writer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (project_id, id) DO UPDATE SET trace_id = excluded.trace_id, "
    "parent_id = excluded.parent_id, thread_id = excluded.thread_id, "
    "turn_id = excluded.turn_id, op_name = excluded.op_name, op_base = excluded.op_base, "
    "display_name = coalesce(calls.display_name, excluded.display_name), "
    "started_at = excluded.started_at, attributes = excluded.attributes, "
    "inputs = excluded.inputs, wb_user_id = excluded.wb_user_id, "
    "wb_run_id = excluded.wb_run_id, wb_run_step = excluded.wb_run_step, "
    "writer = excluded.writer"
)
_UPSERT_CALL_END = (
    "INSERT INTO calls (project_id, id, trace_id, ended_at, exception, output, summary, "
    "wb_run_step_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (project_id, id) DO UPDATE SET ended_at = excluded.ended_at, "
    "exception = excluded.exception, output = excluded.output, summary = excluded.summary, "
    "wb_run_step_end = excluded.wb_run_step_end"
)
_CALL_SQL_FIELDS = {
    "id": "id",
    "op_name": "op_name",
    "trace_id": "trace_id",
    "parent_id": "parent_id",
    "display_name": "display_name",
    "thread_id": "thread_id",
    "wb_run_id": "wb_run_id",
}
_CALL_SQL_SORTS = {"started_at", "ended_at", "op_name", "id", "display_name", "trace_id"}
_FEEDBACK_COLUMNS = (
    "id, project_id, weave_ref, feedback_type, payload, creator, created_at, wb_user_id, "
    "annotation_ref, runnable_ref, call_ref, trigger_ref, queue_id, extra"
)
_FEEDBACK_SQL_FIELDS = {
    name: name
    for name in (
        "id",
        "weave_ref",
        "feedback_type",
        "creator",
        "wb_user_id",
        "annotation_ref",
        "runnable_ref",
        "call_ref",
        "queue_id",
    )
}
_FEEDBACK_EXTRA_DEFAULTS: dict[str, Any] = {
    "scorer_tags": [],
    "scorer_tag_reasons": {},
    "scorer_tag_confidences": {},
    "scorer_ratings": {},
    "scorer_rating_reasons": {},
    "scorer_rating_confidences": {},
    "span_agent_name": "",
    "span_agent_version": "",
    "span_status_code": "UNSET",
    "span_conversation_id": "",
    "span_trace_id": "",
    "scorer_trace_id": "",
}
_OBJECT_SORTS = {"created_at", "object_id", "version_index", "digest"}
_VERSION_ALIAS = re.compile(r"^v(\d+)$")


class LocalTraceServer:
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
                [(_now(), exception, project, call) for project, call in orphaned],
            )
        return len(orphaned)

    # Service -------------------------------------------------------------------------------

    def server_info(self) -> ServerInfoRes:
        return ServerInfoRes(
            min_required_weave_python_version="0.0.0", trace_server_version="local"
        )

    def ensure_project_exists(self, entity: str, project: str) -> EnsureProjectExistsRes:
        return EnsureProjectExistsRes(project_name=project)

    # Calls ---------------------------------------------------------------------------------

    def call_start(self, req: Mapping[str, Any]) -> CallStartResponse:
        start = dict(req["start"])
        start["id"] = start.get("id") or _new_id()
        start["trace_id"] = start.get("trace_id") or _new_id()
        self.call_processor.put("start", {"start": start})
        return CallStartResponse(id=start["id"], trace_id=start["trace_id"])

    def call_end(self, req: Mapping[str, Any]) -> None:
        self.call_processor.put("end", dict(req))

    def _write_calls(self, items: list[CallWrite]) -> None:
        """Persist a batch of queued starts and ends in one transaction."""
        starts, ends, refs = [], [], []
        for kind, req in items:
            if kind == "start":
                start = req["start"]
                project_id, call_id, op_name = start["project_id"], start["id"], start["op_name"]
                starts.append(
                    (
                        project_id,
                        call_id,
                        start["trace_id"],
                        start.get("parent_id"),
                        start.get("thread_id"),
                        start.get("turn_id"),
                        op_name,
                        _op_base(op_name),
                        start.get("display_name"),
                        _timestamp(start["started_at"]),
                        _dumps(start.get("attributes") or {}),
                        inputs := _dumps(start.get("inputs") or {}),
                        start.get("wb_user_id") or self.user,
                        start.get("wb_run_id"),
                        start.get("wb_run_step"),
                        self.writer,
                    )
                )
                if REF_PREFIX in inputs:
                    refs += [(project_id, call_id, "input", r) for r in refs_in(start["inputs"])]
            else:
                end = req["end"]
                project_id, call_id = end["project_id"], end["id"]
                ends.append(
                    (
                        project_id,
                        call_id,
                        end.get("trace_id"),
                        _timestamp(end["ended_at"]),
                        end.get("exception"),
                        output := _dumps(end.get("output")),
                        _dumps(end.get("summary") or {}),
                        end.get("wb_run_step_end"),
                    )
                )
                if REF_PREFIX in output:
                    refs += [(project_id, call_id, "output", r) for r in refs_in(end["output"])]
        with self.store.write() as conn:
            conn.executemany(_UPSERT_CALL_START, starts)
            conn.executemany(_UPSERT_CALL_END, ends)
            conn.executemany(
                "INSERT OR IGNORE INTO call_refs (project_id, call_id, direction, ref) "
                "VALUES (?, ?, ?, ?)",
                refs,
            )

    def call_update(self, req: Mapping[str, Any]) -> None:
        self.call_processor.flush()
        with self.store.write() as conn:
            updated = conn.execute(
                "UPDATE calls SET display_name = ? WHERE project_id = ? AND id = ?",
                (req.get("display_name"), req["project_id"], req["call_id"]),
            ).rowcount
        if not updated:
            raise NotFoundError(f"Call {req['call_id']} not found")

    def call_read(self, req: Mapping[str, Any]) -> CallReadResponse:
        calls = list(
            self.calls_query_stream(
                {"project_id": req["project_id"], "filter": {"call_ids": [req["id"]]}}
            )
        )
        return CallReadResponse(call=calls[0] if calls else None)

    def calls_query(self, req: Mapping[str, Any]) -> CallsQueryRes:
        return CallsQueryRes(calls=list(self.calls_query_stream(req)))

    def calls_query_stream(self, req: Mapping[str, Any]) -> Iterator[Call]:
        project_id = req["project_id"]
        rows = self._select_calls(req)
        feedback = self._feedback_by_call(project_id, rows) if req.get("include_feedback") else {}
        for row in rows:
            if req.get("include_feedback"):
                row["summary"]["weave"]["feedback"] = feedback.get(row["id"], [])
            yield _to_call(row)

    def calls_query_stats(self, req: Mapping[str, Any]) -> CallQueryStatsResponse:
        if req.get("query"):
            count = len(self._select_calls({**req, "limit": None, "offset": None, "sort_by": None}))
        else:
            self.call_processor.flush()
            clauses, params = _call_filter_sql(req["project_id"], req.get("filter") or {})
            clauses.append("started_at IS NOT NULL")
            sql = f"SELECT count(*) FROM calls WHERE {' AND '.join(clauses)}"
            count = self.store.query(sql, params)[0][0]
        limit = req.get("limit")
        has_more = None
        if limit is not None and count > limit:
            count, has_more = limit, True
        return CallQueryStatsResponse(count=count, has_more=has_more)

    def calls_delete(self, req: Mapping[str, Any]) -> CallDeleteResponse:
        self.call_processor.flush()
        project_id = req["project_id"]
        with self.store.write() as conn:
            pending = list(req["call_ids"])
            doomed: set[str] = set()
            while pending:
                batch = [c for c in pending if c not in doomed]
                doomed.update(batch)
                if not batch:
                    break
                pending = [
                    row[0]
                    for row in conn.execute(
                        "SELECT id FROM calls WHERE project_id = ? AND parent_id IN "
                        "(SELECT value FROM json_each(?))",
                        (project_id, json.dumps(batch)),
                    )
                ]
            ids = json.dumps(sorted(doomed))
            deleted = conn.execute(
                "DELETE FROM calls WHERE project_id = ? AND id IN (SELECT value FROM json_each(?))",
                (project_id, ids),
            ).rowcount
            conn.execute(
                "DELETE FROM call_refs WHERE project_id = ? AND call_id IN "
                "(SELECT value FROM json_each(?))",
                (project_id, ids),
            )
        return CallDeleteResponse(num_deleted=deleted)

    def _select_calls(self, req: Mapping[str, Any]) -> list[dict[str, Any]]:
        self.call_processor.flush()
        project_id = req["project_id"]
        clauses, params = _call_filter_sql(project_id, req.get("filter") or {})
        query = req.get("query")
        extra_clauses, extra_params = q.sql_prefilter(query, _CALL_SQL_FIELDS)
        clauses += extra_clauses
        params += extra_params
        sort_by = list(req.get("sort_by") or [])
        sql_sort = all(spec["field"] in _CALL_SQL_SORTS for spec in sort_by)
        order = ", ".join(
            f"{spec['field']} {'DESC' if spec.get('direction') == 'desc' else 'ASC'} NULLS LAST"
            for spec in sort_by
        )
        # A call whose end arrived before its start (another process mid-write) is not shown.
        clauses.append("started_at IS NOT NULL")
        sql = f"SELECT {_CALL_COLUMNS} FROM calls WHERE {' AND '.join(clauses)}"
        if sql_sort:
            sql += f" ORDER BY {order + ', ' if order else ''}started_at, rowid"
        limit, offset = req.get("limit"), req.get("offset") or 0
        sliced_in_sql = sql_sort and not query
        if sliced_in_sql and (limit is not None or offset):
            sql += " LIMIT ? OFFSET ?"
            params += [-1 if limit is None else limit, offset]
        rows = [_call_row(r) for r in self.store.query(sql, params)]
        if query:
            rows = [row for row in rows if q.matches(query, row)]
        if not sql_sort:
            rows.sort(key=lambda row: row["started_at"] or "")
            q.sort_rows(rows, sort_by)
        if not sliced_in_sql:
            rows = rows[offset:] if limit is None else rows[offset : offset + limit]
        return rows

    def _feedback_by_call(
        self, project_id: str, rows: list[dict[str, Any]]
    ) -> dict[str, list[dict[str, Any]]]:
        by_ref = {_call_uri(project_id, row["id"]): row["id"] for row in rows}
        found: dict[str, list[dict[str, Any]]] = {}
        for record in self.store.query(
            f"SELECT {_FEEDBACK_COLUMNS} FROM feedback WHERE project_id = ? AND weave_ref IN "
            "(SELECT value FROM json_each(?)) ORDER BY created_at, rowid",
            (project_id, json.dumps(list(by_ref))),
        ):
            item = _feedback_row(record)
            found.setdefault(by_ref[item["weave_ref"]], []).append(item)
        return found

    # Objects -------------------------------------------------------------------------------

    def obj_create(self, req: Mapping[str, Any]) -> ObjectCreateResponse:
        obj = req["obj"]
        project_id, object_id = obj["project_id"], obj["object_id"]
        result = compute_object_digest_result(obj["val"], obj.get("builtin_object_class"))
        expected = obj.get("expected_digest")
        if expected and expected != result.digest:
            raise DigestMismatchError(
                f"Object {object_id}: expected digest {expected}, computed {result.digest}"
            )
        kind = "op" if _is_op(result.processed_val) else "object"
        base_class = obj.get("set_base_object_class") or result.base_object_class
        with self.store.write() as conn:
            existing = conn.execute(
                "SELECT deleted_at FROM objects "
                "WHERE project_id = ? AND object_id = ? AND digest = ?",
                (project_id, object_id, result.digest),
            ).fetchone()
            if existing is not None:
                if existing[0] is not None:
                    conn.execute(
                        "UPDATE objects SET deleted_at = NULL WHERE project_id = ? AND "
                        "object_id = ? AND digest = ?",
                        (project_id, object_id, result.digest),
                    )
            else:
                (next_version,) = conn.execute(
                    "SELECT coalesce(max(version_index) + 1, 0) FROM objects "
                    "WHERE project_id = ? AND object_id = ?",
                    (project_id, object_id),
                ).fetchone()
                conn.execute(
                    "INSERT INTO objects (project_id, object_id, digest, version_index, kind, "
                    "base_object_class, leaf_object_class, val, created_at, wb_user_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        project_id,
                        object_id,
                        result.digest,
                        next_version,
                        kind,
                        base_class,
                        result.leaf_object_class,
                        result.json_val,
                        _now(),
                        obj.get("wb_user_id") or self.user,
                    ),
                )
        return ObjectCreateResponse(digest=result.digest, object_id=object_id)

    def obj_read(self, req: Mapping[str, Any]) -> ObjectReadResponse:
        project_id, object_id = req["project_id"], req["object_id"]
        digest = self._resolve_digest(project_id, object_id, req["digest"])
        objs = self._select_objects(
            project_id,
            ["object_id = ?", "digest = ?"],
            [object_id, digest],
            metadata_only=bool(req.get("metadata_only")),
            with_tags=bool(req.get("include_tags_and_aliases")),
        )
        return ObjectReadResponse(obj=objs[0])

    def objs_query(self, req: Mapping[str, Any]) -> ObjectQueryResponse:
        project_id = req["project_id"]
        flt = req.get("filter") or {}
        clauses: list[str] = []
        params: list[Any] = []
        for key, column in (
            ("object_ids", "object_id"),
            ("base_object_classes", "base_object_class"),
            ("leaf_object_classes", "leaf_object_class"),
        ):
            if flt.get(key) is not None:
                clauses.append(f"{column} IN (SELECT value FROM json_each(?))")
                params.append(json.dumps(list(flt[key])))
        if flt.get("exclude_base_object_classes"):
            clauses.append(
                "coalesce(base_object_class, '') NOT IN (SELECT value FROM json_each(?))"
            )
            params.append(json.dumps(list(flt["exclude_base_object_classes"])))
        if flt.get("is_op") is not None:
            clauses.append("kind = ?")
            params.append("op" if flt["is_op"] else "object")
        if flt.get("latest_only"):
            clauses.append(
                "version_index = (SELECT max(o2.version_index) FROM objects o2 WHERE "
                "o2.project_id = objects.project_id AND o2.object_id = objects.object_id "
                "AND o2.deleted_at IS NULL)"
            )
        if flt.get("tags"):
            clauses.append(
                "EXISTS (SELECT 1 FROM object_tags t WHERE t.project_id = objects.project_id "
                "AND t.object_id = objects.object_id AND t.digest = objects.digest "
                "AND t.tag IN (SELECT value FROM json_each(?)))"
            )
            params.append(json.dumps(list(flt["tags"])))
        if flt.get("aliases"):
            clauses.append(
                "EXISTS (SELECT 1 FROM object_aliases a WHERE a.project_id = objects.project_id "
                "AND a.object_id = objects.object_id AND a.digest = objects.digest "
                "AND a.alias IN (SELECT value FROM json_each(?)))"
            )
            params.append(json.dumps(list(flt["aliases"])))
        order = [
            f"{spec['field']} {'DESC' if spec.get('direction') == 'desc' else 'ASC'} NULLS LAST"
            for spec in req.get("sort_by") or []
            if spec["field"] in _OBJECT_SORTS
        ]
        objs = self._select_objects(
            project_id,
            clauses,
            params,
            metadata_only=bool(req.get("metadata_only")),
            with_tags=bool(req.get("include_tags_and_aliases")),
            order=", ".join([*order, "created_at", "rowid"]),
            limit=req.get("limit"),
            offset=req.get("offset"),
            model=ListedObj,
        )
        return ObjectQueryResponse(objs=objs)

    def obj_delete(self, req: Mapping[str, Any]) -> ObjectDeleteResponse:
        project_id, object_id = req["project_id"], req["object_id"]
        digests = [self._resolve_digest(project_id, object_id, d) for d in req.get("digests") or []]
        with self.store.write() as conn:
            rows = conn.execute(
                "SELECT digest, base_object_class, leaf_object_class FROM objects WHERE "
                "project_id = ? AND object_id = ? AND deleted_at IS NULL",
                (project_id, object_id),
            ).fetchall()
            doomed = [r for r in rows if not digests or r[0] in digests]
            if not doomed:
                raise NotFoundError(f"Object {object_id} not found")
            conn.executemany(
                "UPDATE objects SET deleted_at = ? WHERE project_id = ? AND object_id = ? "
                "AND digest = ?",
                [(_now(), project_id, object_id, r[0]) for r in doomed],
            )
        return ObjectDeleteResponse(
            num_deleted=len(doomed),
            deleted_versions=[
                DeletedVersion(digest=r[0], base_object_class=r[1], leaf_object_class=r[2])
                for r in doomed
            ],
        )

    def obj_add_tags(self, req: Mapping[str, Any]) -> None:
        self._change_tags(
            req,
            "INSERT OR IGNORE INTO object_tags (project_id, object_id, digest, tag) "
            "VALUES (?, ?, ?, ?)",
        )

    def obj_remove_tags(self, req: Mapping[str, Any]) -> None:
        self._change_tags(
            req,
            "DELETE FROM object_tags WHERE project_id = ? AND object_id = ? AND digest = ? "
            "AND tag = ?",
        )

    def _change_tags(self, req: Mapping[str, Any], statement: str) -> None:
        project_id, object_id = req["project_id"], req["object_id"]
        digest = self._resolve_digest(project_id, object_id, req["digest"])
        with self.store.write() as conn:
            conn.executemany(statement, [(project_id, object_id, digest, t) for t in req["tags"]])

    def obj_set_aliases(self, req: Mapping[str, Any]) -> None:
        project_id, object_id = req["project_id"], req["object_id"]
        reserved = [a for a in req["aliases"] if a == "latest" or _VERSION_ALIAS.match(a)]
        if reserved:
            raise InvalidRequest(f"Aliases {reserved} are reserved for version lookups")
        digest = self._resolve_digest(project_id, object_id, req["digest"])
        with self.store.write() as conn:
            conn.executemany(
                "INSERT INTO object_aliases (project_id, object_id, alias, digest) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (project_id, object_id, alias) "
                "DO UPDATE SET digest = excluded.digest",
                [(project_id, object_id, alias, digest) for alias in req["aliases"]],
            )

    def obj_remove_aliases(self, req: Mapping[str, Any]) -> None:
        with self.store.write() as conn:
            conn.executemany(
                "DELETE FROM object_aliases WHERE project_id = ? AND object_id = ? AND alias = ?",
                [(req["project_id"], req["object_id"], alias) for alias in req["aliases"]],
            )

    def tags_list(self, req: Mapping[str, Any]) -> TagListResponse:
        rows = self.store.query(
            "SELECT DISTINCT tag FROM object_tags WHERE project_id = ? ORDER BY tag",
            (req["project_id"],),
        )
        return TagListResponse(tags=[r[0] for r in rows])

    def aliases_list(self, req: Mapping[str, Any]) -> AliasListResponse:
        rows = self.store.query(
            "SELECT DISTINCT alias FROM object_aliases WHERE project_id = ? ORDER BY alias",
            (req["project_id"],),
        )
        return AliasListResponse(aliases=[r[0] for r in rows])

    def _resolve_digest(self, project_id: str, object_id: str, version: str) -> str:
        """Turn `latest`, `vN`, an alias or a digest into the digest of a live version."""
        base = (
            "SELECT digest FROM objects WHERE project_id = ? AND object_id = ? "
            "AND deleted_at IS NULL "
        )
        args: tuple[Any, ...] = (project_id, object_id)
        numbered = _VERSION_ALIAS.match(version)
        if version == "latest":
            rows = self.store.query(base + "ORDER BY version_index DESC LIMIT 1", args)
        elif numbered:
            rows = self.store.query(base + "AND version_index = ?", (*args, int(numbered[1])))
        else:
            rows = self.store.query(base + "AND digest = ?", (*args, version))
            if not rows:
                rows = self.store.query(
                    "SELECT a.digest FROM object_aliases a JOIN objects o ON "
                    "o.project_id = a.project_id AND o.object_id = a.object_id AND "
                    "o.digest = a.digest WHERE a.project_id = ? AND a.object_id = ? "
                    "AND a.alias = ? AND o.deleted_at IS NULL",
                    (*args, version),
                )
        if not rows:
            deleted = self.store.query(
                "SELECT deleted_at FROM objects WHERE project_id = ? AND object_id = ? "
                "AND deleted_at IS NOT NULL AND (digest = ? OR ? = 'v' || version_index)",
                (*args, version, version),
            )
            if deleted:
                raise ObjectDeletedError(
                    f"Object {object_id}:{version} was deleted", _parse_time(deleted[0][0])
                )
            raise NotFoundError(f"Object {object_id}:{version} not found")
        return rows[0][0]

    def _select_objects(
        self,
        project_id: str,
        clauses: list[str],
        params: list[Any],
        *,
        metadata_only: bool = False,
        with_tags: bool = False,
        order: str = "created_at, rowid",
        limit: int | None = None,
        offset: int | None = None,
        model: type[Obj] | type[ListedObj] = Obj,
    ) -> list[Any]:
        where = " AND ".join(["project_id = ?", "deleted_at IS NULL", *clauses])
        sql = (
            "SELECT object_id, digest, version_index, kind, base_object_class, "
            f"leaf_object_class, {'NULL' if metadata_only else 'val'}, created_at, wb_user_id, "
            "length(val), (SELECT max(o2.version_index) FROM objects o2 WHERE "
            "o2.project_id = objects.project_id AND o2.object_id = objects.object_id "
            f"AND o2.deleted_at IS NULL) FROM objects WHERE {where} ORDER BY {order}"
        )
        args = [project_id, *params]
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            args += [-1 if limit is None else limit, offset or 0]
        objs = []
        for row in self.store.query(sql, args):
            object_id, digest, version_index, kind, base, leaf, val, created, user, size, top = row
            tags: list[str] | None = None
            aliases: list[str] | None = None
            if with_tags:
                tags, aliases = self._tags_and_aliases(project_id, object_id, digest)
                if version_index == top:
                    aliases = ["latest", *aliases]
            objs.append(
                _construct(
                    model,
                    object_id=object_id,
                    project_id=project_id,
                    digest=digest,
                    version_index=version_index,
                    kind=kind,
                    base_object_class=base,
                    leaf_object_class=leaf,
                    val={} if val is None else json.loads(val),
                    created_at=_parse_time(created),
                    wb_user_id=user,
                    size_bytes=size,
                    is_latest=int(version_index == top),
                    deleted_at=None,
                    tags=tags,
                    aliases=aliases,
                )
            )
        return objs

    def _tags_and_aliases(
        self, project_id: str, object_id: str, digest: str
    ) -> tuple[list[str], list[str]]:
        tags = self.store.query(
            "SELECT tag FROM object_tags WHERE project_id = ? AND object_id = ? AND digest = ? "
            "ORDER BY tag",
            (project_id, object_id, digest),
        )
        aliases = self.store.query(
            "SELECT alias FROM object_aliases WHERE project_id = ? AND object_id = ? "
            "AND digest = ? ORDER BY alias",
            (project_id, object_id, digest),
        )
        return [r[0] for r in tags], [r[0] for r in aliases]

    # Tables --------------------------------------------------------------------------------

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
                [(project_id, d, _dumps(row)) for d, row in zip(row_digests, rows, strict=True)],
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
                [(project_id, d, _dumps(row)) for d, row in new_rows],
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
            yield _construct(Row, **row)

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

    # Refs ----------------------------------------------------------------------------------

    def refs_read_batch(self, req: Mapping[str, Any]) -> RefReadBatchResponse:
        return RefReadBatchResponse(vals=[self._read_ref(uri) for uri in req["refs"]])

    def _read_ref(self, uri: str) -> Any:
        ref = Ref.parse_uri(uri)
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
            ref = Ref.parse_uri(value)
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

    # Files ---------------------------------------------------------------------------------

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

    # Feedback ------------------------------------------------------------------------------

    def feedback_create(self, req: Mapping[str, Any]) -> FeedbackCreateResponse:
        with self.store.write() as conn:
            row = self._insert_feedback(conn, req)
        return FeedbackCreateResponse(**_feedback_reply(row))

    def feedback_create_batch(self, req: Mapping[str, Any]) -> FeedbackBatchCreateResponse:
        with self.store.write() as conn:
            rows = [self._insert_feedback(conn, item) for item in req["batch"]]
        return FeedbackBatchCreateResponse.model_validate(
            {"res": [_feedback_reply(row) for row in rows]}
        )

    def feedback_query(self, req: Mapping[str, Any]) -> FeedbackQueryResponse:
        rows = self._select_feedback(req["project_id"], req.get("query"))
        q.sort_rows(rows, req.get("sort_by") or [{"field": "created_at", "direction": "asc"}])
        total = len(rows)
        offset, limit = req.get("offset") or 0, req.get("limit")
        rows = rows[offset:] if limit is None else rows[offset : offset + limit]
        fields = req.get("fields")
        if fields:
            rows = [{field: q.get_field(row, field) for field in fields} for row in rows]
        return FeedbackQueryResponse(result=rows, total_count=total)

    def feedback_purge(self, req: Mapping[str, Any]) -> None:
        project_id = req["project_id"]
        ids = [row["id"] for row in self._select_feedback(project_id, req["query"])]
        with self.store.write() as conn:
            conn.execute(
                "DELETE FROM feedback WHERE project_id = ? AND id IN "
                "(SELECT value FROM json_each(?))",
                (project_id, json.dumps(ids)),
            )

    def feedback_replace(self, req: Mapping[str, Any]) -> FeedbackReplaceResponse:
        fields = {k: v for k, v in req.items() if k != "feedback_id"}
        with self.store.write() as conn:
            gone = conn.execute(
                "DELETE FROM feedback WHERE project_id = ? AND id = ?",
                (req["project_id"], req["feedback_id"]),
            ).rowcount
            if not gone:
                raise NotFoundError(f"Feedback {req['feedback_id']} not found")
            row = self._insert_feedback(conn, fields)
        return FeedbackReplaceResponse(**_feedback_reply(row))

    def _insert_feedback(self, conn: sqlite3.Connection, req: Mapping[str, Any]) -> dict[str, Any]:
        feedback_id = req.get("id") or _new_id()
        created_at = _now()
        user = req.get("wb_user_id") or self.user
        extra = {key: req[key] for key in _FEEDBACK_EXTRA_DEFAULTS if key in req}
        payload = dict(req["payload"])
        try:
            conn.execute(
                f"INSERT INTO feedback ({_FEEDBACK_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    feedback_id,
                    req["project_id"],
                    req["weave_ref"],
                    req["feedback_type"],
                    _dumps(payload),
                    req.get("creator"),
                    created_at,
                    user,
                    req.get("annotation_ref"),
                    req.get("runnable_ref"),
                    req.get("call_ref"),
                    req.get("trigger_ref"),
                    req.get("queue_id"),
                    _dumps(extra),
                ),
            )
        except sqlite3.IntegrityError:
            raise InvalidRequest(f"Feedback {feedback_id} already exists") from None
        return {"id": feedback_id, "created_at": created_at, "payload": payload, "wb_user_id": user}

    def _select_feedback(
        self, project_id: str, query: Mapping[str, Any] | None
    ) -> list[dict[str, Any]]:
        clauses, params = q.sql_prefilter(query, _FEEDBACK_SQL_FIELDS)
        where = " AND ".join(["project_id = ?", *clauses])
        records = self.store.query(
            f"SELECT {_FEEDBACK_COLUMNS} FROM feedback WHERE {where} ORDER BY created_at, rowid",
            [project_id, *params],
        )
        rows = [_feedback_row(record) for record in records]
        return [row for row in rows if q.matches(query, row)]


class _TableHandle:
    """A table reached while walking a ref path; rows are read only when needed."""

    __slots__ = ("digest", "project_id")

    def __init__(self, project_id: str, digest: str) -> None:
        self.project_id = project_id
        self.digest = digest


def _call_filter_sql(project_id: str, flt: Mapping[str, Any]) -> tuple[list[str], list[Any]]:
    clauses = ["project_id = ?"]
    params: list[Any] = [project_id]
    for key, column in (
        ("call_ids", "id"),
        ("trace_ids", "trace_id"),
        ("parent_ids", "parent_id"),
        ("thread_ids", "thread_id"),
        ("turn_ids", "turn_id"),
        ("wb_run_ids", "wb_run_id"),
        ("wb_user_ids", "wb_user_id"),
    ):
        if flt.get(key) is not None:
            clauses.append(f"{column} IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(flt[key])))
    if flt.get("trace_roots_only"):
        clauses.append("parent_id IS NULL")
    if flt.get("op_names") is not None:
        exact = [n for n in flt["op_names"] if not n.endswith(":*")]
        wildcard = [n[:-2] for n in flt["op_names"] if n.endswith(":*")]
        clauses.append(
            "(op_name IN (SELECT value FROM json_each(?)) OR "
            "op_base IN (SELECT value FROM json_each(?)))"
        )
        params += [json.dumps(exact), json.dumps(wildcard)]
    for key, direction in (("input_refs", "input"), ("output_refs", "output")):
        if flt.get(key) is not None:
            clauses.append(
                "id IN (SELECT call_id FROM call_refs WHERE project_id = ? AND direction = ? "
                "AND ref IN (SELECT value FROM json_each(?)))"
            )
            params += [project_id, direction, json.dumps(list(flt[key]))]
    return clauses, params


def _call_row(record: tuple[Any, ...]) -> dict[str, Any]:
    (
        call_id,
        project_id,
        trace_id,
        parent_id,
        thread_id,
        turn_id,
        op_name,
        display_name,
        started_at,
        ended_at,
        exception,
        attributes,
        inputs,
        output,
        summary,
        wb_user_id,
        wb_run_id,
        wb_run_step,
        wb_run_step_end,
    ) = record
    summary_val = json.loads(summary) if summary else {}
    row = {
        "id": call_id,
        "project_id": project_id,
        "trace_id": trace_id,
        "parent_id": parent_id,
        "thread_id": thread_id,
        "turn_id": turn_id,
        "op_name": op_name or "",
        "display_name": display_name,
        "started_at": started_at,
        "ended_at": ended_at,
        "exception": exception,
        "attributes": json.loads(attributes) if attributes else {},
        "inputs": json.loads(inputs) if inputs else {},
        "output": json.loads(output) if output is not None else None,
        "summary": summary_val,
        "wb_user_id": wb_user_id,
        "wb_run_id": wb_run_id,
        "wb_run_step": wb_run_step,
        "wb_run_step_end": wb_run_step_end,
    }
    summary_val["weave"] = {**summary_val.get("weave", {}), **_weave_summary(row)}
    return row


def _weave_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """The `summary.weave` fields hosted Weave derives for each call."""
    if row["exception"]:
        status = "error"
    elif row["ended_at"] is None:
        status = "running"
    elif (row["summary"].get("status_counts") or {}).get("error", 0) > 0:
        status = "descendant_error"
    else:
        status = "success"
    latency_ms = None
    if row["started_at"] and row["ended_at"]:
        elapsed = _parse_time(row["ended_at"]) - _parse_time(row["started_at"])
        latency_ms = int(elapsed.total_seconds() * 1000)
    return {
        "status": status,
        "trace_name": row["display_name"] or _op_short_name(row["op_name"]),
        "latency_ms": latency_ms,
    }


_UNTRACKED_CALL_FIELDS = dict.fromkeys(
    ("deleted_at", "expire_at", "storage_size_bytes", "total_storage_size_bytes", "wb_username")
)


def _to_call(row: dict[str, Any]) -> Call:
    return _construct(
        Call,
        **{
            **row,
            "started_at": _parse_time(row["started_at"]) if row["started_at"] else None,
            "ended_at": _parse_time(row["ended_at"]) if row["ended_at"] else None,
            **_UNTRACKED_CALL_FIELDS,
        },
    )


def _construct(model: type[BaseModel], **fields: Any) -> Any:
    """Build a response model from values that already have the right types.

    The generated models' own `model_construct` re-walks every nested value and costs about
    seven times as much, which dominates reading thousands of calls.
    """
    return _pydantic_construct(model, **fields)


_pydantic_construct = BaseModel.model_construct.__func__  # type: ignore[attr-defined]


def _feedback_row(record: tuple[Any, ...]) -> dict[str, Any]:
    (
        feedback_id,
        project_id,
        weave_ref,
        feedback_type,
        payload,
        creator,
        created_at,
        wb_user_id,
        annotation_ref,
        runnable_ref,
        call_ref,
        trigger_ref,
        queue_id,
        extra,
    ) = record
    return {
        "id": feedback_id,
        "project_id": project_id,
        "weave_ref": weave_ref,
        "feedback_type": feedback_type,
        "payload": json.loads(payload),
        "creator": creator,
        "created_at": created_at,
        "wb_user_id": wb_user_id,
        "annotation_ref": annotation_ref,
        "runnable_ref": runnable_ref,
        "call_ref": call_ref,
        "trigger_ref": trigger_ref,
        "queue_id": queue_id,
        **_FEEDBACK_EXTRA_DEFAULTS,
        **json.loads(extra),
    }


def _feedback_reply(row: Mapping[str, Any]) -> dict[str, Any]:
    return {**row, "created_at": _parse_time(row["created_at"])}


def _is_op(val: Any) -> bool:
    return (
        isinstance(val, dict)
        and val.get("_type") == "CustomWeaveType"
        and (val.get("weave_type") or {}).get("type") == "Op"
    )


def _op_base(op_name: str) -> str:
    """`weave:///e/p/op/name:digest` without its version, for `name:*` filters."""
    return op_name.rsplit(":", 1)[0] if op_name.startswith(REF_PREFIX) else op_name


def _op_short_name(op_name: str) -> str:
    if op_name.startswith(REF_PREFIX):
        return op_name[op_name.rfind("/") + 1 : op_name.rfind(":")]
    return op_name


def _call_uri(project_id: str, call_id: str) -> str:
    return f"{REF_PREFIX}{project_id}/call/{call_id}"


_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"))


def _dumps(value: Any) -> str:
    return _ENCODER.encode(value)


def _timestamp(value: dt.datetime | str) -> str:
    """Store times as fixed-width UTC text so SQL string order is time order."""
    moment = _parse_time(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _now() -> str:
    return _timestamp(dt.datetime.now(dt.UTC))


def _new_id() -> str:
    return str(uuid.uuid4())


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"
