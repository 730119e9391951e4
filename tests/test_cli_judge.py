"""`voicejudge judge` as a user runs it: offline, through the Gemini wire protocol, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_gemini import FakeGemini, first_take_wins, reply

pytestmark = pytest.mark.slow

VOICEJUDGE = str(Path(sys.executable).parent / "voicejudge")
VOICES = Path(__file__).resolve().parents[1] / "assets" / "voices"


def run_judge(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    merged = {**os.environ, "COLUMNS": "160", **(env or {})}
    return subprocess.run(
        [VOICEJUDGE, "judge", *args], capture_output=True, text=True, env=merged, timeout=180
    )


def _files(*numbers: int) -> list[str]:
    return [str(VOICES / f"voice-{n:03d}.flac") for n in numbers]


def test_two_files_are_judged_in_both_orders() -> None:
    result = run_judge("--json", *_files(1, 9))
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert set(verdict) == {"winner", "ranking", "position_consistency", "per_order"}
    assert verdict["winner"] in {"voice-001", "voice-009"}
    assert verdict["position_consistency"] == 1.0
    assert [o["presented"] for o in verdict["per_order"]] == [
        ["voice-001", "voice-009"],
        ["voice-009", "voice-001"],
    ]
    text = run_judge(*_files(1, 9))
    assert text.returncode == 0 and "Winner:" in text.stdout


def test_more_files_are_ranked() -> None:
    result = run_judge("--json", *_files(2, 3, 4, 5))
    verdict = json.loads(result.stdout)
    assert sorted(verdict["ranking"]) == ["voice-002", "voice-003", "voice-004", "voice-005"]


def test_prompt_from_text_and_json_files(tmp_path: Path) -> None:
    text_prompt = tmp_path / "prompt.txt"
    text_prompt.write_text("Prefer the highest voice.")
    assert run_judge("--prompt", str(text_prompt), *_files(1, 2)).returncode == 0
    json_prompt = tmp_path / "prompt.json"
    json_prompt.write_text(
        json.dumps(
            {
                "text": "higher",
                "criteria": [{"feature": "f0_median_hz", "kind": "higher", "weight": 1}],
            }
        )
    )
    high = json.loads(run_judge("--json", "--prompt", str(json_prompt), *_files(1, 2)).stdout)
    low_prompt = tmp_path / "low.json"
    low_prompt.write_text(
        json_prompt.read_text().replace('"higher", "weight"', '"lower", "weight"')
    )
    low = json.loads(run_judge("--json", "--prompt", str(low_prompt), *_files(1, 2)).stdout)
    assert high["winner"] and low["winner"] and high["winner"] != low["winner"]


def test_user_errors_are_clean(tmp_path: Path) -> None:
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"nope")
    cases = [
        (("--json", _files(1)[0], str(broken)), "broken.wav"),
        ((_files(1)[0],), "at least two"),
        (("--prompt", str(tmp_path / "missing.txt"), *_files(1, 2)), "missing.txt"),
        (("--model", "gpt-9", *_files(1, 2)), "Unknown model"),
    ]
    for args, needle in cases:
        result = run_judge(*args)
        assert result.returncode == 1, (args, result.stdout)
        assert "Traceback" not in result.stderr, result.stderr
        assert needle in " ".join(result.stderr.split()), (needle, result.stderr)
    env = {"GEMINI_API_KEY": "", "GOOGLE_API_KEY": ""}
    result = run_judge("--model", "gemini:gemini-2.5-flash", *_files(1, 2), env=env)
    assert result.returncode == 1 and "GEMINI_API_KEY" in result.stderr


def test_gemini_position_bias_shows_in_the_verdict() -> None:
    fake = FakeGemini(default=first_take_wins)
    with fake.running():
        env = {"GOOGLE_GEMINI_BASE_URL": fake.url, "GEMINI_API_KEY": "k-test"}
        result = run_judge("--json", "--model", "gemini:gemini-test", *_files(1, 2), env=env)
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["winner"] is None and verdict["position_consistency"] == 0.0
    assert len(fake.requests) == 2


def test_prompt_from_a_published_ref(client) -> None:
    from voicejudge.learning.rubric import Criterion
    from voicejudge.prompting.judge_prompt import JudgePrompt, publish_judge_prompt

    for kind in ("higher", "lower"):
        criteria = [Criterion(feature="f0_median_hz", kind=kind, weight=1.0)]
        prompt = publish_judge_prompt(JudgePrompt(text=f"{kind} pitch", criteria=criteria))
        client.flush()
        result = run_judge("--json", "--prompt", prompt.ref.uri(), *_files(1, 2))
        assert result.returncode == 0, result.stderr
        winner = json.loads(result.stdout)["winner"]
        assert winner == ("voice-002" if kind == "higher" else "voice-001")
    missing = run_judge(
        "--prompt", f"weave:///{client.entity}/contract/object/nope:latest", *_files(1, 2)
    )
    assert missing.returncode == 1 and "cannot load a judge prompt" in missing.stderr


def test_model_text_is_printed_literally_by_the_cli() -> None:
    fake = FakeGemini(
        default=lambda r: reply({"thinking": "[/] [louder] wins [bold]", "ranking": ["A", "B"]})
    )
    with fake.running():
        env = {"GOOGLE_GEMINI_BASE_URL": fake.url, "GEMINI_API_KEY": "k-test"}
        result = run_judge("--model", "gemini:gemini-test", *_files(1, 2), env=env)
    assert result.returncode == 0, result.stderr
    assert "[/] [louder] wins [bold]" in result.stdout


def test_text_prompt_reaches_an_llm_judge(tmp_path: Path) -> None:
    fake = FakeGemini(default=lambda r: reply({"thinking": "t", "ranking": ["A", "B"]}))
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Prefer the take that sounds most like a sea captain.")
    with fake.running():
        env = {"GOOGLE_GEMINI_BASE_URL": fake.url, "GEMINI_API_KEY": "k-test"}
        result = run_judge(
            "--json",
            "--model",
            "gemini:gemini-test",
            "--prompt",
            str(prompt),
            *_files(1, 2),
            env=env,
        )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["per_order"]
    systems = [r["systemInstruction"]["parts"][0]["text"] for r in fake.requests]
    assert systems and all("sea captain" in text for text in systems)
