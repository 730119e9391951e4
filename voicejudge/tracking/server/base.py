"""The state the resource mixins of `LocalTraceServer` share, and the conversions they use."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from pydantic import BaseModel

from voicejudge.tracking.call_queue import CallWriteQueue
from voicejudge.tracking.store import SQLiteStore


class ServerBase:
    """The store, user and writer identity that every resource mixin reads and writes with."""

    store: SQLiteStore
    user: str
    writer: str
    call_processor: CallWriteQueue


def construct(model: type[BaseModel], **fields: Any) -> Any:
    """Build a response model from values that already have the right types.

    The generated models' own `model_construct` re-walks every nested value and costs about
    seven times as much, which dominates reading thousands of calls.
    """
    return _pydantic_construct(model, **fields)


_pydantic_construct = BaseModel.model_construct.__func__  # type: ignore[attr-defined]


_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"))


def dumps(value: Any) -> str:
    return _ENCODER.encode(value)


def timestamp(value: dt.datetime | str) -> str:
    """Store times as fixed-width UTC text so SQL string order is time order."""
    moment = parse_time(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def now() -> str:
    return timestamp(dt.datetime.now(dt.UTC))


def new_id() -> str:
    return str(uuid.uuid4())
