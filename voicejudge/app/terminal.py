"""Stored text made safe for a terminal: control characters are shown, never obeyed.

Rater names, notes, file names and model replies come from browsers, files and services;
printed raw, an escape sequence in one could retitle the window, clear the screen or hide
other output. Every CLI view of stored text goes through `printable`.
"""

from __future__ import annotations

import unicodedata
from typing import Any

_KEPT_WITH_LINES = {"\n", "\t"}
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\"}


def printable(text: str, *, lines: bool = False) -> str:
    """`text` with every control, format (zero-width, bidirectional), separator, private-use
    or unassigned character written out as an escape (`ESC` as `\\x1b`), and backslashes
    doubled so that an escape cannot be faked; with `lines`, line breaks and tabs are kept."""
    return "".join(_shown(char, lines) for char in text)


def _shown(char: str, lines: bool) -> str:
    if char == "\\" or (char in _NAMED and not (lines and char in _KEPT_WITH_LINES)):
        return _NAMED[char]
    if lines and char in _KEPT_WITH_LINES:
        return char
    if unicodedata.category(char)[0] not in "CZ" or char == " ":
        return char
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a file name that is not UTF-8 (surrogateescape)
        code -= 0xDC00
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable_data(value: Any) -> Any:
    """A JSON-like value with every string (keys included) made `printable`."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(str(k)): printable_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [printable_data(v) for v in value]
    return value
