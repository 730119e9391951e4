"""`init_tracking`: backend choice, idempotence, project switching and the safe environment."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import weave
from weave.trace.context.weave_client_context import get_weave_client

from tests.netguard import NetworkAccessError
from voicejudge import (
    ConfigError,
    LocalTraceServer,
    Settings,
    close_tracking,
    init_tracking,
    resolve_backend,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_wandb_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    netrc = tmp_path / "netrc"
    monkeypatch.setenv("NETRC", str(netrc))
    return netrc


def test_auto_is_local_without_a_key(no_wandb_credentials: Path) -> None:
    choice = resolve_backend("auto")
    assert choice.name == "local"
    assert "no W&B API key" in choice.reason


def test_auto_is_hosted_with_a_key(no_wandb_credentials: Path, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    assert resolve_backend("auto").name == "wandb"


def test_auto_reads_the_key_from_netrc(no_wandb_credentials: Path) -> None:
    no_wandb_credentials.write_text("machine api.wandb.ai\n  login user\n  password " + "k" * 40)
    no_wandb_credentials.chmod(0o600)
    assert resolve_backend("auto").name == "wandb"


def test_offline_mode_wins_over_a_key(no_wandb_credentials: Path, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    for mode in ("offline", "disabled"):
        monkeypatch.setenv("WANDB_MODE", mode)
        choice = resolve_backend("auto")
        assert choice.name == "local"
        assert mode in choice.reason


def test_unknown_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'auto', 'local' or 'wandb'"):
        resolve_backend("cloud")


def test_calling_twice_returns_the_same_client(settings: Settings) -> None:
    first = init_tracking(backend="local", settings=settings)
    second = init_tracking(backend="local", settings=settings)
    assert first is second
    assert get_weave_client() is first
    assert isinstance(first.server, LocalTraceServer)
    assert first.server.path == settings.store_path.resolve()
    assert first.project == settings.project
    close_tracking()
    assert get_weave_client() is None


def test_switching_project_keeps_traces_apart(settings: Settings) -> None:
    @weave.op
    def speak(word: str) -> str:
        return word

    first = init_tracking(project="first", backend="local", settings=settings)
    speak("one")
    second = init_tracking(project="second", backend="local", settings=settings)
    speak("two")
    second.flush()
    assert second is not first
    assert get_weave_client() is second
    assert first.server is second.server
    assert [c.inputs["word"] for c in second.get_calls()] == ["two"]
    assert [c.inputs["word"] for c in first.get_calls()] == ["one"]
    close_tracking()


def test_project_comes_from_the_environment(monkeypatch, isolated_home: Path) -> None:
    monkeypatch.setenv("VOICEJUDGE_PROJECT", "from-env")
    client = init_tracking(backend="local")
    assert client.project == "from-env"
    assert client.server.path == (isolated_home / "traces.db").resolve()
    close_tracking()


@pytest.mark.slow
def test_importing_voicejudge_leaves_the_environment_as_it_was(tmp_path: Path) -> None:
    script = (
        "import json, os\n"
        "before = dict(os.environ)\n"
        "import voicejudge, voicejudge.tracking, voicejudge.labels.ranking\n"
        "import voicejudge.app.ranking_page\n"
        "from voicejudge import init_tracking, close_tracking\n"
        "init_tracking(backend='local')\n"
        "close_tracking()\n"
        "after = dict(os.environ)\n"
        "print(json.dumps({k: [before.get(k), after.get(k)] for k in set(before) | set(after)"
        " if before.get(k) != after.get(k)}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "HF_", "GRADIO_"))}
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "VOICEJUDGE_HOME": str(tmp_path / "home")},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout.splitlines()[-1]) == {}


def test_offline_defaults_hold_inside_their_block_and_keep_what_the_user_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from voicejudge.settings import OFFLINE_DEFAULTS, offline_defaults

    for name in OFFLINE_DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WEAVE_USE_SERVER_CACHE", "true")
    with offline_defaults():
        assert os.environ["HF_HUB_OFFLINE"] == "1"
        assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
        assert os.environ["WEAVE_USE_SERVER_CACHE"] == "true", "a value the user set is kept"
    assert "HF_HUB_OFFLINE" not in os.environ and "GRADIO_ANALYTICS_ENABLED" not in os.environ
    assert os.environ["WEAVE_USE_SERVER_CACHE"] == "true"


def test_network_guard_refuses_outside_hosts() -> None:
    with pytest.raises(NetworkAccessError):
        socket.create_connection(("203.0.113.7", 80), timeout=1)
    server = socket.create_server(("127.0.0.1", 0))
    try:
        socket.create_connection(server.getsockname(), timeout=1).close()
    finally:
        server.close()


@pytest.mark.slow
def test_the_public_api_is_complete_and_loads_on_first_use() -> None:
    import subprocess
    import sys

    import voicejudge

    assert set(voicejudge.__all__) == {"__version__", *voicejudge._EXPORTS}
    for name in voicejudge.__all__:
        assert getattr(voicejudge, name) is not None
    cold = "import sys, voicejudge; print('weave' in sys.modules, 'scipy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", cold], capture_output=True, text=True)
    assert result.stdout.split() == ["False", "False"], "importing voicejudge stays cheap"
