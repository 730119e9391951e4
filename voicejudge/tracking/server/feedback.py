"""Feedback: reactions, notes and annotations on calls and objects, filtered by weave's queries."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from weave.trace.errors import InvalidRequest, NotFoundError
from weave.vendor.weave_server_sdk.types import (
    FeedbackBatchCreateResponse,
    FeedbackCreateResponse,
    FeedbackQueryResponse,
    FeedbackReplaceResponse,
)

from voicejudge.tracking import query as q
from voicejudge.tracking.server.base import ServerBase, dumps, new_id, now, parse_time

FEEDBACK_COLUMNS = (
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


class FeedbackMixin(ServerBase):
    """Feedback rows; the scorer and span fields weave adds are kept in one JSON column."""

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
        feedback_id = req.get("id") or new_id()
        created_at = now()
        user = req.get("wb_user_id") or self.user
        extra = {key: req[key] for key in _FEEDBACK_EXTRA_DEFAULTS if key in req}
        payload = dict(req["payload"])
        try:
            conn.execute(
                f"INSERT INTO feedback ({FEEDBACK_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    feedback_id,
                    req["project_id"],
                    req["weave_ref"],
                    req["feedback_type"],
                    dumps(payload),
                    req.get("creator"),
                    created_at,
                    user,
                    req.get("annotation_ref"),
                    req.get("runnable_ref"),
                    req.get("call_ref"),
                    req.get("trigger_ref"),
                    req.get("queue_id"),
                    dumps(extra),
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
            f"SELECT {FEEDBACK_COLUMNS} FROM feedback WHERE {where} ORDER BY created_at, rowid",
            [project_id, *params],
        )
        rows = [feedback_row(record) for record in records]
        return [row for row in rows if q.matches(query, row)]


def feedback_row(record: tuple[Any, ...]) -> dict[str, Any]:
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
    return {**row, "created_at": parse_time(row["created_at"])}
