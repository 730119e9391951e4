"""`voicejudge doctor`: checks that this machine can trace, and says where traces will go."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from voicejudge.errors import VoiceJudgeError
from voicejudge.settings import Settings
from voicejudge.tracking import resolve_backend
from voicejudge.tracking.server import LocalTraceServer
from voicejudge.tracking.store import SQLiteStore


class CheckResult(BaseModel):
    """One line of the doctor's report."""

    name: str
    status: Literal["ok", "info", "fail"]
    detail: str


def run_checks(settings: Settings) -> list[CheckResult]:
    """Run every check; a failing check is reported, never raised."""
    checks: list[tuple[str, Callable[[], tuple[Literal["ok", "info", "fail"], str]]]] = [
        ("python", _python),
        ("weave", _weave_version),
        ("tracking", _tracking),
        ("trace store", lambda: _store(settings)),
        ("store round trip", _round_trip),
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
    return results


def _python() -> tuple[Literal["ok", "fail"], str]:
    current = ".".join(map(str, sys.version_info[:3]))
    return ("ok" if sys.version_info >= (3, 11) else "fail"), f"Python {current}"


def _weave_version() -> tuple[Literal["ok", "fail"], str]:
    try:
        installed = version("weave")
    except PackageNotFoundError:
        return "fail", "weave is not installed: run `make setup`"
    if installed.startswith("0.54."):
        return "ok", f"weave {installed}"
    return "fail", f"weave {installed} is installed; voicejudge needs 0.54.x (`make setup`)"


def _tracking() -> tuple[Literal["info"], str]:
    choice = resolve_backend("auto")
    where = "embedded store" if choice.name == "local" else "hosted W&B Weave"
    return "info", f"{where} ({choice.reason})"


def _store(settings: Settings) -> tuple[Literal["ok"], str]:
    store = SQLiteStore(settings.store_path)
    try:
        return "ok", f"{store.path} (schema v{store.schema_version})"
    finally:
        store.close()


def _round_trip() -> tuple[Literal["ok", "fail"], str]:
    """Trace a call with feedback and an object version on a scratch store, then read them back."""
    import weave
    from weave.trace.weave_client import WeaveClient

    @weave.op(name="doctor.check")
    def check(question: str) -> str:
        return "yes"

    with tempfile.TemporaryDirectory(prefix="voicejudge-doctor-") as folder:
        path = Path(folder) / "traces.db"
        started = time.perf_counter()
        writer = WeaveClient("local", "doctor", LocalTraceServer(path), ensure_project_exists=False)
        with _as_global(writer):
            _, call = check.call("can I trace?")
            call.feedback.add_note("doctor was here")
            ref = weave.publish(weave.StringPrompt("Is {voice} wild enough?"), name="doctor")
        reader = WeaveClient("local", "doctor", LocalTraceServer(path), ensure_project_exists=False)
        with _as_global(reader):
            stored = reader.get_call(call.id)
            notes = [f.payload.get("note") for f in stored.feedback]
            prompt = reader.get(ref).format(voice="the take")
        elapsed_ms = (time.perf_counter() - started) * 1000
        writer.server.close()
        reader.server.close()
    if stored.output != "yes" or notes != ["doctor was here"] or "the take" not in prompt:
        return "fail", "what was written could not be read back"
    return "ok", f"call, feedback and object version read back in {elapsed_ms:.0f} ms"


@contextmanager
def _as_global(client: Any) -> Iterator[None]:
    """Make `client` the global weave client for a moment, then restore the previous one."""
    from weave.trace.context.weave_client_context import (
        get_weave_client,
        set_weave_client_global,
    )

    previous = get_weave_client()
    set_weave_client_global(None)
    set_weave_client_global(client)
    try:
        yield
        client.flush()
    finally:
        set_weave_client_global(None)
        set_weave_client_global(previous)


def _gemini() -> tuple[Literal["info"], str]:
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
        if os.environ.get(name, "").strip():
            return "info", f"key found in {name}"
    return "info", "no key: the offline acoustic backend is used (set GEMINI_API_KEY for Gemini)"
