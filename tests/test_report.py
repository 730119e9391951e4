"""The run report's one sentence on what the rankings taught beyond the brief."""

import pytest
import weave

from voicejudge import JudgePrompt, Pattern, PreferencePatterns
from voicejudge.loop.report import ReportError, learned_beyond_brief, patterns_of

BRIEF = "A tired old man who speaks slowly."


def _pattern(feature: str, direction: str, confidence: float) -> Pattern:
    return Pattern(
        statement=f"Prefers {direction} {feature}",
        feature=feature,
        direction=direction,  # type: ignore[arg-type]
        support=10,
        against=2,
        effect=1.0,
        confidence=confidence,
    )


def test_report_names_likely_patterns_the_brief_did_not_state_and_counts_the_rest() -> None:
    prompt = JudgePrompt(text="Judge the takes.", brief=BRIEF)
    patterns = PreferencePatterns(
        strong=[_pattern("syll_rate", "higher", 0.97)],
        emerging=[
            _pattern("hnr_db", "higher", 0.85),
            _pattern("syll_rate", "lower", 0.55),
            _pattern("lufs", "lower", 0.6),
        ],
    )

    sentence = learned_beyond_brief(prompt, patterns)

    assert "speaking rate (syll_rate) (the brief said otherwise, 97% sure)" in sentence
    assert "(hnr_db) (85% sure)" in sentence
    assert "lufs" not in sentence
    assert sentence.endswith("and 2 weaker leanings, used as tie-breakers.")


def test_report_says_nothing_was_learned_when_the_rankings_only_confirm_the_brief() -> None:
    prompt = JudgePrompt(text="Judge the takes.", brief=BRIEF)
    patterns = PreferencePatterns(strong=[_pattern("syll_rate", "lower", 0.95)])

    assert learned_beyond_brief(prompt, patterns) == "Learned beyond the brief: nothing likely yet."


def test_patterns_of_a_prompt_read_back_from_the_store_and_a_missing_ref_is_a_clear_error(
    client: object,
) -> None:
    stored = PreferencePatterns(strong=[_pattern("syll_rate", "higher", 0.97)], comparisons=4)
    ref = weave.publish(stored, name="preference-patterns").uri()
    prompt = JudgePrompt(text="Judge the takes.", brief=BRIEF, patterns=ref)

    found = patterns_of(prompt)

    assert found is not None and found.comparisons == 4
    assert found.strong[0].term.feature == "syll_rate" and found.strong[0].confidence == 0.97
    assert patterns_of(JudgePrompt(text="Judge the takes.")) is None
    missing = ref.rsplit(":", 1)[0] + ":" + "0" * 40
    with pytest.raises(ReportError, match="cannot read the patterns"):
        patterns_of(JudgePrompt(text="Judge the takes.", patterns=missing))
