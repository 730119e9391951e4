"""`weave:///` refs inside stored values: the one walker the store, the trace views and
lineage share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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
