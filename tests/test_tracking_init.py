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
def test_safe_environment_is_set_before_weave_loads() -> None:
    script = (
        "import json, os, sys\n"
        "import voicejudge\n"
        "names = ['WANDB_ERROR_REPORTING', 'WEAVE_USE_SERVER_CACHE', 'WANDB_DISABLE_WEAVE',"
        " 'GRADIO_ANALYTICS_ENABLED', 'HF_HUB_OFFLINE', 'HF_HUB_DISABLE_TELEMETRY']\n"
        "print(json.dumps({n: os.environ.get(n) for n in names}))\n"
    )
    env = {
        k: v for k, v in os.environ.items() if k not in ("WANDB_DISABLE_WEAVE", "HF_HUB_OFFLINE")
    }
    env["WEAVE_USE_SERVER_CACHE"] = "true"
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(result.stdout)
    assert seen["WANDB_ERROR_REPORTING"] == "false"
    assert seen["WANDB_DISABLE_WEAVE"] == "true"
    assert seen["HF_HUB_OFFLINE"] == "1"
    assert seen["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert seen["WEAVE_USE_SERVER_CACHE"] == "true", "a value the user set is kept"


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
