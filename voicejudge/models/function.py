"""`FunctionModel`: a model backend answered by a Python function, in process.

Tests and offline scripts get the whole model path of a step (the request it builds, reply
validation, the one repair, the trace) with no server, as pydantic-ai's `FunctionModel` does.
Register it with `using_backend`, then name it in a step as `function:<name>`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import weave
from pydantic import ValidationError

from voicejudge.errors import validation_problems
from voicejudge.models import ModelReplyError, ModelRequest, trace_inputs

# The function gets the request and, on the repair attempt, what was wrong with its first reply.
AnswerFunction = Callable[[ModelRequest, str | None], Any | Awaitable[Any]]


class FunctionModel:
    """Answers each request with `function(request, problem)`: a JSON-like reply the request's
    response type validates; an invalid reply is asked for once more with the problem."""

    def __init__(self, function: AnswerFunction, name: str = "function") -> None:
        self.function = function
        self.model = f"function:{name}"
        self.requests: list[ModelRequest] = []

    async def generate(self, request: ModelRequest) -> Any:
        return request.validate_reply(await self._generate(request))

    @weave.op(name="function.generate", postprocess_inputs=trace_inputs)
    async def _generate(self, request: ModelRequest) -> Any:
        problem: str | None = None
        for _ in range(2):
            self.requests.append(request)
            reply = self.function(request, problem)
            if inspect.isawaitable(reply):
                reply = await reply
            try:
                return request.validate_reply(reply).model_dump(mode="json")
            except ValidationError as exc:
                problem = validation_problems(exc, limit=3)
            except ValueError as exc:
                problem = str(exc)
        raise ModelReplyError(
            f"{self.model} gave an invalid reply twice (after one repair): {problem}"
        )
