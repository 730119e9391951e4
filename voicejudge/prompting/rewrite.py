"""The analyzer: rewrites the judge prompt (text and criteria) from the learned patterns.

The template is rendered fresh from the current prompt on every call, and each result is
published as the next version of one named `JudgePrompt`.
"""

from __future__ import annotations

from typing import Any

import weave
from pydantic import BaseModel, Field

from voicejudge.audio.features import FEATURE_NAMES
from voicejudge.learning.patterns import Pattern, PreferencePatterns
from voicejudge.learning.rubric import Criterion
from voicejudge.models import OFFLINE_MODEL, ModelRequest, backend_for
from voicejudge.models.running import run_sync
from voicejudge.prompting.judge_prompt import (
    JUDGE_PROMPT_NAME,
    JudgePrompt,
    JudgePromptAnalysis,
    publish_judge_prompt,
)
from voicejudge.prompts import load_prompt, render
from voicejudge.tracking import ref_uri

LEARNED_HEADING = "What this listener has shown so far:"


class AnalyzerReply(BaseModel):
    """What the analyzer model returns."""

    reasoning: str
    judge_prompt: str = Field(description="the full new judge prompt")
    criteria: list[Criterion]


class JudgePromptAnalyzer(weave.Model):
    """Rewrites a judge prompt: `acoustic` rebuilds the criteria from the patterns by rule,
    `gemini:<model>` rewrites the text and criteria itself."""

    model: str = "acoustic"
    temperature: float = 0.7
    prompt_name: str = JUDGE_PROMPT_NAME

    @weave.op
    def rewrite(self, prompt: JudgePrompt, patterns: PreferencePatterns) -> JudgePromptAnalysis:
        if self.model == OFFLINE_MODEL:
            reply = AnalyzerReply.model_validate(rewrite_from_patterns(prompt, patterns))
        else:
            reply = self._ask_model(prompt, patterns)
        new_prompt = publish_judge_prompt(
            JudgePrompt(
                text=reply.judge_prompt,
                criteria=reply.criteria,
                brief=prompt.brief,
                parent=ref_uri(prompt),
                patterns=ref_uri(patterns),
            ),
            self.prompt_name,
        )
        return JudgePromptAnalysis(reasoning=reply.reasoning, prompt=new_prompt)

    def _ask_model(self, prompt: JudgePrompt, patterns: PreferencePatterns) -> AnalyzerReply:
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
        )
        reply: AnalyzerReply = run_sync(backend_for(self.model).generate(request))
        return reply


def rewrite_from_patterns(prompt: JudgePrompt, patterns: PreferencePatterns) -> dict[str, Any]:
    """The offline rewrite. The learner fits its patterns around the prompt's criteria, so once
    there are patterns the criteria are rebuilt from them alone, each at its effect: a
    criterion the rankings no longer back is dropped. Until then the prompt's own criteria
    stand."""
    learned: dict[tuple[str, ...], Criterion] = {}
    for pattern in patterns.strong + patterns.emerging:
        criterion = pattern.as_criterion()
        if criterion is None or criterion.slot() in learned:
            continue
        learned[criterion.slot()] = criterion
    before = {c.slot(): c for c in prompt.criteria}
    criteria = learned or {key: c for key, c in before.items() if c.source == "prompt"}
    changes = []
    for key, criterion in learned.items():
        previous = before.get(key)
        verb = (
            "added"
            if previous is None
            else "changed"
            if previous.kind != criterion.kind
            else "reweighted"
        )
        changes.append(f"{verb} {criterion.describe()}")
    changes += [
        f"dropped {c.describe()}" for key, c in before.items() if learned and key not in learned
    ]
    base = prompt.text.split(LEARNED_HEADING)[0].rstrip()
    lines = [f"- {p.statement}" for p in patterns.strong] + [
        f"- (tie-breaker) {p.statement}" for p in patterns.emerging
    ]
    text = base if not lines else f"{base}\n\n{LEARNED_HEADING}\n" + "\n".join(lines)
    reasoning = (
        f"From {patterns.comparisons} comparisons: " + "; ".join(changes)
        if changes
        else "No pattern is supported well enough yet; the prompt is unchanged."
    )
    return {"reasoning": reasoning, "judge_prompt": text, "criteria": list(criteria.values())}


def _patterns_text(patterns: PreferencePatterns) -> str:
    def lines(items: list[Pattern], label: str) -> list[str]:
        return [
            f"- [{label}] {p.statement} (support {p.support}, against {p.against})" for p in items
        ]

    text = lines(patterns.strong, "strong") + lines(patterns.emerging, "emerging")
    return "\n".join(text) or "- (no patterns yet)"
