"""`voicejudge rounds`, `replay`, `lineage` and `demo` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

VOICEJUDGE = str(Path(sys.executable).parent / "voicejudge")
ROOT = Path(__file__).resolve().parents[1]
VOICES = ROOT / "assets" / "voices"


def run(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "VOICEJUDGE_HOME": str(home)}
    return subprocess.run(
        [VOICEJUDGE, *args], capture_output=True, text=True, env=env, timeout=300, cwd=ROOT
    )


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    home = tmp_path_factory.mktemp("cli-home")
    out = home / "rounds.json"
    result = run(
        "rounds",
        "--set", str(VOICES),
        "--rater", "studio",
        "--rounds", "2",
        "--pairs-per-round", "4",
        "--heldout", "5",
        "--strategy", "active",
        "--json", str(out),
        home=home,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Held-out agreement by round" in result.stdout and "W&B run:" in result.stdout
    return home, json.loads(out.read_text())


def test_rounds_writes_the_round_table(finished) -> None:
    home, table = finished
    assert [r["round"] for r in table["rounds"]] == [0, 1, 2]
    assert [r["labels"] for r in table["rounds"]] == [0, 4, 8]
    for row in table["rounds"]:
        assert set(row) >= {
            "agreement", "agreement_true", "kappa", "ci95", "position_consistency", "prompt_ref"
        }  # fmt: skip
        assert row["agreement_true"] is not None and len(row["ci95"]) == 2
        assert row["prompt_ref"].startswith("weave:///")
    assert table["store"] == str(home / "traces.db")
    assert Path(table["wandb_run"]).is_dir()


def test_lineage_prints_the_comparisons_behind_the_final_prompt(finished) -> None:
    home, table = finished
    final = table["rounds"][-1]["prompt_ref"]
    shown = run("lineage", final, home=home)
    assert shown.returncode == 0, shown.stderr
    assert "rater studio" in shown.stdout and shown.stdout.count("call ") >= 8
    tree = json.loads(run("lineage", "--json", final, home=home).stdout)
    assert tree["kind"] == "prompt" and tree["ref"] == final
    narrow = subprocess.run(  # an 80-column terminal wraps lines but keeps call ids whole
        [VOICEJUDGE, "lineage", final],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "VOICEJUDGE_HOME": str(home), "COLUMNS": "80"},
    ).stdout
    calls = {node["details"]["call_id"] for node in _walk(tree) if node["kind"] == "comparison"}
    assert len(calls) == 8 and all(call_id in narrow for call_id in calls)
    elsewhere = subprocess.run(  # the ref names its project, whatever the default
        [VOICEJUDGE, "lineage", final],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "VOICEJUDGE_HOME": str(home), "VOICEJUDGE_PROJECT": "other"},
    )
    assert elsewhere.returncode == 0 and "rater studio" in elsewhere.stdout


def _walk(node: dict):
    yield node
    for child in node["children"]:
        yield from _walk(child)


def test_replay_with_the_same_models_reproduces_the_prompt_versions(finished) -> None:
    home, table = finished
    out = home / "replay.json"
    replayed = run("replay", "--from-round", "2", "--json", str(out), home=home)
    assert replayed.returncode == 0, replayed.stderr
    again = json.loads(out.read_text())
    assert "replay" in again["run"] and [r["round"] for r in again["rounds"]] == [2]
    assert again["rounds"][0]["prompt_ref"] == table["rounds"][2]["prompt_ref"]
    assert again["rounds"][0]["agreement"] == table["rounds"][2]["agreement"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rounds", "--set", str(VOICES), "--rater", "nobody"], "No rater profile"),
        (
            ["rounds", "--set", str(VOICES), "--rater", "gravel", "--pairs-per-round", "0"],
            "at least 1",
        ),
        (
            ["rounds", "--set", str(VOICES), "--rater", "gravel", "--heldout", "39"],
            "lower --heldout",
        ),
        (["rounds", "--set", "/nonexistent", "--rater", "gravel"], "/nonexistent"),
        (["replay", "--from-round", "1"], "No finished alignment run"),
        (["lineage", "weave:///local/voicejudge/object/judge-prompt:nothing"], "No object"),
    ],
)
def test_bad_input_gets_a_clear_error(tmp_path: Path, args: list[str], message: str) -> None:
    result = run(*args, home=tmp_path / "home")
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not list((tmp_path / "home").glob("wandb/wandb/*run-*"))  # no W&B run for a typo


def test_demo_prints_the_table_and_where_everything_is(tmp_path: Path) -> None:
    result = run("demo", "--rounds", "1", "--pairs-per-round", "4", home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    for heading in ("Held-out agreement by round", "plot:", "report:", "trace store:", "W&B run:"):
        assert heading in result.stdout
    plot = next(line for line in result.stdout.splitlines() if line.startswith("plot:"))
    assert Path(plot.split(":", 1)[1].strip()).exists()
