"""`weave:///` refs: parsed and built in this one module, on weave's own `Ref` types, and the
refs nested in a stored value."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from weave.trace.refs import AnyRef, CallRef, ObjectRef, OpRef, Ref

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


def parse_ref(uri: str) -> AnyRef:
    """Any `weave:///` ref as weave's own type (object, op, table or call); ValueError if the
    string is none."""
    try:
        return Ref.parse_uri(uri)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{uri!r} is not a weave:/// ref ({exc}).") from None


def object_ref(uri: str) -> ObjectRef:
    """The object (not op) ref a URI names; ValueError for anything else."""
    try:
        ref = Ref.parse_uri(uri)
    except (ValueError, TypeError):
        ref = None
    if not isinstance(ref, ObjectRef) or isinstance(ref, OpRef):
        raise ValueError(f"{uri} is not a weave:/// object ref (…/object/NAME:DIGEST).")
    return ref


def latest_object_ref(project_id: str, name: str) -> ObjectRef:
    """The ref of an object's newest version in a project (`entity/project`)."""
    entity, project = project_id.split("/", 1)
    return ObjectRef(entity, project, name, "latest")


def at_version(ref: ObjectRef, digest: str) -> ObjectRef:
    """The same object ref pinned to one version (a digest, not an alias such as `latest`)."""
    return ObjectRef(ref.entity, ref.project, ref.name, digest)


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
    """An op's name, from its ref (`weave:///e/p/op/NAME:DIGEST`) or as written; read off the
    string, since the store does this for every call it returns."""
    if not op.startswith(REF_PREFIX) or "/op/" not in op:
        return op
    name = op[op.rfind("/") + 1 :]
    return name.rsplit(":", 1)[0] if ":" in name else name


def op_family(op: str) -> str:
    """An op ref without its version (`weave:///e/p/op/NAME`), which every version shares."""
    return op.rsplit(":", 1)[0] if op.startswith(REF_PREFIX) else op
