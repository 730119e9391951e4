"""Gemini through google-genai: audio in, structured JSON out, retried, limited and cached.

Audio goes inline as `audio/wav` (through the Files API above the inline limit); the reply is
constrained by a response schema, checked, repaired once, else `ModelReplyError`. Retries with
backoff cover 408/429/5xx and transport errors; anything else is a bug and raised as it is.
The key comes from `GEMINI_API_KEY` or `GOOGLE_API_KEY`, the endpoint from
`GOOGLE_GEMINI_BASE_URL` (default: Google's).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import io
import json
import os
import threading
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import weave
from google import genai
from google.genai import errors, types
from pydantic import ValidationError

from voicejudge.audio.clip import AudioClip
from voicejudge.errors import validation_problems
from voicejudge.models import (
    MissingKeyError,
    ModelReplyError,
    ModelRequest,
    ModelRequestError,
    trace_inputs,
)

RETRY_STATUS_CODES = [408, 429, 500, 502, 503, 504]
DEFAULT_ENDPOINT = "https://generativelanguage.googleapis.com/"
INLINE_LIMIT_BYTES = 18 * 1024 * 1024
_BLOCKING_FINISH = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"}


class GeminiBackend:
    """One Gemini model behind the backend protocol."""

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        attempts: int = 5,
        initial_delay_s: float = 1.0,
        max_delay_s: float = 30.0,
        concurrency: int = 8,
        cache_dir: Path | None = None,
        inline_limit_bytes: int = INLINE_LIMIT_BYTES,
    ) -> None:
        self.model = f"gemini:{model}"
        self._model_id = model
        key = api_key or os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
        if not key:
            raise MissingKeyError(
                f"{self.model} needs an API key: set GEMINI_API_KEY (or GOOGLE_API_KEY), "
                "or use the offline model 'acoustic'."
            )
        retry = types.HttpRetryOptions(
            attempts=attempts,
            initial_delay=initial_delay_s,
            max_delay=max_delay_s,
            exp_base=2.0,
            jitter=0.2,
            http_status_codes=RETRY_STATUS_CODES,
        )
        self._endpoint = os.environ.get("GOOGLE_GEMINI_BASE_URL") or DEFAULT_ENDPOINT
        self._client = genai.Client(
            api_key=key,
            http_options=types.HttpOptions(
                base_url=self._endpoint, timeout=int(timeout_s * 1000), retry_options=retry
            ),
        )
        self._concurrency = concurrency
        self._slots = threading.BoundedSemaphore(concurrency)
        self._loop_slots: weakref.WeakKeyDictionary[Any, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._loop_slots_lock = threading.Lock()
        self._attempts = attempts
        self._retry_delay = initial_delay_s
        self._cache_dir = cache_dir
        self._inline_limit = inline_limit_bytes
        self._uploaded: dict[str, str] = {}

    async def generate(self, request: ModelRequest) -> Any:
        """Wait for a free slot, then make the traced call (so traces time the model, not
        the queue, and trace work is spread over the requests in flight)."""
        async with self._loop_slot():
            await self._take_slot()
            try:
                reply = await self._generate(request)
            finally:
                self._slots.release()
        return request.validate_reply(reply)

    @weave.op(name="gemini.generate", postprocess_inputs=trace_inputs)
    async def _generate(self, request: ModelRequest) -> Any:
        cache_key = self._cache_key(request) if self._cache_dir is not None else None
        cached = self._cache_read(cache_key, request) if cache_key else None
        if cached is not None:
            return cached.model_dump(mode="json")
        contents = [types.Content(role="user", parts=[await self._part(p) for p in request.parts])]
        config = types.GenerateContentConfig(
            system_instruction=request.system,
            temperature=request.temperature,
            response_mime_type="application/json",
            response_schema=request.response_type,
        )
        response = await self._call(contents, config)
        try:
            result = self._accept(response, request)
        except ValueError as problem:
            contents += [
                types.Content(
                    role="model",
                    parts=[types.Part.from_text(text=_text(response) or "(an empty reply)")],
                ),
                types.Content(
                    role="user",
                    parts=[
                        types.Part.from_text(
                            text=f"That reply is not valid: {problem}. Reply again with JSON "
                            "that matches the response schema exactly."
                        )
                    ],
                ),
            ]
            response = await self._call(contents, config)
            try:
                result = self._accept(response, request)
            except ValueError as again:
                raise ModelReplyError(
                    f"{self.model} gave an invalid reply twice (after one repair): {again}"
                ) from None
        if cache_key:
            self._cache_write(cache_key, result)
        # The trace keeps the reply as plain JSON: weave inspects every attribute of a
        # pydantic output, which costs more than the rest of the call.
        return result.model_dump(mode="json")

    def _loop_slot(self) -> asyncio.Semaphore:
        """This event loop's queue for the model: waiters wake in order as soon as a slot frees."""
        loop = asyncio.get_running_loop()
        with self._loop_slots_lock:
            if loop not in self._loop_slots:
                self._loop_slots[loop] = asyncio.Semaphore(self._concurrency)
            return self._loop_slots[loop]

    async def _take_slot(self) -> None:
        """One of the model's request slots, shared by every thread and event loop; only
        contended when several loops use the model at once."""
        wait = 0.002
        while not self._slots.acquire(blocking=False):
            await asyncio.sleep(wait)
            wait = min(wait * 2, 0.05)

    async def _part(self, part: str | AudioClip) -> types.Part:
        if isinstance(part, str):
            return types.Part.from_text(text=part)
        wav = part.to_wav_bytes()
        if len(wav) <= self._inline_limit:
            return types.Part.from_bytes(data=wav, mime_type="audio/wav")
        if part.sha256 not in self._uploaded:
            uploaded = await self._guarded(
                lambda: self._client.aio.files.upload(
                    file=io.BytesIO(wav), config=types.UploadFileConfig(mime_type="audio/wav")
                )
            )
            if not uploaded.uri:
                raise ModelRequestError(f"{self.model}: the Files API returned no file URI.")
            self._uploaded[part.sha256] = uploaded.uri
        return types.Part.from_uri(file_uri=self._uploaded[part.sha256], mime_type="audio/wav")

    async def _call(
        self, contents: list[types.Content], config: types.GenerateContentConfig
    ) -> types.GenerateContentResponse:
        return await self._guarded(
            lambda: self._client.aio.models.generate_content(
                model=self._model_id, contents=contents, config=config
            )
        )

    async def _guarded(self, make: Callable[[], Awaitable[Any]]) -> Any:
        """Await `make()`, retrying dropped connections, and explain every service failure.

        google-genai retries HTTP statuses, failed connects and timeouts itself; a connection
        dropped mid-request (a read or protocol error) is retried here with the same backoff.
        Any other exception is a bug, raised as it is.
        """
        delay = self._retry_delay
        for attempt in range(1, self._attempts + 1):
            try:
                return await make()
            except errors.APIError as exc:
                raise ModelRequestError(_explain(self.model, exc)) from None
            except _TRANSPORT_ERRORS as exc:
                retried_by_client = isinstance(exc, _CLIENT_RETRIED_ERRORS)
                if retried_by_client or attempt == self._attempts:
                    raise ModelRequestError(
                        f"{self.model} could not be reached at {self._endpoint} "
                        f"({type(exc).__name__}: {exc}); check the network or "
                        "GOOGLE_GEMINI_BASE_URL."
                    ) from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")

    def _accept(self, response: types.GenerateContentResponse, request: ModelRequest) -> Any:
        feedback = response.prompt_feedback
        if feedback is not None and feedback.block_reason:
            raise ModelReplyError(
                f"{self.model} blocked the request ({_name(feedback.block_reason)})."
            )
        candidates = response.candidates or []
        if not candidates:
            raise ModelReplyError(f"{self.model} returned no answer.")
        finish = _name(candidates[0].finish_reason)
        if finish in _BLOCKING_FINISH:
            raise ModelReplyError(f"{self.model} blocked its reply (finish reason {finish}).")
        text = _text(response)
        try:
            return request.validate_reply(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON ({exc.msg})") from None
        except ValidationError as exc:
            raise ValueError(validation_problems(exc, limit=3)) from None

    def _cache_key(self, request: ModelRequest) -> str:
        description = {
            "endpoint": self._endpoint,
            "model": self._model_id,
            "system": request.system,
            "parts": [p if isinstance(p, str) else {"audio": p.sha256} for p in request.parts],
            "schema": request.response_type.model_json_schema(),
            "temperature": request.temperature,
        }
        return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()

    def _cache_read(self, key: str, request: ModelRequest) -> Any:
        assert self._cache_dir is not None
        path = self._cache_dir / f"{key}.json"
        try:
            return request.validate_reply(json.loads(path.read_text()))
        except (OSError, ValueError):
            return None

    def _cache_write(self, key: str, result: Any) -> None:
        assert self._cache_dir is not None
        self._cache_dir.mkdir(parents=True, exist_ok=True)
        partial = self._cache_dir / f"{key}.json.partial"
        partial.write_text(result.model_dump_json())
        partial.replace(self._cache_dir / f"{key}.json")


def _transport_error_types() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """The errors of the HTTP stacks google-genai may use (httpx, its fork httpx2, aiohttp):
    all transport errors, and those the client already retried (failed connects, timeouts)."""
    transport: list[type[Exception]] = []
    retried: list[type[Exception]] = []
    for name in ("httpx", "httpx2"):
        try:
            stack = importlib.import_module(name)
        except ImportError:
            continue
        transport.append(stack.TransportError)
        retried += [stack.ConnectError, stack.TimeoutException]
    try:
        aiohttp = importlib.import_module("aiohttp")
    except ImportError:
        pass
    else:
        transport.append(aiohttp.ClientError)
        retried += [aiohttp.ClientConnectorError, aiohttp.ServerTimeoutError]
    return tuple(transport), tuple(retried)


_TRANSPORT_ERRORS, _CLIENT_RETRIED_ERRORS = _transport_error_types()


def _text(response: types.GenerateContentResponse) -> str:
    parts = (response.candidates or [types.Candidate()])[0].content
    texts = [p.text for p in (parts.parts if parts and parts.parts else []) if p.text]
    return "".join(texts)


def _name(value: Any) -> str:
    return getattr(value, "name", None) or str(value)


def _explain(model: str, exc: errors.APIError) -> str:
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None) or str(exc)
    if code in (401, 403):
        hint = "check GEMINI_API_KEY"
    elif code == 404:
        hint = "check the model name"
    elif code == 429:
        hint = "rate limited after retries; lower the concurrency or try later"
    elif code is not None and code >= 500:
        hint = "the service failed after retries; try again later"
    else:
        hint = "the request was refused"
    return f"{model} returned HTTP {code}: {message} ({hint})."
