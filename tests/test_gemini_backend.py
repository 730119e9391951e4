"""The Gemini backend through the real google-genai client against a loopback fake server."""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
from pathlib import Path

import pytest

from tests.conftest import GEMINI_TEST_KEY as KEY
from tests.fake_gemini import blocked, error, first_take_wins, labels_in, reply
from voicejudge.audio.sample_set import load_sample_set
from voicejudge.judging.judge import SpeechJudge, judge_reply_type
from voicejudge.models import (
    MissingKeyError,
    ModelReplyError,
    ModelRequest,
    ModelRequestError,
    backend_for,
    reset_backends,
)
from voicejudge.models.gemini import GeminiBackend
from voicejudge.models.running import run_sync
from voicejudge.prompting.judge_prompt import seed_prompt

MODEL = "gemini:gemini-test"


@pytest.fixture(scope="module")
def voices():
    return load_sample_set(Path(__file__).resolve().parents[1] / "assets" / "voices")


def _request(labels=("A", "B")) -> ModelRequest:
    labels = list(labels)
    return ModelRequest(
        system="Judge these takes.",
        parts=[text for label in labels for text in (f"Take {label}:", f"(audio of {label})")],
        response_type=judge_reply_type(labels),
        temperature=0.0,
        check=lambda r: (
            None
            if sorted(x.value for x in r.ranking) == sorted(labels)
            else (_ for _ in ()).throw(ValueError("the ranking must list each label exactly once"))
        ),
    )


def _generate(request: ModelRequest):
    return asyncio.run(backend_for(MODEL).generate(request))


def _presented(request: dict, verdict) -> list[str]:
    """The sample ids a request presented, recovered from its audio."""
    parts = request["contents"][0]["parts"]
    audio = [_inline(p)["data"] for p in parts if _inline(p)]
    orders = [a.presented for a in verdict.per_order]
    return next(o for o in orders if len(o) == len(audio) and _same_audio(o, audio))


def _same_audio(order: list[str], audio: list[str]) -> bool:
    voices_dir = Path(__file__).resolve().parents[1] / "assets" / "voices"
    from voicejudge.audio import load_audio

    for sample_id, data in zip(order, audio, strict=True):
        wav = load_audio(voices_dir / f"{sample_id}.flac").to_wav_bytes()
        if base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)) != wav:
            return False
    return True


def _inline(part: dict) -> dict | None:
    return part.get("inlineData") or part.get("inline_data")


def test_judge_request_carries_labelled_audio_schema_and_temperature(gemini, voices) -> None:
    takes = [voices.get(f"voice-00{i}") for i in range(3)]
    judge = SpeechJudge(prompt=seed_prompt(), model=MODEL, temperature=0.0)
    verdict = judge.rank(takes)

    assert gemini.paths == ["/v1/models/gemini-test:generateContent"] * 2
    first = verdict.per_order[0].presented
    body = next(r for r in gemini.requests if _presented(r, verdict) == first)
    config = body["generationConfig"]
    assert config["temperature"] == 0
    assert config["responseMimeType"] == "application/json"
    assert config["responseSchema"]["properties"]["ranking"]["items"]["enum"] == ["A", "B", "C"]
    assert "late 50s" in body["systemInstruction"]["parts"][0]["text"]
    assert "the better take first" not in body["systemInstruction"]["parts"][0]["text"]
    parts = body["contents"][0]["parts"]
    audio_at = [i for i, p in enumerate(parts) if _inline(p)]
    assert len(audio_at) == 3
    answer = verdict.per_order[0]
    for label, index in zip("ABC", audio_at, strict=True):
        assert parts[index - 1]["text"] == f"Take {label}:"
        inline = _inline(parts[index])
        assert inline.get("mimeType", inline.get("mime_type")) == "audio/wav"
        clip = voices.get(answer.labels[label]).clip()
        data = inline["data"]
        assert base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)) == clip.to_wav_bytes()
    assert any("measured" in p.get("text", "") for p in parts), "meta-info is on for Gemini"
    assert answer.ranking == answer.presented, "first_take_wins ranks in presented order"
    assert gemini.api_keys == {KEY}


def test_listwise_answers_map_back_to_sample_ids(gemini, voices) -> None:
    gemini.default = lambda req: reply({"thinking": "t", "ranking": labels_in(req)[::-1]})
    takes = [voices.get(f"voice-01{i}") for i in range(4)]
    verdict = SpeechJudge(prompt=seed_prompt(), model=MODEL).rank(takes, orders=2)
    for answer in verdict.per_order:
        assert answer.ranking == answer.presented[::-1]
        assert [answer.labels[label] for label in "ABCD"] == answer.presented
    assert verdict.per_order[1].presented == verdict.per_order[0].presented[::-1]
    assert verdict.winner is None, "a judge that favours a position never wins both orders"


def test_position_bias_is_caught(gemini, voices) -> None:
    gemini.default = first_take_wins
    verdict = SpeechJudge(prompt=seed_prompt(), model=MODEL).compare(
        voices.get("voice-001"), voices.get("voice-002")
    )
    assert verdict.winner is None
    assert verdict.position_consistency == 0.0
    system = gemini.requests[0]["systemInstruction"]["parts"][0]["text"]
    assert "the better take first" in system, "pairwise requests use the A/B verdict prompt"
    assert {a.ranking[0] for a in verdict.per_order} == {"voice-001", "voice-002"}


def test_rate_limit_then_server_error_then_success(gemini) -> None:
    gemini.script = [lambda r: error(429, "slow down"), lambda r: error(500, "oops")]
    gemini.default = lambda r: reply({"thinking": "ok", "ranking": ["B", "A"]})
    result = _generate(_request())
    assert [x.value for x in result.ranking] == ["B", "A"]
    assert len(gemini.requests) == 3


def test_bad_request_fails_at_once_with_a_clear_message(gemini) -> None:
    gemini.default = lambda r: error(400, "Invalid JSON payload")
    with pytest.raises(ModelRequestError, match="HTTP 400: Invalid JSON payload"):
        _generate(_request())
    assert len(gemini.requests) == 1


def test_malformed_json_is_repaired_once(gemini) -> None:
    gemini.script = [lambda r: reply("{'ranking': [A, B")]
    gemini.default = lambda r: reply({"thinking": "fixed", "ranking": ["A", "B"]})
    assert _generate(_request()).thinking == "fixed"
    repair = gemini.requests[1]["contents"]
    assert repair[1]["role"] == "model" and "{'ranking'" in repair[1]["parts"][0]["text"]
    assert "not valid" in repair[2]["parts"][0]["text"]


def test_malformed_json_twice_is_a_model_reply_error(gemini) -> None:
    gemini.default = lambda r: reply("```json\nnot json\n```")
    with pytest.raises(ModelReplyError, match="invalid reply twice"):
        _generate(_request())
    assert len(gemini.requests) == 2


def test_blocked_reply_is_a_clear_error(gemini) -> None:
    gemini.default = lambda r: blocked("SAFETY")
    with pytest.raises(ModelReplyError, match=r"blocked the request \(SAFETY\)"):
        _generate(_request())
    assert len(gemini.requests) == 1


def test_non_permutation_ranking_is_repaired_then_an_error(gemini, voices) -> None:
    gemini.default = lambda r: reply({"thinking": "x", "ranking": ["A", "A"]})
    with pytest.raises(ModelReplyError, match="exactly once"):
        _generate(_request())
    assert len(gemini.requests) == 2, "one repair, then the error"
    gemini.requests.clear()
    gemini.script = [lambda r: reply({"thinking": "x", "ranking": ["B", "B"]})]
    gemini.default = first_take_wins
    judge = SpeechJudge(prompt=seed_prompt(), model=MODEL)
    fixed = judge.compare(voices.get("voice-001"), voices.get("voice-002"))
    assert len(gemini.requests) == 3, "two orders, one of them repaired"
    assert all(sorted(a.ranking) == ["voice-001", "voice-002"] for a in fixed.per_order)


def test_every_call_is_traced_without_the_key(gemini, client) -> None:
    gemini.default = lambda r: reply({"thinking": "ok", "ranking": ["A", "B"]})
    _generate(_request())
    failures = [
        (lambda r: error(400, "nope"), ModelRequestError, "HTTP 400"),
        (lambda r: blocked("SAFETY"), ModelReplyError, "blocked"),
        (lambda r: reply("not json"), ModelReplyError, "invalid reply twice"),
        (lambda r: reply({"thinking": "x", "ranking": ["A"]}), ModelReplyError, "exactly once"),
    ]
    for responder, kind, _ in failures:
        gemini.default = responder
        with pytest.raises(kind):
            _generate(_request())
    client.flush()
    calls = [c for c in client.get_calls() if "gemini.generate" in c.op_name]
    assert [c.summary["weave"]["status"] for c in calls] == ["success"] + ["error"] * 4
    for call, (_, _, needle) in zip(calls[1:], failures, strict=True):
        assert needle in call.exception
    assert calls[0].inputs["temperature"] == 0.0 and calls[0].inputs["model"] == MODEL
    store = Path(client.server.path)
    for path in store.parent.glob("traces.db*"):
        assert KEY.encode() not in path.read_bytes()


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    reset_backends()
    with pytest.raises(MissingKeyError, match="GEMINI_API_KEY"):
        backend_for("gemini:gemini-2.5-flash")


def test_identical_requests_are_served_from_the_cache(gemini, monkeypatch) -> None:
    monkeypatch.setenv("VOICEJUDGE_GEMINI_CACHE", "true")
    reset_backends()
    gemini.default = lambda r: reply({"thinking": "once", "ranking": ["A", "B"]})
    first = _generate(_request())
    second = _generate(_request())
    assert first.model_dump() == second.model_dump() and len(gemini.requests) == 1


def test_audio_above_the_inline_limit_goes_through_the_files_api(gemini, voices) -> None:
    from voicejudge.models.gemini import GeminiBackend

    backend = GeminiBackend("gemini-test", inline_limit_bytes=1000, initial_delay_s=0.01)
    clip = voices.get("voice-001").clip()
    request = ModelRequest(
        system="s",
        parts=["Take A:", clip, "Take B:", clip],
        response_type=judge_reply_type(["A", "B"]),
    )
    gemini.default = lambda r: reply({"thinking": "t", "ranking": ["A", "B"]})
    asyncio.run(backend.generate(request))
    assert gemini.uploads == [clip.to_wav_bytes()], "uploaded once, byte-exact"
    parts = gemini.requests[0]["contents"][0]["parts"]
    files = [p.get("fileData") or p.get("file_data") for p in parts]
    files = [f for f in files if f]
    assert len(files) == 2
    assert all(f.get("mimeType", f.get("mime_type")) == "audio/wav" for f in files)


def test_unreachable_service_is_retried_then_a_clear_error(monkeypatch, client) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    monkeypatch.setenv("VOICEJUDGE_GEMINI_RETRY_DELAY_S", "0.01")
    reset_backends()
    with pytest.raises(ModelRequestError, match="could not be reached"):
        _generate(_request())
    reset_backends()


def test_a_reply_cached_from_one_endpoint_is_not_served_for_another(gemini, monkeypatch) -> None:
    monkeypatch.setenv("VOICEJUDGE_GEMINI_CACHE", "true")
    gemini.default = lambda r: reply({"thinking": "t", "ranking": ["A", "B"]})
    for url in (gemini.url, gemini.url.replace("127.0.0.1", "localhost")):
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", url)
        reset_backends()
        _generate(_request())
    assert len(gemini.requests) == 2, "the second endpoint was asked, not the first's cache"
    _generate(_request())
    assert len(gemini.requests) == 2, "the same endpoint again is served from the cache"


def test_a_bug_in_a_request_is_raised_as_it_is_and_never_retried(gemini, monkeypatch) -> None:
    from google.genai import models

    attempts = []

    async def broken(self, **kwargs):
        attempts.append(kwargs)
        raise TypeError("an argument the client cannot take")

    monkeypatch.setattr(models.AsyncModels, "generate_content", broken)
    with pytest.raises(TypeError, match="cannot take"):
        _generate(_request())
    assert len(attempts) == 1


def test_a_connection_dropped_mid_reply_is_retried(gemini, monkeypatch) -> None:
    import httpx
    from google.genai import models

    real = models.AsyncModels.generate_content
    drops = []

    async def drops_once(self, **kwargs):
        if not drops:
            drops.append(kwargs)
            raise httpx.RemoteProtocolError("peer closed connection without a full reply")
        return await real(self, **kwargs)

    monkeypatch.setattr(models.AsyncModels, "generate_content", drops_once)
    gemini.default = lambda r: reply({"thinking": "t", "ranking": ["B", "A"]})
    answer = _generate(_request())
    assert [x.value for x in answer.ranking] == ["B", "A"] and len(gemini.requests) == 1


def test_concurrency_limit_holds_across_threads_and_loops(gemini, monkeypatch) -> None:
    monkeypatch.setenv("VOICEJUDGE_GEMINI_CONCURRENCY", "2")
    reset_backends()
    gemini.delay_s = 0.15
    backend = backend_for(MODEL)

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
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
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
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    backend = GeminiBackend("gemini-test", attempts=2, initial_delay_s=0.01, inline_limit_bytes=10)
    request = ModelRequest(
        system="s",
        parts=["Take A:", voices.get("voice-001").clip()],
        response_type=judge_reply_type(["A"]),
    )
    with pytest.raises(ModelRequestError, match="could not be reached"):
        asyncio.run(backend.generate(request))
