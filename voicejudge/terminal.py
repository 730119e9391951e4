"""Stored text made safe for a terminal: control characters are shown, never obeyed.

Rater names, notes, file names and model replies come from browsers, files and services;
printed raw, an escape sequence in one could retitle the window, clear the screen or hide
other output. Every CLI view of stored text goes through `printable`.
"""

from __future__ import annotations

import re
from typing import Any

# C0 and C1 controls (`lines` lets tab and line feed through), line and paragraph
# separators, and the bidirectional overrides that can make text read as something else.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_UNSAFE_KEEPING_LINES = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def printable(text: str, *, lines: bool = False) -> str:
    """`text` with every control character written out as an escape (`ESC` as `\\x1b`);
    with `lines`, line breaks and tabs are kept as they are."""
    pattern = _UNSAFE_KEEPING_LINES if lines else _UNSAFE
    return pattern.sub(_escape, text)


def printable_data(value: Any) -> Any:
    """A JSON-like value with every string (keys included) made `printable`."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(str(k)): printable_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [printable_data(v) for v in value]
    return value


_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
