"""Aligning a judge to a panel from an imported listening test: held-out units are whole
signals, each rater and the others' consensus are scored, and the human ceiling is printed
beside the judge in the round table, the JSON and the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voicejudge.app.cli import main
from voicejudge.evaluation.panel import panel_agreement
from voicejudge.loop.panel_config import panel_config
from voicejudge.loop.panel_labels import (
    PanelLabels,
    split_panel,
    study_labels,
    units_of,
    within,
)
from voicejudge.loop.state import LoopConfig
from voicejudge.tracking import close_tracking, init_tracking

MUSHRA = Path(__file__).resolve().parents[1] / "tests" / "data" / "codec-mushra"
STUDY = "codec"
RATERS = "1,2,3,4,5"


@pytest.fixture
def imported(settings):
    ratings = MUSHRA / "ratings_formated_filtered.csv"
    assert (
        main(["import", "mushra", str(ratings), "--audio", str(MUSHRA / "audio"), "--set", STUDY])
        == 0
    )
    return init_tracking()


def _signal(take: str) -> str:
    return take.split("/", 1)[0]


def test_a_panel_run_holds_out_whole_signals_and_prints_the_human_ceiling(
    imported, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = study_labels(imported, STUDY).only(RATERS.split(","))
    split = split_panel(labels, 12, seed=0)
    held_signals = {_signal(t) for t in split.heldout}
    trained = frozenset().union(*split.train_units)
    assert held_signals and not held_signals & {_signal(t) for t in trained}
    assert all(len({_signal(t) for t in unit}) == 1 for unit in units_of(labels))

    out = tmp_path / "rounds.json"
    command = ["rounds", "--set", STUDY, "--raters", RATERS, "--pool", "hierarchical"]
    assert main([*command, "--rounds", "1", "--heldout", "12", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "human ceiling" in printed and "others'" in printed
    rows = json.loads(out.read_text())["rounds"]
    assert [r["round"] for r in rows] == [0, 1]
    last = rows[-1]
    judged = {r for r, cs in labels.comparisons.items() if within(cs, split.heldout)}
    assert set(last["by_rater"]) == judged and len(judged) >= 3
    assert last["prior_precision"] is not None
    assert last["agreement"] > rows[0]["agreement"]

    # the ceiling, counted again from the panel statistics of the held-out answers alone
    held = PanelLabels(
        comparisons={},
        codes={
            rater: {
                pair: code
                for pair, code in answers.items()
                if pair[0] in split.heldout and pair[1] in split.heldout
            }
            for rater, answers in labels.codes.items()
        },
    )
    figures = panel_agreement(held.codes).raters
    compared = sum(r.compared for r in figures)
    hits = sum((r.agreement_with_others or 0.0) * r.compared for r in figures)
    assert last["human_ceiling"] == pytest.approx(hits / compared, abs=1e-3)
    assert rows[0]["human_ceiling"] == last["human_ceiling"]

    report = Path(printed.split("report:")[1].split()[0]).read_text()
    assert "Human ceiling" in report and "| 5 |" in report


def test_a_panel_run_replays_with_other_pooling_and_each_rater_gets_a_judge(
    imported, tmp_path: Path
) -> None:
    base = ["rounds", "--set", STUDY, "--raters", RATERS, "--rounds", "1", "--heldout", "12"]
    assert main(base) == 0
    out = tmp_path / "replay.json"
    assert main(["replay", "--from-round", "1", "--pool", "per-rater", "--json", str(out)]) == 0
    table = json.loads(out.read_text())
    assert table["run"].startswith("panel-per-rater-")
    last = table["rounds"][-1]
    assert len(last["by_rater"]) >= 3 and last["prompt_ref"] is None


def test_a_consensus_run_learns_the_majority_and_screened_raters_are_left_out_of_all(
    imported, tmp_path: Path
) -> None:
    from voicejudge.evaluation.screening import screen

    marked = screen(imported, STUDY, "consensus", below=0.8).marked
    close_tracking()
    out = tmp_path / "consensus.json"
    command = ["rounds", "--set", STUDY, "--raters", "consensus", "--rounds", "1"]
    assert main([*command, "--heldout", "12", "--json", str(out)]) == 0
    table = json.loads(out.read_text())
    last = table["rounds"][-1]
    assert list(last["by_rater"]) == ["consensus"]
    assert table["run"].startswith("consensus-") and last["prompt_ref"] is not None
    assert marked, "the consensus rule marks someone on this data"
    config, _ = panel_config(
        init_tracking(), LoopConfig(sample_set=STUDY), study=STUDY, raters="all", rounds=1
    )
    assert config.raters is not None and not set(marked) & set(config.raters)
    assert set(config.raters) | set(marked) == set(study_labels(init_tracking(), STUDY).raters)


def test_a_panel_of_only_screened_raters_is_a_clear_error(
    imported, capsys: pytest.CaptureFixture[str]
) -> None:
    from voicejudge.evaluation.screening import screen

    screen(imported, STUDY, "consensus", below=1.01)  # marks everyone
    close_tracking()
    assert main(["rounds", "--set", STUDY, "--raters", "all"]) == 1
    error = capsys.readouterr().err
    assert "Screening marked every rater" in error and "Traceback" not in error


def test_unknown_raters_and_pooling_without_a_panel_are_clear_errors(
    imported, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rounds", "--set", STUDY, "--raters", "1,nobody"]) == 1
    error = capsys.readouterr().err
    assert "no rater nobody" in error and "Traceback" not in error
    assert main(["rounds", "--set", "x", "--rater", "bright", "--pool", "pooled"]) == 1
    assert "give --raters too" in capsys.readouterr().err


def test_a_study_that_is_one_unit_is_split_by_takes() -> None:
    codes = {"a": {("t1", "t2"): 1, ("t2", "t3"): -1, ("t3", "t4"): 1}, "b": {("t1", "t4"): 0}}
    labels = PanelLabels(comparisons={}, codes=codes)
    split = split_panel(labels, 2, seed=3)
    assert len(split.heldout) == 2
    assert {t for unit in split.train_units for t in unit} == {"t1", "t2", "t3", "t4"} - set(
        split.heldout
    )
