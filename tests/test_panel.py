"""Agreement between people on real listeners (the shared MUSHRA half): each listener against
the others' consensus, and Krippendorff's α checked against the `krippendorff` package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import krippendorff
import numpy as np
import pytest

from voicejudge.evaluation.panel import (
    judgement_codes,
    krippendorff_alpha_ordinal,
    panel_agreement,
    repeated_answers,
    study_codes,
)
from voicejudge.labels.imports import import_listening_test, read_listening_test
from voicejudge.labels.ranking import read_rankings, submit_ranking

ROOT = Path(__file__).resolve().parents[1]
MUSHRA = ROOT / "tests" / "data" / "codec-mushra"
VOICEJUDGE = str(Path(sys.executable).parent / "voicejudge")


@pytest.fixture
def imported(client):
    test = read_listening_test("mushra", MUSHRA / "ratings_formated.csv", MUSHRA / "audio")
    import_listening_test(test, "codec-mushra", client)
    return client


def _reference_alpha(units: dict[object, dict[str, int]]) -> float:
    raters = sorted({r for unit in units.values() for r in unit})
    data = np.array([[unit.get(r, np.nan) for unit in units.values()] for r in raters])
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal"))


def test_alpha_matches_the_reference_on_a_small_panel_with_ties_and_gaps() -> None:
    units = {
        "p1": {"ann": 1, "bob": 1, "cy": -1},
        "p2": {"ann": 0, "bob": 1},
        "p3": {"ann": -1, "cy": -1, "dee": -1},
        "p4": {"bob": 1},  # one answer: not pairable, left out by both
        "p5": {"ann": 1, "bob": -1, "cy": 0, "dee": 1},
    }
    assert krippendorff_alpha_ordinal(units) == pytest.approx(_reference_alpha(units), abs=1e-6)


def test_on_real_listeners_alpha_matches_the_reference_and_listeners_agree_about_80_percent(
    imported,
) -> None:
    codes = judgement_codes(read_rankings(imported))
    units: dict[object, dict[str, int]] = {}
    for rater, answers in codes.items():
        for pair, code in answers.items():
            units.setdefault(pair, {})[rater] = code
    agreement = panel_agreement(codes)
    assert agreement.alpha == pytest.approx(_reference_alpha(units), abs=1e-6)
    per_rater = [r.agreement_with_others for r in agreement.raters]
    assert len(per_rater) == 21 and None not in per_rater
    assert 0.75 <= float(np.mean(per_rater)) <= 0.85
    assert agreement.pairwise_ci95 is not None
    low, high = agreement.pairwise_ci95
    assert low <= agreement.pairwise_agreement <= high


def test_a_rater_who_always_opposes_the_others_agrees_with_them_never(imported) -> None:
    codes = study_codes(imported, "codec-mushra")
    contrarian = {pair: -code for pair, code in codes["2"].items()}
    agreement = panel_agreement({**codes, "contrarian": contrarian})
    found = {r.rater: r for r in agreement.raters}
    assert found["contrarian"].agreement_with_others is not None
    assert found["contrarian"].agreement_with_others < 0.3 < found["2"].agreement_with_others
    assert study_codes(imported, "another study") == {}


def test_self_consistency_counts_a_raters_repeated_answers_against_their_first(imported) -> None:
    first, second = [r for r in read_rankings(imported) if r.feedback.rater == "2"][:2]

    def answer(recorded, ranking):
        submit_ranking(
            recorded.call_id,
            recorded.feedback.model_copy(update={"ranking": ranking, "tie": False}),
            imported,
        )

    answer(first, first.feedback.ranking[::-1])  # changed their mind
    answer(second, second.feedback.ranking[::-1])
    answer(second, second.feedback.ranking)  # and back to the first answer
    imported.flush()
    assert repeated_answers(imported, "codec-mushra")["2"] == (1, 3)
    found = {
        r.rater: r
        for r in panel_agreement(
            study_codes(imported, "codec-mushra"),
            repeats=repeated_answers(imported, "codec-mushra"),
        ).raters
    }
    assert found["2"].self_consistency == pytest.approx(1 / 3, abs=1e-4)
    assert found["2"].repeats == 3 and found["3"].self_consistency is None


@pytest.mark.slow
def test_the_command_prints_json_and_draws_the_agreement_picture(tmp_path: Path) -> None:
    env = {**os.environ, "VOICEJUDGE_HOME": str(tmp_path / "home")}
    audio = MUSHRA / "audio"
    subprocess.run(
        [
            VOICEJUDGE,
            "import",
            "mushra",
            str(MUSHRA / "ratings_formated.csv"),
            "--audio",
            str(audio),
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    png = tmp_path / "panel.png"
    done = subprocess.run(
        [VOICEJUDGE, "raters", "--json", "--png", str(png)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert {"rater", "judgements", "agreement_with_others"} <= set(figures["raters"][0])
    assert 0.4 < figures["alpha"] < 0.55 and png.read_bytes().startswith(b"\x89PNG")
