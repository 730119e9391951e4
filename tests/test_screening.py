"""Screening raters as listening tests do: the hidden-reference rule on the shared MUSHRA
half (before the authors' screening) marks exactly the listeners an independent count gives."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest

from voicejudge.evaluation.panel import panel_agreement, study_codes
from voicejudge.evaluation.screening import ScreeningError, latest_marks, screen
from voicejudge.labels.imports import import_listening_test, read_listening_test
from voicejudge.labels.ranking import read_comparisons

MUSHRA = Path(__file__).resolve().parents[1] / "tests" / "data" / "codec-mushra"
UNSCREENED = MUSHRA / "ratings_formated.csv"


@pytest.fixture
def imported(client):
    test = read_listening_test("mushra", UNSCREENED, MUSHRA / "audio")
    import_listening_test(test, "codec-mushra", client)
    return client


def _reference_counts() -> dict[str, tuple[int, int]]:
    """Listener -> (trials scoring the reference below 90, trials), counted from the file."""
    failed: dict[str, int] = defaultdict(int)
    trials: dict[str, int] = defaultdict(int)
    with UNSCREENED.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["condition"] != "Reference":
                continue
            listeners = json.loads(row["participant_ids"])
            for listener, score in zip(listeners, json.loads(row["ratings"]), strict=True):
                trials[str(listener)] += 1
                failed[str(listener)] += score < 90
    return {listener: (failed[listener], trials[listener]) for listener in trials}


def test_both_hidden_reference_rules_mark_the_listeners_an_independent_count_gives(
    imported,
) -> None:
    counts = _reference_counts()
    by_share = screen(imported, "codec-mushra", "hidden-reference", max_share=0.15)
    assert set(by_share.marked) == {r for r, (f, n) in counts.items() if f > 0.15 * n}
    assert {m.rater: (m.failed, m.total) for m in by_share.marks} == counts
    by_count = screen(imported, "codec-mushra", "hidden-reference", max_trials=1)
    assert set(by_count.marked) == {r for r, (f, _) in counts.items() if f > 1}
    # on this half the two rules disagree: a listener failing one of a few trials
    assert set(by_share.marked) != set(by_count.marked)
    marked = next(m for m in by_share.marks if m.marked)
    assert f"in {marked.failed} of {marked.total} trials" in marked.reason


def test_marked_raters_stay_in_the_store_and_the_latest_run_of_each_rule_names_them(
    imported,
) -> None:
    raters = {c.rater for c in read_comparisons(imported)}
    screening = screen(imported, "codec-mushra", "hidden-reference")
    consensus = screen(imported, "codec-mushra", "consensus", below=0.78)
    assert {c.rater for c in read_comparisons(imported)} == raters, "nothing is deleted"
    marks = latest_marks(imported, "codec-mushra")
    for rater in screening.marked:
        assert "hidden-reference" in marks[rater]
    for rater in consensus.marked:
        assert "consensus" in marks[rater]
    figures = {
        r.rater: r.agreement_with_others
        for r in panel_agreement(study_codes(imported, "codec-mushra")).raters
    }
    assert set(consensus.marked) == {r for r, value in figures.items() if value < 0.78}


def test_a_study_without_scores_or_a_reference_is_a_clear_error(imported) -> None:
    with pytest.raises(ScreeningError, match="no imported scores"):
        screen(imported, "another study", "hidden-reference")
    with pytest.raises(ScreeningError, match="no comparisons to screen"):
        screen(imported, "another study", "consensus")
    with pytest.raises(ScreeningError, match="No condition is named 'Hidden ref'"):
        screen(imported, "codec-mushra", "hidden-reference", reference="Hidden ref")
