"""The hosted path: `init_tracking` hands over to `weave.init`, here against a loopback fake."""

from __future__ import annotations

from pathlib import Path

import pytest
import weave

from tests.fake_hosted_weave import FakeHostedWeave
from voicejudge import LocalTraceServer, Settings, close_tracking, init_tracking

pytestmark = pytest.mark.slow


@pytest.fixture
def hosted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    fake = FakeHostedWeave(tmp_path / "hosted.db", entity="ann")
    with fake.running():
        monkeypatch.delenv("WANDB_MODE", raising=False)
        monkeypatch.delenv("WF_TRACE_SERVER_URL", raising=False)
        monkeypatch.setenv("WANDB_BASE_URL", fake.url)
        monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
        monkeypatch.setenv("WANDB_ENTITY", "ann")
        monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
        yield fake
        close_tracking()


def test_auto_with_a_key_traces_to_hosted_weave(
    hosted: FakeHostedWeave, settings: Settings
) -> None:
    local = init_tracking(project="voices", backend="local", settings=settings)
    client = init_tracking(project="voices", backend="auto", settings=settings)
    assert client is not local
    assert not isinstance(client.server, LocalTraceServer)
    assert (client.entity, client.project) == ("ann", "voices")

    @weave.op
    def rank_audio(first: str, second: str) -> list[str]:
        return [second, first]

    _, call = rank_audio.call("take-1", "take-2")
    call.feedback.add("voicejudge.ranking", {"ranking": ["take-2", "take-1"], "rater": "ann"})
    prompt_ref = weave.publish(weave.StringPrompt("Which is wilder? {voices}"), name="judge")
    client.flush()

    stored = list(hosted.store.calls_query_stream({"project_id": "ann/voices"}))
    assert [c.inputs for c in stored] == [{"first": "take-1", "second": "take-2"}]
    assert stored[0].output == ["take-2", "take-1"]
    feedback = hosted.store.feedback_query({"project_id": "ann/voices"}).result
    assert [f["payload"]["rater"] for f in feedback] == ["ann"]
    assert client.get(prompt_ref).format(voices="a, b") == "Which is wilder? a, b"
    assert [c.id for c in client.get_calls()] == [call.id]
    assert any(a for a in hosted.authorizations), "requests carry the API key"

    local_calls = list(local.server.calls_query_stream({"project_id": "local/voices"}))
    assert local_calls == []


def test_explicit_wandb_backend_and_back_to_local(
    hosted: FakeHostedWeave, settings: Settings
) -> None:
    hosted_client = init_tracking(project="voices", backend="wandb", settings=settings)
    assert not isinstance(hosted_client.server, LocalTraceServer)
    local = init_tracking(project="voices", backend="local", settings=settings)
    assert isinstance(local.server, LocalTraceServer)
    assert local is not hosted_client
