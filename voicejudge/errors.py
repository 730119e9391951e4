"""Errors a user can cause: each names the thing that is wrong and how to fix it."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError


class VoiceJudgeError(Exception):
    """Base of every error voicejudge raises for bad input, configuration or state."""


class StoreError(VoiceJudgeError):
    """The embedded trace store cannot be opened, read or written."""


class TrackingError(VoiceJudgeError):
    """Traces cannot go where they were asked to (hosted W&B unreachable or refused)."""


class ConfigError(VoiceJudgeError):
    """A setting or environment variable has a value voicejudge cannot use."""


def validation_problems(
    error: ValidationError,
    name: Callable[[tuple[int | str, ...]], str] | None = None,
    *,
    limit: int | None = None,
) -> str:
    """A pydantic error as `field: message; ...`, without pydantic's boilerplate; `name` turns a
    field's location into what the user wrote (a variable, a column, a key); `limit` keeps the
    first few problems."""
    problems = []
    for item in error.errors()[:limit]:
        where = name(item["loc"]) if name else ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)
