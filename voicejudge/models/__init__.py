"""One protocol for "ask a model with text and audio, get a validated pydantic object back".

A `ModelRequest` is a system instruction, ordered parts (text and audio clips) and a response
type; an LLM backend reads the text and hears the audio. The model string picks the backend
(`gemini:<model>`, or `function:<name>` for a registered in-process `FunctionModel`). The
offline steps (`acoustic`) are no backend: each step measures and fits
on its own, so nothing is passed to them through a request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from voicejudge.audio.clip import AudioClip
from voicejudge.errors import ConfigError, VoiceJudgeError

Part = str | AudioClip
# The model string of the offline steps: measured features, a fitted rubric, no model call.
OFFLINE_MODEL = "acoustic"


class ModelReplyError(VoiceJudgeError):
    """The model's reply was invalid (after one repair attempt) or was blocked."""


class ModelRequestError(VoiceJudgeError):
    """The model service refused or failed the request."""


class MissingKeyError(ConfigError):
    """A hosted model was asked for without its API key."""


@dataclass(frozen=True)
class ModelRequest:
    """Everything one model call needs; `check` adds validation beyond the response type."""

    system: str
    parts: Sequence[Part]
    response_type: type[BaseModel]
    temperature: float = 0.0
    check: Callable[[Any], None] | None = field(default=None, compare=False)

    def validate_reply(self, reply: Any) -> BaseModel:
        """The reply as the response type, raising ValueError when it is not acceptable."""
        parsed = self.response_type.model_validate(reply)
        if self.check is not None:
            self.check(parsed)
        return parsed


class ModelBackend(Protocol):
    """Answers requests; `generate` is traced and never records credentials."""

    model: str

    async def generate(self, request: ModelRequest) -> Any: ...


_backends: dict[str, ModelBackend] = {}
_backends_lock = threading.Lock()


def backend_for(model: str) -> ModelBackend:
    """The shared backend for a model string (one client and concurrency limit per model)."""
    with _backends_lock:
        if model not in _backends:
            _backends[model] = _create(model)
        return _backends[model]


@contextmanager
def using_backend(backend: ModelBackend) -> Iterator[ModelBackend]:
    """Make `backend` the one its model string names while the block runs (a `FunctionModel`
    in a test, say); the string's earlier backend, if any, comes back afterwards."""
    with _backends_lock:
        earlier = _backends.get(backend.model)
        _backends[backend.model] = backend
    try:
        yield backend
    finally:
        with _backends_lock:
            if earlier is None:
                _backends.pop(backend.model, None)
            else:
                _backends[backend.model] = earlier


def reset_backends() -> None:
    """Forget the shared backends, so the next use reads keys and settings afresh."""
    with _backends_lock:
        _backends.clear()


def check_model(model: str) -> None:
    """Refuse an unknown model string (or a hosted model without its key) before any work."""
    if model != OFFLINE_MODEL:
        backend_for(model)


def _create(model: str) -> ModelBackend:
    if model == OFFLINE_MODEL:
        raise ConfigError(
            f"{OFFLINE_MODEL!r} is the offline step, not a model backend: give the step "
            "model='acoustic' instead of asking a backend for it."
        )
    if model.startswith("gemini:") and model.removeprefix("gemini:"):
        from voicejudge.models.gemini import GeminiBackend
        from voicejudge.settings import load_settings

        settings = load_settings()
        return GeminiBackend(
            model.removeprefix("gemini:"),
            timeout_s=settings.gemini_timeout_s,
            attempts=settings.gemini_attempts,
            initial_delay_s=settings.gemini_retry_delay_s,
            concurrency=settings.gemini_concurrency,
            cache_dir=settings.reply_cache if settings.gemini_cache else None,
        )
    if model.startswith("function:"):
        raise ConfigError(
            f"No function model {model!r} is registered: wrap the work in "
            "voicejudge.models.using_backend(FunctionModel(answer, name=...))."
        )
    raise ConfigError(
        f"Unknown model {model!r}: use 'acoustic' or 'gemini:<model>' "
        "(for example gemini:gemini-2.5-flash)."
    )


def trace_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """What a trace keeps of a `generate` call: the request, with audio as `weave.Audio`."""
    request: ModelRequest = inputs["request"]
    backend = inputs.get("self")
    return {
        "model": getattr(backend, "model", None),
        "system": request.system,
        "parts": [part if isinstance(part, str) else part.to_weave() for part in request.parts],
        "response_type": request.response_type.__name__,
        "temperature": request.temperature,
    }


__all__ = [
    "OFFLINE_MODEL",
    "MissingKeyError",
    "ModelBackend",
    "ModelReplyError",
    "ModelRequest",
    "ModelRequestError",
    "Part",
    "backend_for",
    "check_model",
    "reset_backends",
    "trace_inputs",
    "using_backend",
]
