"""Shared fixtures: no network, an isolated home folder, and a weave client on a fresh store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import netguard

netguard.install()
os.environ["WANDB_MODE"] = "offline"
os.environ["WANDB_ERROR_REPORTING"] = "false"  # weave reads it on import; the CLI sets it itself
os.environ.pop("WANDB_API_KEY", None)

from voicejudge import Settings, close_tracking, init_tracking  # noqa: E402

GEMINI_TEST_KEY = "test-key-never-in-a-trace-4f9c"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("VOICEJUDGE_HOME", str(home))
    return home


@pytest.fixture
def settings(isolated_home: Path) -> Settings:
    return Settings(home=isolated_home)


@pytest.fixture
def client(settings: Settings) -> Iterator:
    weave_client = init_tracking(project="contract", backend="local", settings=settings)
    yield weave_client
    close_tracking()


@pytest.fixture
def gemini(monkeypatch: pytest.MonkeyPatch, client: Iterator) -> Iterator:
    """A loopback fake of the Gemini API that the real google-genai client is pointed at."""
    from tests.fake_gemini import FakeGemini
    from voicejudge.models import reset_backends

    fake = FakeGemini()
    with fake.running():
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", fake.url)
        monkeypatch.setenv("GEMINI_API_KEY", GEMINI_TEST_KEY)
        monkeypatch.setenv("VOICEJUDGE_GEMINI_RETRY_DELAY_S", "0.01")
        monkeypatch.setenv("VOICEJUDGE_GEMINI_CACHE", "false")
        reset_backends()
        yield fake
        reset_backends()
