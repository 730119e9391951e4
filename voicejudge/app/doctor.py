"""`voicejudge doctor`: checks that this machine can trace, says where traces go, and
inspects the real trace store (log, integrity, schema, contents, unfinished calls) without
changing it."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Literal

from pydantic import BaseModel

from voicejudge.errors import VoiceJudgeError
from voicejudge.settings import Settings
from voicejudge.tracking import resolve_backend
from voicejudge.tracking.health import inspect_store

Status = Literal["ok", "info", "warn", "fail"]


class CheckResult(BaseModel):
    """One line of the doctor's report."""

    name: str
    status: Status
    detail: str


def run_checks(settings: Settings) -> list[CheckResult]:
    """Run every check; a failing check is reported, never raised."""
    checks: list[tuple[str, Callable[[], tuple[Status, str]]]] = [
        ("python", _python),
        ("weave", _weave_version),
        ("tracking", _tracking),
        ("gemini", _gemini),
    ]
    results = []
    for name, check in checks:
        try:
            status, detail = check()
        except VoiceJudgeError as exc:
            status, detail = "fail", str(exc)
        except Exception as exc:  # a check must report, never crash the doctor
            status, detail = "fail", f"{type(exc).__name__}: {exc}"
        results.append(CheckResult(name=name, status=status, detail=detail))
    try:
        findings = inspect_store(settings.store_path.expanduser().resolve())
        results += [CheckResult(name=f.name, status=f.level, detail=f.detail) for f in findings]
    except Exception as exc:  # a check must report, never crash the doctor
        results.append(CheckResult(name="trace store", status="fail", detail=f"{exc}"))
    return results


def _python() -> tuple[Status, str]:
    current = ".".join(map(str, sys.version_info[:3]))
    return ("ok" if sys.version_info >= (3, 11) else "fail"), f"Python {current}"


def _weave_version() -> tuple[Status, str]:
    try:
        installed = version("weave")
    except PackageNotFoundError:
        return "fail", "weave is not installed: run `make setup`"
    if installed.startswith("0.54."):
        return "ok", f"weave {installed}"
    return "fail", f"weave {installed} is installed; voicejudge needs 0.54.x (`make setup`)"


def _tracking() -> tuple[Status, str]:
    choice = resolve_backend("auto")
    where = "embedded store" if choice.name == "local" else "hosted W&B Weave"
    return "info", f"{where} ({choice.reason})"


def _gemini() -> tuple[Status, str]:
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
        if os.environ.get(name, "").strip():
            return "info", f"key found in {name}"
    return "info", "no key: the offline acoustic backend is used (set GEMINI_API_KEY for Gemini)"
