"""Failure paths found in review: concurrency across threads, dropped connections, uploads,
model text in the terminal, unusable learner claims, contradictions, settings, stale criteria."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.fake_gemini import FakeGemini, reply
from tests.raters import labelled_pairs
from voicejudge.analyzer import rewrite_from_patterns
from voicejudge.audio import extract_features
from voicejudge.backends import (
    ModelReplyError,
    ModelRequest,
    ModelRequestError,
    backend_for,
    reset_backends,
)
from voicejudge.backends.gemini import GeminiBackend
from voicejudge.backends.running import run_sync
from voicejudge.data import load_sample_set
from voicejudge.judge import judge_reply_type
from voicejudge.judge_prompt import JudgePrompt
from voicejudge.learner import LearnerReply, PreferenceLearner, consolidate
from voicejudge.patterns import PatternClaim, PreferencePatterns
from voicejudge.ranking import Comparison
from voicejudge.rubric import Criterion

ROOT = Path(__file__).resolve().parents[1]
VOICEJUDGE = str(Path(sys.executable).parent / "voicejudge")
LOWER_PITCH = [Criterion(feature="f0_median_hz", kind="lower", weight=1.0)]


@pytest.fixture(scope="module")
def voices():
    samples = load_sample_set(ROOT / "assets" / "voices")
    return samples, {s.id: extract_features(s.clip()) for s in samples}


def _pairs(features, count: int) -> list[Comparison]:
    return labelled_pairs(features, LOWER_PITCH, count)


def _request() -> ModelRequest:
    return ModelRequest(
        system="s", parts=["Take A:", "Take B:"], response_type=judge_reply_type(["A", "B"])
    )


def test_concurrency_limit_holds_across_threads_and_loops(gemini, monkeypatch) -> None:
    monkeypatch.setenv("VOICEJUDGE_GEMINI_CONCURRENCY", "2")
    reset_backends()
    gemini.delay_s = 0.15
    backend = backend_for("gemini:gemini-test")

    def worker() -> None:
        for _ in range(2):
            run_sync(backend.generate(_request()))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(gemini.requests) == 6
    assert gemini.max_in_flight == 2


def test_dropped_connections_are_retried_then_a_clear_error(monkeypatch, client) -> None:
    accepted = []
    listener = socket.create_server(("127.0.0.1", 0))

    def drop_everything() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            conn.recv(65536)
            conn.close()

    threading.Thread(target=drop_everything, daemon=True).start()
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", f"http://127.0.0.1:{listener.getsockname()[1]}")
    monkeypatch.setenv("GEMINI_API_KEY", "k-test")
    backend = GeminiBackend("gemini-test", attempts=3, initial_delay_s=0.01)
    try:
        with pytest.raises(ModelRequestError, match="could not be reached"):
            asyncio.run(backend.generate(_request()))
    finally:
        listener.close()
    assert len(accepted) >= 3, "each attempt reached the server"


def test_failed_upload_is_a_clear_error(monkeypatch, client, voices) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("GEMINI_API_KEY", "k-test")
    backend = GeminiBackend("gemini-test", attempts=2, initial_delay_s=0.01, inline_limit_bytes=10)
    clip = voices[0].get("voice-001").clip()
    request = ModelRequest(
        system="s", parts=["Take A:", clip], response_type=judge_reply_type(["A"])
    )
    with pytest.raises(ModelRequestError, match="could not be reached"):
        asyncio.run(backend.generate(request))


def test_model_text_is_printed_literally_by_the_cli(tmp_path: Path) -> None:
    fake = FakeGemini(
        default=lambda r: reply({"thinking": "[/] [louder] wins [bold]", "ranking": ["A", "B"]})
    )
    with fake.running():
        env = {
            **os.environ,
            "GOOGLE_GEMINI_BASE_URL": fake.url,
            "GEMINI_API_KEY": "k",
            "COLUMNS": "200",
        }
        files = [str(ROOT / "assets" / "voices" / f"voice-00{i}.flac") for i in (1, 2)]
        result = subprocess.run(
            [VOICEJUDGE, "judge", "--model", "gemini:gemini-test", *files],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr
    assert "[/] [louder] wins [bold]" in result.stdout


def test_unusable_learner_claims_are_repaired_then_an_error(gemini, voices) -> None:
    samples, features = voices
    bad = {"statement": "Likes pitchiness", "feature": "pitchiness", "direction": "lower"}
    gemini.default = lambda r: reply({"reasoning": "r", "strong": [bad], "emerging": []})
    learner = PreferenceLearner(model="gemini:gemini-test", max_audio_pairs=0)
    with pytest.raises(ModelReplyError, match="not usable"):
        learner.update(_pairs(features, 4), samples)
    assert len(gemini.requests) == 2


def test_contradictory_claims_are_merged_against_each_other(voices) -> None:
    _, features = voices
    pairs = _pairs(features, 30)
    lower = PatternClaim(statement="deeper is better", feature="f0_median_hz", direction="lower")
    higher = PatternClaim(statement="higher is better", feature="f0_median_hz", direction="higher")
    patterns = consolidate(
        LearnerReply(reasoning="r", strong=[lower], emerging=[higher]), pairs, features, "gemini:x"
    )
    stated = patterns.strong + patterns.emerging
    assert [p.statement for p in stated] == ["deeper is better"]
    kept = stated[0]
    assert kept.support >= 20, "recounted from the measured pitch, not taken from the model"
    assert kept.against == 0, "the opposite claim had no measured support to add"


def test_rewrite_drops_learned_criteria_no_longer_supported() -> None:
    author = Criterion(feature="syll_rate", kind="lower", weight=0.5)
    learned = Criterion(feature="jitter_st", kind="higher", weight=0.8, source="learned")
    prompt = JudgePrompt(text="judge", criteria=[author, learned])
    rewritten = rewrite_from_patterns(prompt, PreferencePatterns())
    assert rewritten["criteria"] == [author]


def test_bad_settings_are_a_clean_cli_error() -> None:
    env = {**os.environ, "VOICEJUDGE_GEMINI_CONCURRENCY": "0"}
    result = subprocess.run([VOICEJUDGE, "traces"], capture_output=True, text=True, env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "VOICEJUDGE_GEMINI_CONCURRENCY" in result.stderr


def test_text_prompt_reaches_an_llm_judge(tmp_path: Path) -> None:
    fake = FakeGemini(default=lambda r: reply({"thinking": "t", "ranking": ["A", "B"]}))
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Prefer the take that sounds most like a sea captain.")
    with fake.running():
        env = {**os.environ, "GOOGLE_GEMINI_BASE_URL": fake.url, "GEMINI_API_KEY": "k"}
        files = [str(ROOT / "assets" / "voices" / f"voice-00{i}.flac") for i in (1, 2)]
        result = subprocess.run(
            [
                VOICEJUDGE,
                "judge",
                "--json",
                "--model",
                "gemini:gemini-test",
                "--prompt",
                str(prompt),
                *files,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["per_order"]
    systems = [r["systemInstruction"]["parts"][0]["text"] for r in fake.requests]
    assert systems and all("sea captain" in text for text in systems)
