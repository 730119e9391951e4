"""One protocol for "ask a model with text and audio, get a validated pydantic object back".

A `ModelRequest` is a system instruction, ordered parts (text and audio clips) and a response
type. It also carries the step's structured task, which the offline acoustic backend answers
from measurements while an LLM backend reads the text and hears the audio. The model string
picks the backend: `gemini:<model>` or `acoustic`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from voicejudge.audio.clip import AudioClip
from voicejudge.errors import ConfigError, VoiceJudgeError
from voicejudge.rubric import Criterion

if TYPE_CHECKING:
    from voicejudge.audio.features import Features
    from voicejudge.judge_prompt import JudgePrompt
    from voicejudge.patterns import PreferencePatterns
    from voicejudge.ranking import Comparison

Part = str | AudioClip


class ModelReplyError(VoiceJudgeError):
    """The model's reply was invalid (after one repair attempt) or was blocked."""


class ModelRequestError(VoiceJudgeError):
    """The model service refused or failed the request."""


class MissingKeyError(ConfigError):
    """A hosted model was asked for without its API key."""


@dataclass(frozen=True)
class JudgeTask:
    """Rank labelled clips by a rubric."""

    criteria: Sequence[Criterion]
    clips: Mapping[str, AudioClip]


@dataclass(frozen=True)
class LearnTask:
    """Learn patterns from comparisons between measured samples."""

    comparisons: Sequence[Comparison]
    features: Mapping[str, Features]
    prior: Sequence[Criterion]


@dataclass(frozen=True)
class RewriteTask:
    """Rewrite a judge prompt from patterns."""

    prompt: JudgePrompt
    patterns: PreferencePatterns


Task = JudgeTask | LearnTask | RewriteTask


@dataclass(frozen=True)
class ModelRequest:
    """Everything one model call needs; `check` adds validation beyond the response type."""

    system: str
    parts: Sequence[Part]
    response_type: type[BaseModel]
    temperature: float = 0.0
    task: Task | None = None
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


def reset_backends() -> None:
    """Forget the shared backends, so the next use reads keys and settings afresh."""
    with _backends_lock:
        _backends.clear()


def _create(model: str) -> ModelBackend:
    if model == "acoustic":
        from voicejudge.backends.acoustic import AcousticBackend

        return AcousticBackend()
    if model.startswith("gemini:") and model.removeprefix("gemini:"):
        from voicejudge.backends.gemini import GeminiBackend
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
    "JudgeTask",
    "LearnTask",
    "MissingKeyError",
    "ModelBackend",
    "ModelReplyError",
    "ModelRequest",
    "ModelRequestError",
    "Part",
    "RewriteTask",
    "backend_for",
    "reset_backends",
    "trace_inputs",
]
