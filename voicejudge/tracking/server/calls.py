"""Calls: queued starts and ends, their SQL filters, and reading them back as weave `Call`s."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from weave.trace.errors import NotFoundError
from weave.trace_server_bindings.models import CallsQueryRes
from weave.vendor.weave_server_sdk.types import (
    CallDeleteResponse,
    CallQueryStatsResponse,
    CallReadResponse,
    CallStartResponse,
)
from weave.vendor.weave_server_sdk.types.call_read_response import Call

from voicejudge.tracking import query as q
from voicejudge.tracking.call_queue import CallWrite
from voicejudge.tracking.refs import REF_PREFIX, call_uri, op_family, op_name_of, refs_in
from voicejudge.tracking.server.base import (
    ServerBase,
    construct,
    dumps,
    new_id,
    parse_time,
    timestamp,
)
from voicejudge.tracking.server.feedback import FEEDBACK_COLUMNS, feedback_row

_CALL_COLUMNS = (
    "id, project_id, trace_id, parent_id, thread_id, turn_id, op_name, display_name, "
    "started_at, ended_at, exception, attributes, inputs, output, summary, wb_user_id, "
    "wb_run_id, wb_run_step, wb_run_step_end"
)
_START_COLUMNS = (
    "project_id, id, trace_id, parent_id, thread_id, turn_id, op_name, op_base, display_name, "
    "started_at, attributes, inputs, wb_user_id, wb_run_id, wb_run_step, writer"
)
_END_COLUMNS = "ended_at, exception, output, summary, wb_run_step_end"
_START_UPDATES = (
    "trace_id = excluded.trace_id, parent_id = excluded.parent_id, "
    "thread_id = excluded.thread_id, turn_id = excluded.turn_id, op_name = excluded.op_name, "
    "op_base = excluded.op_base, "
    "display_name = coalesce(calls.display_name, excluded.display_name), "
    "started_at = excluded.started_at, attributes = excluded.attributes, "
    "inputs = excluded.inputs, wb_user_id = excluded.wb_user_id, "
    "wb_run_id = excluded.wb_run_id, wb_run_step = excluded.wb_run_step, "
    "writer = excluded.writer"
)
_END_UPDATES = (
    "ended_at = excluded.ended_at, exception = excluded.exception, output = excluded.output, "
    "summary = excluded.summary, wb_run_step_end = excluded.wb_run_step_end"
)


def _upsert(columns: str, updates: str) -> str:
    slots = ", ".join("?" * len(columns.split(", ")))
    return (
        f"INSERT INTO calls ({columns}) VALUES ({slots}) "
        f"ON CONFLICT (project_id, id) DO UPDATE SET {updates}"
    )


_UPSERT_CALL_START = _upsert(_START_COLUMNS, _START_UPDATES)
_UPSERT_CALL_END = _upsert(f"project_id, id, trace_id, {_END_COLUMNS}", _END_UPDATES)
# A call whose start and end are written in the same batch (most calls) is one row written once.
_UPSERT_CALL = _upsert(f"{_START_COLUMNS}, {_END_COLUMNS}", f"{_START_UPDATES}, {_END_UPDATES}")
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


class CallsMixin(ServerBase):
    """Call starts and ends go through the write-behind queue; every read of calls drains it."""

    def call_start(self, req: Mapping[str, Any]) -> CallStartResponse:
        start = req["start"]
        if not (start.get("id") and start.get("trace_id")):  # weave's client sends both
            start = {**start, "id": start.get("id") or new_id()}
            start["trace_id"] = start.get("trace_id") or new_id()
            req = {"start": start}
        self.call_processor.put("start", req)
        return construct(CallStartResponse, id=start["id"], trace_id=start["trace_id"])

    def call_end(self, req: Mapping[str, Any]) -> None:
        self.call_processor.put("end", req)

    def _write_calls(self, items: list[CallWrite]) -> None:
        """Persist a batch of queued starts and ends in one transaction."""
        starts: dict[tuple[str, str], tuple[Any, ...]] = {}
        whole, ends, refs = [], [], []
        for kind, req in items:
            if kind == "start":
                start = req["start"]
                project_id, call_id, op_name = start["project_id"], start["id"], start["op_name"]
                starts[project_id, call_id] = (
                    project_id,
                    call_id,
                    start["trace_id"],
                    start.get("parent_id"),
                    start.get("thread_id"),
                    start.get("turn_id"),
                    op_name,
                    op_family(op_name),
                    start.get("display_name"),
                    timestamp(start["started_at"]),
                    dumps(start.get("attributes") or {}),
                    inputs := dumps(start.get("inputs") or {}),
                    start.get("wb_user_id") or self.user,
                    start.get("wb_run_id"),
                    start.get("wb_run_step"),
                    self.writer,
                )
                if REF_PREFIX in inputs:
                    refs += [(project_id, call_id, "input", r) for r in refs_in(start["inputs"])]
            else:
                end = req["end"]
                project_id, call_id = end["project_id"], end["id"]
                ended = (
                    timestamp(end["ended_at"]),
                    end.get("exception"),
                    output := dumps(end.get("output")),
                    dumps(end.get("summary") or {}),
                    end.get("wb_run_step_end"),
                )
                started = starts.pop((project_id, call_id), None)
                if started is None:
                    ends.append((project_id, call_id, end.get("trace_id"), *ended))
                else:
                    whole.append((*started, *ended))
                if REF_PREFIX in output:
                    refs += [(project_id, call_id, "output", r) for r in refs_in(end["output"])]
        with self.store.write() as conn:
            conn.executemany(_UPSERT_CALL_START, list(starts.values()))
            conn.executemany(_UPSERT_CALL, whole)
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
        by_ref = {call_uri(project_id, row["id"]): row["id"] for row in rows}
        found: dict[str, list[dict[str, Any]]] = {}
        for record in self.store.query(
            f"SELECT {FEEDBACK_COLUMNS} FROM feedback WHERE project_id = ? AND weave_ref IN "
            "(SELECT value FROM json_each(?)) ORDER BY created_at, rowid",
            (project_id, json.dumps(list(by_ref))),
        ):
            item = feedback_row(record)
            found.setdefault(by_ref[item["weave_ref"]], []).append(item)
        return found


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
        elapsed = parse_time(row["ended_at"]) - parse_time(row["started_at"])
        latency_ms = int(elapsed.total_seconds() * 1000)
    return {
        "status": status,
        "trace_name": row["display_name"] or op_name_of(row["op_name"]),
        "latency_ms": latency_ms,
    }


_UNTRACKED_CALL_FIELDS = dict.fromkeys(
    ("deleted_at", "expire_at", "storage_size_bytes", "total_storage_size_bytes", "wb_username")
)


def _to_call(row: dict[str, Any]) -> Call:
    return construct(
        Call,
        **{
            **row,
            "started_at": parse_time(row["started_at"]) if row["started_at"] else None,
            "ended_at": parse_time(row["ended_at"]) if row["ended_at"] else None,
            **_UNTRACKED_CALL_FIELDS,
        },
    )
