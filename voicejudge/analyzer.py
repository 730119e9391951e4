"""The analyzer: rewrites the judge prompt (text and criteria) from the learned patterns.

The template is rendered fresh from the current prompt on every call, and each result is
published as the next version of one named `JudgePrompt`.
"""

from __future__ import annotations

from typing import Any

import weave
from pydantic import BaseModel, Field

from voicejudge.audio.features import FEATURE_NAMES
from voicejudge.backends import ModelRequest, RewriteTask, backend_for
from voicejudge.backends.running import run_sync
from voicejudge.judge_prompt import (
    JUDGE_PROMPT_NAME,
    JudgePrompt,
    JudgePromptAnalysis,
    publish_judge_prompt,
)
from voicejudge.patterns import Pattern, PreferencePatterns
from voicejudge.prompts import load_prompt, render
from voicejudge.rubric import Criterion
from voicejudge.tracking import ref_uri

LEARNED_HEADING = "What this listener has shown so far:"
EMERGING_WEIGHT = 0.5


class AnalyzerReply(BaseModel):
    """What the analyzer model returns."""

    reasoning: str
    judge_prompt: str = Field(description="the full new judge prompt")
    criteria: list[Criterion]


class JudgePromptAnalyzer(weave.Model):
    """Rewrites a judge prompt; `model` is `acoustic` or `gemini:<model>`."""

    model: str = "acoustic"
    temperature: float = 0.7
    prompt_name: str = JUDGE_PROMPT_NAME

    @weave.op
    def rewrite(self, prompt: JudgePrompt, patterns: PreferencePatterns) -> JudgePromptAnalysis:
        system = render(
            load_prompt("analyzer"),
            current_prompt=prompt.text,
            current_criteria=prompt.criteria_text(),
            patterns=_patterns_text(patterns),
            feature_names=", ".join(FEATURE_NAMES),
        )
        request = ModelRequest(
            system=system,
            parts=["Rewrite the judge prompt now."],
            response_type=AnalyzerReply,
            temperature=self.temperature,
            task=RewriteTask(prompt=prompt, patterns=patterns),
        )
        reply: AnalyzerReply = run_sync(backend_for(self.model).generate(request))
        new_prompt = publish_judge_prompt(
            JudgePrompt(
                text=reply.judge_prompt,
                criteria=reply.criteria,
                parent=ref_uri(prompt),
                patterns=ref_uri(patterns),
            ),
            self.prompt_name,
        )
        return JudgePromptAnalysis(reasoning=reply.reasoning, prompt=new_prompt)


def rewrite_from_patterns(prompt: JudgePrompt, patterns: PreferencePatterns) -> dict[str, Any]:
    """The offline rewrite: strong patterns set criteria, emerging ones at half weight, and a
    pattern replaces whatever the prompt said about the same feature. Criteria learned earlier
    are rebuilt from the current patterns, so one no pattern supports any more is dropped."""
    criteria: dict[tuple, Criterion] = {_key(c): c for c in prompt.criteria if c.source == "prompt"}
    changes = []
    for pattern, factor in [(p, 1.0) for p in patterns.strong] + [
        (p, EMERGING_WEIGHT) for p in patterns.emerging
    ]:
        criterion = pattern.as_criterion()
        if criterion is None:
            continue
        criterion = criterion.model_copy(update={"weight": round(criterion.weight * factor, 3)})
        key = _key(criterion)
        before = criteria.get(key)
        if factor < 1 and before is not None and _set_by_pattern(before, patterns.strong):
            continue
        if factor < 1 and before is not None and before.kind == criterion.kind:
            # Tentative evidence for what the prompt already asks never weakens it.
            criterion = criterion.model_copy(
                update={"weight": max(before.weight, criterion.weight)}
            )
        criteria[key] = criterion
        verb = (
            "added"
            if before is None
            else "changed"
            if before.kind != criterion.kind
            else "reweighted"
        )
        changes.append(f"{verb} {criterion.describe()}")
    base = prompt.text.split(LEARNED_HEADING)[0].rstrip()
    learned = [f"- {p.statement}" for p in patterns.strong] + [
        f"- (tie-breaker) {p.statement}" for p in patterns.emerging
    ]
    text = base if not learned else f"{base}\n\n{LEARNED_HEADING}\n" + "\n".join(learned)
    reasoning = (
        f"From {patterns.comparisons} comparisons: " + "; ".join(changes)
        if changes
        else "No pattern is supported well enough yet; the prompt is unchanged."
    )
    return {"reasoning": reasoning, "judge_prompt": text, "criteria": list(criteria.values())}


def _key(criterion: Criterion) -> tuple:
    if criterion.kind == "gate":
        return ("gate", criterion.feature, criterion.threshold, criterion.below)
    return ("effect", criterion.feature)


def _set_by_pattern(criterion: Criterion, strong: list[Pattern]) -> bool:
    return any(p.as_criterion() and _key(p.as_criterion()) == _key(criterion) for p in strong)


def _patterns_text(patterns: PreferencePatterns) -> str:
    def lines(items: list[Pattern], label: str) -> list[str]:
        return [
            f"- [{label}] {p.statement} (support {p.support}, against {p.against})" for p in items
        ]

    text = lines(patterns.strong, "strong") + lines(patterns.emerging, "emerging")
    return "\n".join(text) or "- (no patterns yet)"
