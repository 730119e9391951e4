"""`JudgePrompt`: what a judge reads (text) and the criteria the offline judge scores with.

Both backends judge from one prompt: an LLM reads `text`, the acoustic judge applies `criteria`.
Every rewrite is published as the next version of one named object.
"""

from __future__ import annotations

import weave
from pydantic import BaseModel, Field

from voicejudge.prompts import load_prompt
from voicejudge.rubric import Criterion

JUDGE_PROMPT_NAME = "judge-prompt"

SEED_CRITERIA = (
    Criterion(feature="f0_median_hz", kind="lower", weight=0.8, rationale="a man in his 50s"),
    Criterion(feature="syll_rate", kind="lower", weight=0.5, rationale="takes his time"),
    Criterion(feature="jitter_st", kind="higher", weight=0.4, rationale="some roughness"),
    Criterion(feature="f0_range_st", kind="higher", weight=0.3, rationale="a melody that moves"),
    Criterion(
        feature="voiced_frac",
        kind="gate",
        weight=1.5,
        threshold=0.25,
        rationale="a whisper is not his voice",
    ),
    Criterion(
        feature="bandwidth_hz",
        kind="gate",
        weight=0.8,
        threshold=4000.0,
        rationale="a telephone band hides the voice",
    ),
)


class JudgePrompt(weave.Object):
    """A version of the judge prompt."""

    text: str
    criteria: list[Criterion] = Field(default_factory=list)

    def criteria_text(self) -> str:
        return "\n".join(f"- {c.describe()}" for c in self.criteria) or "- (none)"


class JudgePromptAnalysis(BaseModel):
    """The analyzer's answer: why it changed the prompt, and the new prompt."""

    reasoning: str
    prompt: JudgePrompt


def seed_prompt() -> JudgePrompt:
    """The starting judge prompt for the character, before any ranking."""
    return JudgePrompt(text=load_prompt("judge_seed").strip(), criteria=list(SEED_CRITERIA))


def publish_judge_prompt(prompt: JudgePrompt, name: str = JUDGE_PROMPT_NAME) -> JudgePrompt:
    """Publish as the next version of `name` when tracing; returns the prompt (with its ref)."""
    from weave.trace.context.weave_client_context import get_weave_client

    if get_weave_client() is not None:
        weave.publish(prompt, name=name)
    return prompt
