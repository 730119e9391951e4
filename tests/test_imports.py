"""Importing listening tests: the shared MUSHRA half (real listeners) and stated pairs become
feedback on traced `rank_audio` calls, checked whole before anything is stored."""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from voicejudge.labels.imports import (
    ImportRefused,
    import_listening_test,
    read_listening_test,
)
from voicejudge.labels.ranking import asked_comparisons, read_comparisons, read_rankings

ROOT = Path(__file__).resolve().parents[1]
MUSHRA = ROOT / "tests" / "data" / "codec-mushra"
UNSCREENED = MUSHRA / "ratings_formated.csv"
AUDIO = MUSHRA / "audio"
VOICEJUDGE = str(Path(sys.executable).parent / "voicejudge")


def _expected(path: Path) -> tuple[set[str], int, int]:
    """An independent count from the file: listeners, within-signal strict preferences, ties."""
    scores: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if not row["file"]:
                continue
            listeners = json.loads(row["participant_ids"])
            for listener, value in zip(listeners, json.loads(row["ratings"]), strict=True):
                scores[str(listener), row["signal"]][row["file"]] = value
    preferences = ties = 0
    for trial in scores.values():
        for a, b in itertools.combinations(trial.values(), 2):
            ties += a == b
            preferences += a != b
    return {listener for listener, _ in scores}, preferences, ties


def test_the_mushra_half_becomes_one_rater_per_listener_and_the_pairs_its_scores_imply(
    client,
) -> None:
    listeners, preferences, ties = _expected(UNSCREENED)
    test = read_listening_test("mushra", UNSCREENED, AUDIO)
    summary = import_listening_test(test, "codec-mushra", client)
    comparisons = read_comparisons(client)
    assert {c.rater for c in comparisons} == listeners and len(listeners) == 21
    assert len(comparisons) == preferences and summary.ties == ties
    assert {r.feedback.source for r in read_rankings(client)} == {"import:mushra"}
    # the anchors have no published audio: their rows are left out and named, not refused
    assert summary.rows_without_audio == [10, 19, 28, 37, 46, 55, 64, 73]
    # within a signal only: no comparison pairs takes of two signals
    assert all(c.preferred_id.split("/")[0] == c.rejected_id.split("/")[0] for c in comparisons)
    asked = asked_comparisons(client)
    assert {request.study for _, request in asked} == {"codec-mushra"}


def test_importing_the_same_file_again_stores_nothing(client) -> None:
    test = read_listening_test("mushra", UNSCREENED, AUDIO)
    first = import_listening_test(test, "codec-mushra", client)
    calls, answers = len(asked_comparisons(client)), len(read_rankings(client))
    again = import_listening_test(test, "codec-mushra", client)
    assert first.stored == answers and again.stored == 0 and again.calls_asked == 0
    assert (len(asked_comparisons(client)), len(read_rankings(client))) == (calls, answers)


def _long_file(folder: Path, rows: list[str]) -> Path:
    path = folder / "scores.csv"
    path.write_text("listener,signal,condition,score,file\n" + "\n".join(rows) + "\n")
    return path


GOOD_ROWS = [
    "ann,VCTK_p229_293,Reference,100,stim_01/ref.flac",
    "ann,VCTK_p229_293,Lyra 3,40,stim_01/lyra_32.flac",
    "bob,VCTK_p229_293,Reference,90,stim_01/ref.flac",
    "bob,VCTK_p229_293,Lyra 3,90,stim_01/lyra_32.flac",
]


def test_the_command_offers_every_import_format_and_screening_rule() -> None:
    from voicejudge.app.cli import _parser
    from voicejudge.evaluation.screening import RULES
    from voicejudge.labels.imports import FORMATS

    commands = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    offered = {
        name: next(
            a.choices for a in commands.choices[name]._actions if a.dest in ("format", "rule")
        )
        for name in ("import", "screen")
    }
    assert tuple(offered["import"]) == FORMATS and tuple(offered["screen"]) == RULES


def test_bad_rows_are_named_by_line_and_nothing_is_stored_unless_skipped(
    client, tmp_path: Path
) -> None:
    path = _long_file(
        tmp_path,
        [
            *GOOD_ROWS,
            "cy,VCTK_p229_293,Reference,95,stim_01/not-there.flac",  # line 6: missing audio
            "ann,VCTK_p229_293,Lyra 3,45,stim_01/lyra_32.flac",  # line 7: a duplicate
            "dee,VCTK_p229_293,Lyra 3,loud,stim_01/lyra_32.flac",  # line 8: malformed score
        ],
    )
    test = read_listening_test("mushra", path, AUDIO)
    with pytest.raises(ImportRefused) as refused:
        import_listening_test(test, "tiny", client)
    message = str(refused.value)
    assert "line 6: audio 'stim_01/not-there.flac'" in message
    assert "line 7: listener ann scored 'Lyra 3'" in message and "(line 3)" in message
    assert "line 8: score 'loud'" in message and "--skip-bad" in message
    assert asked_comparisons(client) == [] and read_rankings(client) == []

    summary = import_listening_test(test, "tiny", client, skip_bad=True)
    assert summary.rows_left_out == [6, 7, 8]
    assert [(c.rater, c.preferred_id) for c in read_comparisons(client)] == [
        ("ann", "stim_01/ref.flac")
    ]
    assert summary.ties == 1, "bob scored both 90: a tie, kept as a tie"


def test_stated_pairs_are_imported_with_their_ties(client, tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text(
        "listener,preferred,rejected,tie\n"
        "ann,stim_01/ref.flac,stim_01/lyra_32.flac,\n"
        "bob,stim_01/lyra_32.flac,stim_01/ref.flac,false\n"
        "cy,stim_01/ref.flac,stim_01/lyra_32.flac,true\n"
    )
    summary = import_listening_test(read_listening_test("pairs", path, AUDIO), "pairs", client)
    found = sorted((c.rater, c.preferred_id) for c in read_comparisons(client))
    assert found == [("ann", "stim_01/ref.flac"), ("bob", "stim_01/lyra_32.flac")]
    assert summary.ties == 1 and summary.calls_asked == 1, "one comparison, three answers"


@pytest.mark.slow
def test_the_command_reports_bad_rows_without_a_traceback(tmp_path: Path) -> None:
    path = _long_file(tmp_path, [*GOOD_ROWS, "dee,VCTK_p229_293,Lyra 3,101,stim_01/lyra_32.flac"])
    env = {**os.environ, "VOICEJUDGE_HOME": str(tmp_path / "home")}
    command = [VOICEJUDGE, "import", "mushra", str(path), "--audio", str(AUDIO)]
    refused = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "line 6: score '101' is not a number from 0 to 100" in refused.stderr
    done = subprocess.run(
        [*command, "--skip-bad", "--json"], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["raters"] == 2 and summary["rows_left_out"] == [6] and summary["stored"] == 2


def test_mos_ratings_are_compared_only_within_each_listeners_own_ratings(
    client, tmp_path: Path
) -> None:
    path = tmp_path / "mos.csv"
    path.write_text(
        "listener,file,score\n"
        "ann,stim_01/ref.flac,5\n"
        "ann,stim_01/lyra_32.flac,2\n"
        "ann,stim_03/ref.flac,5\n"  # a tie with ann's other 5
        "bob,stim_01/lyra_32.flac,4\n"  # bob's 4 is never compared with ann's 5
        "bob,stim_01/ref.flac,3\n"
    )
    test = read_listening_test("mos", path, AUDIO, scale=(1, 5))
    summary = import_listening_test(test, "acr", client)
    found = sorted((c.rater, c.preferred_id, c.rejected_id) for c in read_comparisons(client))
    assert found == [
        ("ann", "stim_01/ref.flac", "stim_01/lyra_32.flac"),
        ("ann", "stim_03/ref.flac", "stim_01/lyra_32.flac"),
        ("bob", "stim_01/lyra_32.flac", "stim_01/ref.flac"),
    ]
    assert summary.ties == 1 and summary.raters == 2


def test_mos_ratings_off_the_scale_or_repeated_are_named_by_line(tmp_path: Path) -> None:
    path = tmp_path / "mos.csv"
    path.write_text(
        "listener,file,score\n"
        "ann,stim_01/ref.flac,5\n"
        "ann,stim_01/lyra_32.flac,7\n"
        "ann,stim_01/ref.flac,4\n"
    )
    test = read_listening_test("mos", path, AUDIO, scale=(1, 5))
    assert [(p.line, p.problem) for p in test.problems] == [
        (3, "score '7' is not a number from 1 to 5"),
        (4, "listener ann scored 'stim_01/ref.flac' already (line 2)"),
    ]
