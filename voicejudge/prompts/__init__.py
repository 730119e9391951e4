"""The project's prompts: text files beside this module, loaded by name and rendered fresh.

The learner, the rewrite and the judge all read them, so they sit below every step.

Rendering replaces `{name}` placeholders with values and never re-reads what it inserted, so
braces or quotes in pattern text cannot break a prompt, and a template is never changed.
"""

from __future__ import annotations

import re
from importlib import resources

from voicejudge.errors import VoiceJudgeError

PROMPT_NAMES = ("judge_seed", "judge_postfix", "learner", "analyzer", "ab_verdict")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class PromptError(VoiceJudgeError):
    """An unknown prompt, or a placeholder without a value."""


def load_prompt(name: str) -> str:
    """The text of one bundled prompt."""
    if name not in PROMPT_NAMES:
        raise PromptError(f"No prompt {name!r}; the prompts are {', '.join(PROMPT_NAMES)}.")
    return resources.files("voicejudge.prompts").joinpath(f"{name}.md").read_text("utf-8")


def render(template: str, **values: str) -> str:
    """Fill every `{placeholder}` of `template` from `values` in one pass."""
    missing = sorted(set(_PLACEHOLDER.findall(template)) - set(values))
    if missing:
        raise PromptError(f"No value for placeholder(s) {', '.join(missing)}.")
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), template)


def publish_prompts() -> dict[str, object]:
    """Publish every bundled prompt as a versioned `weave.StringPrompt`; returns their refs."""
    import weave

    return {
        name: weave.publish(weave.StringPrompt(load_prompt(name)), name=f"prompt-{name}")
        for name in PROMPT_NAMES
    }
