"""Read-only summaries of what was traced: recent calls, published objects, one call in full.

Built on trace-server methods that both the embedded store and hosted Weave implement, so the
same views work on either backend.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from typing import Any

from pydantic import BaseModel
from weave.trace.refs import CallRef, ObjectRef
from weave.trace.weave_client import WeaveClient
from weave.vendor.weave_server_sdk.types import CallStreamQueryParams

from voicejudge.errors import VoiceJudgeError
from voicejudge.tracking.refs import REF_PREFIX, op_name_of, op_uri, parse_ref, refs_in


class UnknownCallError(VoiceJudgeError):
    """A call id that is not in the project."""


class CallSummary(BaseModel):
    """One line of the recent-calls list."""

    id: str
    op: str
    display_name: str | None
    started_at: dt.datetime
    status: str
    latency_ms: int | None
    feedback_count: int
    error: str | None


class ObjectSummary(BaseModel):
    """A published object and its versions; `internal` marks an op or an object weave published
    on its own under its class name (a model behind an op call), not one someone named."""

    name: str
    kind: str
    object_class: str | None
    versions: int
    latest_version: int
    latest_digest: str
    updated_at: dt.datetime
    internal: bool


class FeedbackItem(BaseModel):
    """One piece of feedback on a call."""

    id: str
    feedback_type: str
    payload: dict[str, Any]
    creator: str | None
    created_at: dt.datetime


class CallDetail(BaseModel):
    """A call with its inputs, output, feedback and direct children."""

    call: CallSummary
    trace_id: str
    parent_id: str | None
    inputs: dict[str, Any]
    output: Any
    exception: str | None
    feedback: list[FeedbackItem]
    children: list[CallSummary]


def recent_calls(client: WeaveClient, limit: int = 20, op: str | None = None) -> list[CallSummary]:
    """The newest calls first; `op` keeps only calls of ops with that name."""
    req: CallStreamQueryParams = {
        "project_id": client.project_id,
        "sort_by": [{"field": "started_at", "direction": "desc"}],
        "limit": limit,
        "include_feedback": True,
    }
    if op:
        req["filter"] = {"op_names": [_op_filter(client, op)]}
    return [_summary(call) for call in client.server.calls_query_stream(req)]


def call_detail(client: WeaveClient, call_id: str) -> CallDetail:
    """Everything stored about one call; an unknown id raises `UnknownCallError`."""
    found = list(
        client.server.calls_query_stream(
            {
                "project_id": client.project_id,
                "filter": {"call_ids": [call_id]},
                "include_feedback": True,
            }
        )
    )
    if not found:
        raise UnknownCallError(
            f"No call {call_id!r} in project {client.project!r}. "
            "List recent calls with `voicejudge traces`."
        )
    call = found[0]
    children = client.server.calls_query_stream(
        {
            "project_id": client.project_id,
            "filter": {"parent_ids": [call_id]},
            "include_feedback": True,
        }
    )
    return CallDetail(
        call=_summary(call),
        trace_id=call.trace_id,
        parent_id=call.parent_id,
        inputs=call.inputs,
        output=call.output,
        exception=call.exception,
        feedback=[
            FeedbackItem.model_validate(item)
            for item in (_weave_summary(call).get("feedback") or [])
        ],
        children=[_summary(child) for child in children],
    )


def object_versions(client: WeaveClient) -> list[ObjectSummary]:
    """Every published object (ops included) with its number of versions: named objects
    first, then internal ones, each newest first."""
    objs = client.server.objs_query({"project_id": client.project_id, "metadata_only": True}).objs
    grouped: dict[str, list[Any]] = {}
    for obj in objs:
        grouped.setdefault(obj.object_id, []).append(obj)
    summaries = []
    for name, versions in grouped.items():
        latest = max(versions, key=lambda o: o.version_index)
        object_class = latest.leaf_object_class or latest.base_object_class
        summaries.append(
            ObjectSummary(
                name=name,
                kind=latest.kind,
                object_class=object_class,
                versions=len(versions),
                latest_version=latest.version_index,
                latest_digest=latest.digest,
                updated_at=latest.created_at,
                internal=latest.kind == "op" or name == object_class,
            )
        )
    newest_first = sorted(summaries, key=lambda s: s.updated_at, reverse=True)
    return sorted(newest_first, key=lambda s: s.internal)


def ref_labels(client: WeaveClient, *values: Any) -> dict[str, str]:
    """A short label (`judge-prompt:v2`, `call:ID`) for every `weave:///` ref found in `values`,
    with version numbers read from the store in one query."""
    refs: dict[str, Any] = {}
    for uri in refs_in(values):
        with contextlib.suppress(ValueError):
            refs[uri] = parse_ref(uri)
    named = {ref.name for ref in refs.values() if isinstance(ref, ObjectRef)}
    versions = {}
    if named:
        found = client.server.objs_query(
            {
                "project_id": client.project_id,
                "filter": {"object_ids": sorted(named)},
                "metadata_only": True,
            }
        ).objs
        versions = {(obj.object_id, obj.digest): obj.version_index for obj in found}
    labels = {}
    for uri, ref in refs.items():
        if isinstance(ref, CallRef):
            labels[uri] = f"call:{ref.id}"
        elif isinstance(ref, ObjectRef):
            index = versions.get((ref.name, ref.digest))
            version = ref.digest[:8] if index is None else f"v{index}"
            labels[uri] = "/".join([f"{ref.name}:{version}", *ref.extra])
    return labels


def _weave_summary(call: Any) -> dict[str, Any]:
    """What weave adds to a call's summary (status, latency, feedback), or nothing."""
    summary: dict[str, Any] = dict(call.summary or {})
    return dict(summary.get("weave") or {})


def _summary(call: Any) -> CallSummary:
    weave_summary = _weave_summary(call)
    return CallSummary(
        id=call.id,
        op=op_name_of(call.op_name),
        display_name=call.display_name,
        started_at=call.started_at,
        status=str(weave_summary.get("status", "unknown")),
        latency_ms=weave_summary.get("latency_ms"),
        feedback_count=len(weave_summary.get("feedback") or []),
        error=error_summary(call.exception),
    )


def _op_filter(client: WeaveClient, op: str) -> str:
    return op if op.startswith(REF_PREFIX) else op_uri(client.project_id, op)


def error_summary(exception: str | None) -> str | None:
    """`Type: first line of message` from weave's stored exception (JSON or plain text)."""
    if not exception or not exception.strip():
        return None
    try:
        parsed = json.loads(exception)
    except ValueError:
        return exception.strip().splitlines()[0]
    if not isinstance(parsed, dict):
        return exception.strip().splitlines()[0]
    message = str(parsed.get("message", "")).strip().splitlines()
    return f"{parsed.get('type', 'Error')}: {message[0] if message else ''}".rstrip(": ")


__all__ = [
    "CallDetail",
    "CallSummary",
    "FeedbackItem",
    "ObjectSummary",
    "UnknownCallError",
    "call_detail",
    "error_summary",
    "object_versions",
    "recent_calls",
    "ref_labels",
]
