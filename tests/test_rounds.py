"""The pure round logic: `simulate_rounds` (the benchmark's driver) is `run_rounds` without a
store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from voicejudge import BUNDLED_VOICES, LoopConfig, load_sample_set, run_rounds, simulate_rounds
from voicejudge.labels.simulated_raters import random_profile


@pytest.mark.slow
def test_simulated_rounds_score_exactly_what_the_store_backed_rounds_score(client) -> None:
    voices = load_sample_set(BUNDLED_VOICES)
    config = LoopConfig(
        sample_set=str(BUNDLED_VOICES),
        rater=random_profile(3),
        heldout=6,
        pairs_per_round=4,
        strategy="active",
        seed=3,
    )
    stored = run_rounds(config, 2, client=client, samples=voices)
    simulated = simulate_rounds(config, 2, voices)
    assert [(r.round, r.labels, r.agreement, r.agreement_true) for r in stored.rounds] == [
        (r.round, r.labels, r.agreement, r.agreement_true) for r in simulated
    ]
    assert stored.ceiling == round(1 - config.rater.flip_rate, 4)


@pytest.mark.slow
def test_a_non_editable_install_runs_the_demo_from_an_empty_folder(tmp_path: Path) -> None:
    """The wheel carries the brief, the rater profiles and the voices: nothing is read from
    the checkout."""
    root = Path(__file__).resolve().parents[1]
    wheels, target, empty = tmp_path / "wheels", tmp_path / "site", tmp_path / "empty"
    empty.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(root)], check=True)
    wheel = next(wheels.glob("voicejudge-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    code = (
        "import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f)]; "
        "import voicejudge, voicejudge.app.cli as cli; print('from', voicejudge.__file__); "
        "sys.exit(cli.main(['demo', '--rounds', '1', '--pairs-per-round', '2']))"
    )
    env = {**os.environ, "PYTHONPATH": str(target), "VOICEJUDGE_HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=empty,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert f"from {target}" in result.stdout and "Held-out agreement by round" in result.stdout
    assert not any(empty.iterdir())  # nothing written into the working folder
