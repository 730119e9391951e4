"""`weave:///` refs: parsed and built in this one module, on weave's own `Ref` types, and the
refs nested in a stored value."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from weave.trace.refs import CallRef, ObjectRef, OpRef, Ref

REF_PREFIX = "weave:///"


def refs_in(value: Any) -> Iterator[str]:
    """Every `weave:///` ref string nested anywhere in a stored value, in order."""
    if isinstance(value, str):
        if value.startswith(REF_PREFIX):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from refs_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from refs_in(item)


def object_ref(uri: str) -> ObjectRef:
    """The object (not op) ref a URI names; ValueError for anything else."""
    try:
        ref = Ref.parse_uri(uri)
    except (ValueError, TypeError):
        ref = None
    if not isinstance(ref, ObjectRef) or isinstance(ref, OpRef):
        raise ValueError(f"{uri} is not a weave:/// object ref (…/object/NAME:DIGEST).")
    return ref


def call_id_of(uri: str) -> str | None:
    """The call id a `weave:///…/call/ID` ref names; None for any other string."""
    try:
        ref = Ref.parse_uri(uri)
    except (ValueError, TypeError):
        return None
    return ref.id if isinstance(ref, CallRef) else None


def project_of(uri: str) -> str:
    """The `entity/project` a ref names."""
    ref = Ref.parse_uri(uri)
    return f"{ref.entity}/{ref.project}"


def call_uri(project_id: str, call_id: str) -> str:
    """The ref of a call in a project (`entity/project`)."""
    entity, project = project_id.split("/", 1)
    return CallRef(entity, project, call_id).uri


def op_uri(project_id: str, op_name: str, digest: str = "*") -> str:
    """The ref of an op by name, every version by default (as call filters take it)."""
    entity, project = project_id.split("/", 1)
    return OpRef(entity, project, op_name, digest).uri


def op_name_of(op: str) -> str:
    """An op's name, from its ref or as written."""
    if not op.startswith(REF_PREFIX):
        return op
    ref = Ref.parse_uri(op)
    return ref.name if isinstance(ref, OpRef) else op
