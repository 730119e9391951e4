"""`JudgePrompt`: what a judge reads (text) and the criteria the offline judge scores with.

Both backends judge from one prompt: an LLM reads `text`, the acoustic judge applies `criteria`.
Every rewrite is published as the next version of one named object.
"""

from __future__ import annotations

import json
from pathlib import Path

import weave
from pydantic import BaseModel, Field

from voicejudge.prompts import PromptError, load_prompt
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
    """The seed prompt (None), a `weave:///` ref, a JSON file {text, criteria}, or a text file.

    A plain-text prompt keeps the seed criteria, so the offline judge can still score with it.
    """
    if source is None:
        return seed_prompt()
    if isinstance(source, str) and source.startswith("weave:///"):
        return _from_ref(source)
    path = Path(source)
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(f"{path}: cannot read the judge prompt ({exc}).") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(content)
            return JudgePrompt(text=data["text"], criteria=data.get("criteria", []))
        except (ValueError, KeyError, TypeError) as exc:
            raise PromptError(
                f"{path}: a JSON judge prompt needs 'text' and optional 'criteria' ({exc})."
            ) from None
    if not content.strip():
        raise PromptError(f"{path}: the judge prompt is empty.")
    return JudgePrompt(text=content.strip(), criteria=list(SEED_CRITERIA))


def _from_ref(uri: str) -> JudgePrompt:
    """The stored version itself, carrying its ref, so what is judged or rewritten with it
    records this version."""
    from weave.trace.context.weave_client_context import get_weave_client
    from weave.trace.ref_util import set_ref
    from weave.trace.refs import ObjectRef

    from voicejudge.tracking import read_ref

    try:
        read_ref(uri)  # starts tracking for the ref's project if needed
        ref = ObjectRef.parse_uri(uri)
        client = get_weave_client()
        found = client.server.obj_read(
            {
                "project_id": f"{ref.entity}/{ref.project}",
                "object_id": ref.name,
                "digest": ref.digest,
            }
        ).obj
        value = found.val
        prompt = JudgePrompt(
            text=value["text"],
            criteria=[Criterion.model_validate(c) for c in value.get("criteria") or []],
            parent=value.get("parent"),
            patterns=value.get("patterns"),
        )
    except Exception as exc:  # a missing ref or another kind of object
        raise PromptError(f"{uri}: cannot load a judge prompt ({exc}).") from None
    set_ref(prompt, ObjectRef(ref.entity, ref.project, ref.name, found.digest))
    return prompt


def seed_prompt() -> JudgePrompt:
    """The starting judge prompt for the character, before any ranking."""
    return JudgePrompt(text=load_prompt("judge_seed").strip(), criteria=list(SEED_CRITERIA))


def publish_judge_prompt(prompt: JudgePrompt, name: str = JUDGE_PROMPT_NAME) -> JudgePrompt:
    """Publish as the next version of `name` when tracing; returns the prompt (with its ref)."""
    from weave.trace.context.weave_client_context import get_weave_client

    if get_weave_client() is not None:
        weave.publish(prompt, name=name)
    return prompt
