"""Bad input is refused before anything is written: one `error:` line, a non-zero exit, and a
store left exactly as it was."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
VOICEJUDGE = str(Path(sys.executable).parent / "voicejudge")
VOICES = ROOT / "assets" / "voices"
BAD_NAME = b"voice-\xff.flac"


def run(*args: str | bytes, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "100", "VOICEJUDGE_HOME": str(home)}
    return subprocess.run([VOICEJUDGE, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def store_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("bad-input")
    takes = [str(VOICES / "voice-001.flac"), str(VOICES / "voice-002.flac")]
    assert run("judge", *takes, home=home).returncode == 0
    return home


@pytest.fixture(scope="module")
def badly_named_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("badly-named")
    for take in ("voice-001", "voice-002", "voice-003"):
        shutil.copy(VOICES / f"{take}.flac", folder / f"{take}.flac")
    shutil.copy(VOICES / "voice-004.flac", os.fsencode(folder) + b"/" + BAD_NAME)
    return folder


def _state(home: Path) -> tuple[str, list[str]]:
    digest = hashlib.sha256((home / "traces.db").read_bytes()).hexdigest()
    return digest, sorted(p.name for p in home.iterdir())


def _refused(result: subprocess.CompletedProcess, needle: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, result.stderr
    assert needle in " ".join(result.stderr.split()), result.stderr


ROUNDS = ["rounds", "--set", str(VOICES), "--rater", "studio", "--rounds", "2"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([*ROUNDS, "--seed", "-5"], "--seed must be at least 0"),
        ([*ROUNDS, "--judge", "foo"], "Unknown model 'foo'"),
        ([*ROUNDS, "--pairs-per-round", "400"], "make only"),
        ([*ROUNDS, "--judge", "gemini:gemini-2.5-flash"], "GEMINI_API_KEY"),
        (["rank", "--set", str(VOICES), "--port", "70000"], "between 1 and 65535"),
        (["rank", "--set", str(VOICES), "--image", "/etc/passwd"], "not an image"),
        (["judge", str(VOICES / "voice-001.flac"), "/etc/passwd"], "not an audio file"),
    ],
    ids=["negative-seed", "unknown-judge", "too-many-pairs", "no-key", "port", "image", "file"],
)
def test_bad_options_change_nothing(store_home: Path, args: list[str], needle: str) -> None:
    before = _state(store_home)
    env_key = {k: v for k, v in os.environ.items() if k in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    assert not env_key, "the no-key case needs no Gemini key in the environment"
    _refused(run(*args, home=store_home), needle)
    assert _state(store_home) == before


def test_a_set_folder_whose_name_is_not_utf8_is_refused(store_home: Path, tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path) + b"/set-\xff"
    os.mkdir(folder)
    for take in ("voice-001", "voice-002", "voice-003", "voice-004", "voice-005"):
        shutil.copy(VOICES / f"{take}.flac", folder + f"/{take}.flac".encode())
    before = _state(store_home)
    result = run("rounds", "--set", folder, "--rater", "studio", "--heldout", "3", home=store_home)
    _refused(result, "not valid UTF-8")
    assert _state(store_home) == before


@pytest.mark.parametrize("command", ["judge", "rounds", "rank"])
def test_a_file_name_that_is_not_utf8_is_refused(
    store_home: Path, badly_named_set: Path, command: str
) -> None:
    before = _state(store_home)
    if command == "judge":
        args: list[str | bytes] = [
            "judge",
            str(badly_named_set / "voice-001.flac"),
            os.fsencode(badly_named_set) + b"/" + BAD_NAME,
        ]
    elif command == "rounds":
        args = ["rounds", "--set", str(badly_named_set), "--rater", "studio", "--heldout", "3"]
    else:
        args = ["rank", "--set", str(badly_named_set)]
    result = run(*args, home=store_home)
    _refused(result, "not valid UTF-8")
    assert "voice-\\xff.flac" in result.stderr
    assert _state(store_home) == before


def test_bad_settings_are_a_clean_cli_error(
    store_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICEJUDGE_GEMINI_CONCURRENCY", "0")
    before = _state(store_home)
    _refused(run("traces", home=store_home), "VOICEJUDGE_GEMINI_CONCURRENCY")
    assert _state(store_home) == before


@pytest.fixture
def immutable_store(tmp_path: Path):
    home = tmp_path / "home"
    assert run("judge", str(VOICES / "voice-001.flac"), str(VOICES / "voice-002.flac"),
               home=home).returncode == 0  # fmt: skip
    store = home / "traces.db"
    if subprocess.run(["chattr", "+i", str(store)], capture_output=True).returncode:
        pytest.skip("cannot make the store file immutable here")
    yield home
    subprocess.run(["chattr", "-i", str(store)], check=True)


def test_a_read_only_store_is_one_clear_error(immutable_store: Path, tmp_path: Path) -> None:
    before = _state(immutable_store)
    for args in (ROUNDS, ["traces"], ["judge", str(VOICES / "voice-001.flac"),
                                     str(VOICES / "voice-003.flac")]):  # fmt: skip
        _refused(run(*args, home=immutable_store), "Cannot write the trace store")
    doctor = run("doctor", home=immutable_store)
    assert doctor.returncode == 1 and "not writable" in doctor.stdout
    backup = run("backup", str(tmp_path / "copy.db"), home=immutable_store)
    assert backup.returncode == 0, "a backup only reads"
    assert _state(immutable_store) == before
