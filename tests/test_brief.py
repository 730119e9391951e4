"""The character brief: one default, criteria only from what a brief states, and `--brief` runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from voicejudge.learning.brief import BriefError, default_brief, load_brief, stated_criteria
from voicejudge.prompting.judge_prompt import seed_prompt, starting_prompt

VOICEJUDGE = str(Path(sys.executable).parent / "voicejudge")
ROOT = Path(__file__).resolve().parents[1]


def _kinds(text: str) -> dict[str, str]:
    return {c.feature: c.kind for c in stated_criteria(text)}


def test_the_default_brief_states_pitch_pace_texture_melody_and_recording_defects() -> None:
    kinds = _kinds(default_brief().text)
    assert kinds == {
        "f0_median_hz": "lower",
        "jitter_st": "higher",
        "f0_range_st": "higher",
        "syll_rate": "lower",
        "voiced_frac": "gate",
        "bandwidth_hz": "gate",
        "clip_ratio": "gate",
    }
    prompt = seed_prompt()
    assert default_brief().text in prompt.text and prompt.brief == default_brief().text


def test_a_brief_that_states_nothing_measurable_gives_no_prior() -> None:
    brief = "A narrator for a documentary about whales, in the spirit of the 1970s."
    assert stated_criteria(brief) == []
    assert starting_prompt(load_brief_text(brief)).criteria == []


def load_brief_text(text: str):
    from voicejudge.learning.brief import Brief

    return Brief(text=text, source="test")


def test_a_negated_statement_turns_the_direction_around() -> None:
    assert _kinds("She never talks fast, and her voice is not deep.") == {
        "syll_rate": "lower",
        "f0_median_hz": "higher",
    }
    assert _kinds("He is not young at all, and his voice sits low.") == {"f0_median_hz": "lower"}
    assert _kinds("A high-pitched, quick and breathy voice.") == {
        "f0_median_hz": "higher",
        "syll_rate": "higher",
        "voiced_frac": "lower",
    }


def test_a_missing_or_empty_brief_is_refused_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(BriefError, match="no such brief file"):
        load_brief(tmp_path / "nope.md")
    empty = tmp_path / "empty.md"
    empty.write_text("  \n", encoding="utf-8")
    with pytest.raises(BriefError, match="the brief is empty"):
        load_brief(empty)


@pytest.mark.slow
def test_rounds_with_a_brief_start_from_it_and_every_prompt_version_records_it(
    tmp_path: Path,
) -> None:
    brief = tmp_path / "my-character.md"
    brief.write_text("A young woman, bright and quick; never a whisper.\n", encoding="utf-8")
    home, out = tmp_path / "home", tmp_path / "rounds.json"
    env = {**os.environ, "COLUMNS": "200", "VOICEJUDGE_HOME": str(home)}
    result = subprocess.run(
        [
            VOICEJUDGE, "rounds", "--set", str(ROOT / "assets" / "voices"), "--rater", "gravel",
            "--brief", str(brief), "--rounds", "1", "--pairs-per-round", "2", "--heldout", "3",
            "--json", str(out),
        ],
        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Learned beyond the brief" in result.stdout
    from voicejudge import Settings, close_tracking, init_tracking, load_judge_prompt

    table = json.loads(out.read_text())
    init_tracking(backend="local", settings=Settings(home=home))
    try:
        start, final = (load_judge_prompt(r["prompt_ref"]) for r in table["rounds"])
        assert start.brief == final.brief == brief.read_text(encoding="utf-8").strip()
        assert {c.feature: c.kind for c in start.criteria} == {
            "syll_rate": "higher",
            "voiced_frac": "gate",
        }
        assert final.parent == table["rounds"][0]["prompt_ref"]
    finally:
        close_tracking()
