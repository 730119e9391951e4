"""What the `voicejudge` commands share: the two consoles, stored text made safe for rich,
option checks and JSON output."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

from voicejudge.app.terminal import printable
from voicejudge.errors import ConfigError

out = Console()
err = Console(stderr=True)


def safe(text: object) -> str:
    """Stored or user-given text for rich: control characters shown, markup inert."""
    return escape(printable(str(text)))


def at_least(value: int, low: int, option: str) -> int:
    """`value`, or a `ConfigError` naming the option when it is below `low`."""
    if value < low:
        raise ConfigError(f"{option} must be at least {low}; got {value}.")
    return value


def print_json(data: Any) -> None:
    """`data` as indented JSON on stdout, past rich: no markup, no wrapping."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
