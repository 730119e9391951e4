"""`JudgePrompt`: what a judge reads (text) and the criteria the offline judge scores with.

Both backends judge from one prompt: an LLM reads `text`, the acoustic judge applies `criteria`.
Every rewrite is published as the next version of one named object.
"""

from __future__ import annotations

import json
from pathlib import Path

import weave
from pydantic import BaseModel, Field

from voicejudge.learning.brief import Brief, default_brief, stated_criteria
from voicejudge.learning.rubric import Criterion
from voicejudge.prompts import PromptError, load_prompt, render
from voicejudge.tracking.refs import REF_PREFIX, at_version, object_ref

JUDGE_PROMPT_NAME = "judge-prompt"


class JudgePrompt(weave.Object):
    """A version of the judge prompt."""

    text: str
    criteria: list[Criterion] = Field(default_factory=list)
    brief: str | None = Field(default=None, description="the character brief the run started from")
    parent: str | None = Field(default=None, description="ref of the version it was rewritten from")
    patterns: str | None = Field(
        default=None, description="ref of the patterns it was rewritten with"
    )

    def criteria_text(self) -> str:
        return "\n".join(f"- {c.describe()}" for c in self.criteria) or "- (none)"


class JudgePromptAnalysis(BaseModel):
    """The analyzer's answer: why it changed the prompt, and the new prompt."""

    reasoning: str
    prompt: JudgePrompt


def load_judge_prompt(source: str | Path | None) -> JudgePrompt:
    """The default starting prompt (None), a `weave:///` ref, a JSON file {text, criteria}, or a
    text file (whose criteria are what its text states, as for a brief)."""
    if source is None:
        return starting_prompt(default_brief())
    if isinstance(source, str) and source.startswith(REF_PREFIX):
        return _from_ref(source)
    path = Path(source)
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(f"{path}: cannot read the judge prompt ({exc}).") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(content)
            return JudgePrompt(
                text=data["text"], criteria=data.get("criteria", []), brief=data.get("brief")
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise PromptError(
                f"{path}: a JSON judge prompt needs 'text' and optional 'criteria' ({exc})."
            ) from None
    if not content.strip():
        raise PromptError(f"{path}: the judge prompt is empty.")
    return JudgePrompt(text=content.strip(), criteria=stated_criteria(content))


def _from_ref(uri: str) -> JudgePrompt:
    """The stored version itself, carrying its ref, so what is judged or rewritten with it
    records this version."""
    from weave.trace.ref_util import set_ref

    from voicejudge.tracking import read_object_value

    try:
        ref = object_ref(uri)
        value, digest = read_object_value(uri)
        prompt = JudgePrompt(
            text=value["text"],
            criteria=[Criterion.model_validate(c) for c in value.get("criteria") or []],
            parent=value.get("parent"),
            patterns=value.get("patterns"),
            brief=value.get("brief"),
        )
    except Exception as exc:  # a missing ref or another kind of object
        raise PromptError(f"{uri}: cannot load a judge prompt ({exc}).") from None
    set_ref(prompt, at_version(ref, digest))
    return prompt


def starting_prompt(brief: Brief) -> JudgePrompt:
    """The judge prompt before any ranking: the brief inside the casting instructions, and the
    criteria the brief states (none if it states nothing measurable)."""
    return JudgePrompt(
        text=render(load_prompt("judge_seed"), brief=brief.text).strip(),
        criteria=brief.stated_criteria(),
        brief=brief.text,
    )


def seed_prompt() -> JudgePrompt:
    """The starting judge prompt for the default character."""
    return starting_prompt(default_brief())


def publish_judge_prompt(prompt: JudgePrompt, name: str = JUDGE_PROMPT_NAME) -> JudgePrompt:
    """Publish as the next version of `name` when tracing; returns the prompt (with its ref)."""
    from weave.trace.context.weave_client_context import get_weave_client

    if get_weave_client() is not None:
        weave.publish(prompt, name=name)
    return prompt
