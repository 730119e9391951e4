"""`voicejudge rounds`, `replay`, `lineage` and `demo` as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

VOICEJUDGE = str(Path(sys.executable).parent / "voicejudge")
ROOT = Path(__file__).resolve().parents[1]
VOICES = ROOT / "assets" / "voices"


def run(*args: str, home: Path, columns: int = 200) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns), "VOICEJUDGE_HOME": str(home)}
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
    table = json.loads(out.read_text())
    (home / "first-run.txt").write_text(result.stdout, encoding="utf-8")
    return home, table


def test_rounds_names_the_run_it_starts_and_reports_each_round(finished) -> None:
    home, table = finished
    printed = (home / "first-run.txt").read_text(encoding="utf-8")
    assert f"starting run {table['run']}: rounds 0-2" in printed
    for number, row in enumerate(table["rounds"]):
        assert f"round {number}: agreement {row['agreement']:.3f}" in printed


def test_more_rounds_of_a_finished_run_continue_it_and_say_where(finished, tmp_path) -> None:
    home, table = finished
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    again = run(
        "rounds",
        "--set", str(VOICES),
        "--rater", "studio",
        "--rounds", "3",
        "--pairs-per-round", "4",
        "--heldout", "5",
        home=copy,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"continuing run {table['run']} at round 3 (rounds 0-2 done)" in again.stdout
    assert "round 1: already done (4 labels)" in again.stdout


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
    assert (
        f"replaying the rankings of run {table['run']} as run {again['run']}: round 2"
        in replayed.stdout
    )
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
        (["lineage", "garbage"], "weave:///local/voicejudge/object/judge-prompt:DIGEST"),
    ],
)
def test_bad_input_gets_a_clear_error(tmp_path: Path, args: list[str], message: str) -> None:
    result = run(*args, home=tmp_path / "home")
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not list((tmp_path / "home").glob("wandb/wandb/*run-*"))  # no W&B run for a typo


def test_demo_prints_the_table_and_where_everything_is(tmp_path: Path) -> None:
    result = run(
        "demo", "--rounds", "1", "--pairs-per-round", "4", home=tmp_path / "home", columns=80
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    table = lines[lines.index(next(x for x in lines if "Held-out agreement by round" in x)) :]
    table = table[: next(i for i, x in enumerate(table) if x.startswith("The rater's ceiling"))]
    assert table and all(len(line) <= 80 for line in table), "the round table fits 80 columns"
    heading = " ".join(" ".join(table[1:4]).split())
    for word in ("noise-free", "agreement", "kappa", "position", "consistency", "Kendall", "tau"):
        assert word in heading, "the round table spells its headings out"
    for heading in ("Held-out agreement by round", "plot:", "report:", "trace store:", "W&B run:"):
        assert heading in result.stdout
    plot = next(line for line in result.stdout.splitlines() if line.startswith("plot:"))
    assert Path(plot.split(":", 1)[1].strip()).exists()


def test_version_is_printed() -> None:
    from voicejudge import __version__

    result = subprocess.run([VOICEJUDGE, "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"voicejudge {__version__}"


def test_every_option_has_help_and_any_default_it_has_is_said() -> None:
    import argparse

    from voicejudge.app.cli import _parser

    def commands(parser: argparse.ArgumentParser, name: str):
        yield name, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, subparser in action.choices.items():
                    yield from commands(subparser, f"{name} {sub}")

    unhelpful = []
    for name, parser in commands(_parser(), "voicejudge"):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            label = f"{name} {'/'.join(action.option_strings) or action.dest}"
            if not action.help:
                unhelpful.append(f"{label}: no help")
            elif action.default not in (None, False, "", [], argparse.SUPPRESS) and (
                "default" not in action.help
            ):
                unhelpful.append(f"{label}: default {action.default!r} not said")
    assert not unhelpful
