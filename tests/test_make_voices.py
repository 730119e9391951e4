"""`scripts/make_voices.py`: deterministic synthesis with a manifest of every parameter."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from voicejudge.audio.sample_set import load_sample_set
from voicejudge.audio.synth import VoiceRecipe

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def _make(out: Path, seed: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "scripts/make_voices.py",
            "--count",
            "6",
            "--seed",
            str(seed),
            "--out",
            str(out),
            "--jobs",
            "2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_same_seed_same_files_and_a_complete_manifest(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for folder, seed in ((first, 11), (second, 11), (other, 12)):
        result = _make(folder, seed)
        assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert (first / "voice-000.flac").read_bytes() != (other / "voice-000.flac").read_bytes()

    with (first / "manifest.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6
    assert set(VoiceRecipe.model_fields) - {"id"} <= set(rows[0])
    assert all(row["instructions"] for row in rows)
    assert load_sample_set(first).ids == [f"voice-{i:03d}" for i in range(6)]


def test_a_failed_run_writes_nothing(tmp_path: Path) -> None:
    import os

    out = tmp_path / "voices"
    empty_path = tmp_path / "no-tools"
    empty_path.mkdir()
    result = subprocess.run(
        [sys.executable, "scripts/make_voices.py", "--count", "3", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": str(empty_path)},
    )
    assert result.returncode == 1 and "espeak-ng" in result.stderr
    assert list(out.iterdir()) == []
