"""The offline backend: answers judge, learn and rewrite requests from acoustic measurements.

It needs no key and no network and is deterministic. It reads each request's structured task
instead of its text, and replies with an instance of the request's response type, exactly as
an LLM backend would.
"""

from __future__ import annotations

from typing import Any

import weave

from voicejudge.audio.features import FeatureCache
from voicejudge.backends import (
    JudgeTask,
    LearnTask,
    ModelReplyError,
    ModelRequest,
    RewriteTask,
    trace_inputs,
)
from voicejudge.rubric import score
from voicejudge.settings import load_settings


class AcousticBackend:
    """Measurement-based answers to the three model-driven steps."""

    model = "acoustic"

    def __init__(self, cache: FeatureCache | None = None) -> None:
        self.cache = cache or FeatureCache(load_settings().feature_cache)

    async def generate(self, request: ModelRequest) -> Any:
        return request.validate_reply(await self._generate(request))

    @weave.op(name="acoustic.generate", postprocess_inputs=trace_inputs)
    async def _generate(self, request: ModelRequest) -> Any:
        task = request.task
        if isinstance(task, JudgeTask):
            reply = self._judge(task)
        elif isinstance(task, LearnTask):
            reply = self._learn(task)
        elif isinstance(task, RewriteTask):
            reply = self._rewrite(task)
        else:
            raise ModelReplyError(
                "The acoustic backend answers judge, learn and rewrite requests only; "
                "this request has no task it can measure."
            )
        try:
            return request.validate_reply(reply).model_dump(mode="json")
        except ValueError as exc:
            raise ModelReplyError(f"The acoustic backend's reply is invalid: {exc}") from exc

    def _judge(self, task: JudgeTask) -> dict[str, Any]:
        scores = {
            label: score(task.criteria, self.cache.features(clip))
            for label, clip in task.clips.items()
        }
        ranking = sorted(scores, key=lambda label: (-scores[label], label))
        thinking = "Rubric scores: " + ", ".join(
            f"{label} {scores[label]:+.2f}" for label in ranking
        )
        return {
            "thinking": thinking,
            "ranking": ranking,
            "scores": [{"label": label, "score": round(scores[label], 4)} for label in ranking],
        }

    def _learn(self, task: LearnTask) -> dict[str, Any]:
        from voicejudge.preference_fit import learn_acoustic

        patterns = learn_acoustic(task.comparisons, dict(task.features), task.prior)
        strong = [p.model_dump() for p in patterns.strong]
        emerging = [p.model_dump() for p in patterns.emerging]
        reasoning = (
            f"Bradley-Terry fit on {patterns.comparisons} comparisons around the current rubric: "
            f"{len(strong)} strong and {len(emerging)} emerging effects."
        )
        return {"reasoning": reasoning, "strong": strong, "emerging": emerging}

    def _rewrite(self, task: RewriteTask) -> dict[str, Any]:
        from voicejudge.analyzer import rewrite_from_patterns

        return rewrite_from_patterns(task.prompt, task.patterns)
