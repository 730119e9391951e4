"""The typed gateway between domain modules and the trace store: feedback rows, stored calls
and object versions come back as models, so no domain module reads raw trace-server dicts.

Everything here goes through the weave client's own server (embedded or hosted alike).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from pydantic import BaseModel, ConfigDict
from weave.trace.errors import NotFoundError, ObjectDeletedError
from weave.trace.refs import ObjectRef
from weave.trace.weave_client import WeaveClient
from weave.vendor.weave_server_sdk.types import FeedbackCreateParams
from weave.vendor.weave_server_sdk.types.call_read_response import Call
from weave.vendor.weave_server_sdk.types.feedback_query_params import Query
from weave.vendor.weave_server_sdk.types.object_read_response import Obj

from voicejudge.tracking.refs import call_id_of, op_uri

STEP_ATTRIBUTE = "voicejudge"  # the call attribute that says which step of which run a call is

__all__ = [
    "STEP_ATTRIBUTE",
    "Call",
    "Obj",
    "StoredFeedback",
    "add_feedback",
    "feedback_rows",
    "op_calls",
    "plain_record",
    "read_call",
    "read_object",
    "step_attributes",
    "step_calls",
]


class StoredFeedback(BaseModel):
    """One feedback row as stored: what it is about (`weave_ref`), its type and payload."""

    model_config = ConfigDict(extra="ignore")

    id: str
    weave_ref: str
    feedback_type: str
    payload: dict[str, Any]
    creator: str | None = None
    wb_user_id: str | None = None
    created_at: dt.datetime | None = None

    @property
    def value(self) -> dict[str, Any]:
        """The payload's `value` record (an annotation's answer), or {} when it has none."""
        value = self.payload.get("value")
        return value if isinstance(value, dict) else {}

    @property
    def call_id(self) -> str | None:
        """The call this feedback is about, or None when it is about something else."""
        return call_id_of(self.weave_ref)


def feedback_rows(
    client: WeaveClient, feedback_types: list[str], weave_ref: str | None = None
) -> list[StoredFeedback]:
    """The project's feedback of these types (about one ref, if given), oldest first."""
    terms: list[dict[str, Any]] = [
        {"$in": [{"$getField": "feedback_type"}, [{"$literal": t} for t in feedback_types]]}
    ]
    if weave_ref is not None:
        terms.append({"$eq": [{"$getField": "weave_ref"}, {"$literal": weave_ref}]})
    rows = client.server.feedback_query(
        {
            "project_id": client.project_id,
            "query": cast(Query, {"$expr": {"$and": terms}}),
            "sort_by": [{"field": "created_at", "direction": "asc"}],
        }
    ).result
    return [
        StoredFeedback.model_validate({**row, "payload": row.get("payload") or {}}) for row in rows
    ]


def add_feedback(
    client: WeaveClient,
    weave_ref: str,
    feedback_type: str,
    payload: dict[str, Any],
    *,
    creator: str | None = None,
    annotation_ref: str | None = None,
) -> str:
    """Store one feedback row about `weave_ref`; returns its id."""
    row: FeedbackCreateParams = {
        "project_id": client.project_id,
        "weave_ref": weave_ref,
        "feedback_type": feedback_type,
        "payload": payload,
    }
    if creator is not None:
        row["creator"] = creator
    if annotation_ref is not None:
        row["annotation_ref"] = annotation_ref
    return client.server.feedback_create(row).id


def read_call(client: WeaveClient, call_id: str) -> Call | None:
    """One call of the client's project as stored (refs unresolved, audio not loaded), or
    None; cheaper than `client.get_call`, which decodes every input."""
    found = list(
        client.server.calls_query_stream(
            {"project_id": client.project_id, "filter": {"call_ids": [call_id]}}
        )
    )
    return found[0] if found else None


def read_object(client: WeaveClient, ref: ObjectRef) -> Obj | None:
    """The stored version an object ref names (its value as plain records), or None."""
    try:
        return client.server.obj_read(
            {
                "project_id": f"{ref.entity}/{ref.project}",
                "object_id": ref.name,
                "digest": ref.digest,
            }
        ).obj
    except Exception as exc:
        if _is_missing(exc):
            return None
        raise


def _is_missing(exc: Exception) -> bool:
    """A not-found answer: the embedded store's error, or a hosted server's HTTP 404."""
    if isinstance(exc, NotFoundError | ObjectDeletedError):
        return True
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None) == 404


def op_calls(client: WeaveClient, op_name: str, newest_first: bool = False) -> list[Call]:
    """Every stored call of one op in the client's project, by start time ."""
    client.flush()
    return list(
        client.server.calls_query_stream(
            {
                "project_id": client.project_id,
                "filter": {"op_names": [op_uri(client.project_id, op_name)]},
                "sort_by": [
                    {"field": "started_at", "direction": "desc" if newest_first else "asc"}
                ],
            }
        )
    )


def step_attributes(step: str, run: str) -> dict[str, Any]:
    """What marks a call as one step of a run (`weave.attributes`), so the run is found again
    by what the call is, not by the name of the method that made it."""
    return {STEP_ATTRIBUTE: {"step": step, "run": run}}


def step_calls(
    client: WeaveClient, step: str, *, run: str | None = None, newest_first: bool = False
) -> list[Call]:
    """Stored calls marked as `step` (of `run`, if given), by start time ."""
    terms: list[dict[str, Any]] = [
        {"$eq": [{"$getField": f"attributes.{STEP_ATTRIBUTE}.step"}, {"$literal": step}]}
    ]
    if run is not None:
        terms.append(
            {"$eq": [{"$getField": f"attributes.{STEP_ATTRIBUTE}.run"}, {"$literal": run}]}
        )
    client.flush()
    return list(
        client.server.calls_query_stream(
            {
                "project_id": client.project_id,
                "query": cast(Any, {"$expr": {"$and": terms}}),
                "sort_by": [
                    {"field": "started_at", "direction": "desc" if newest_first else "asc"}
                ],
            }
        )
    )


def plain_record(value: Any) -> Any:
    """A raw store record without weave's type keys, for pydantic."""
    if isinstance(value, dict):
        return {k: plain_record(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list):
        return [plain_record(v) for v in value]
    return value
