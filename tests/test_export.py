"""Exporting judgements: one row per stored ranking, and an export read back with `import
pairs` into a fresh store gives the same comparisons."""

from __future__ import annotations

import json
from pathlib import Path

from voicejudge.labels.export import export_judgements, judgement_rows
from voicejudge.labels.imports import import_listening_test, read_listening_test
from voicejudge.labels.ranking import read_comparisons, read_rankings
from voicejudge.tracking import close_tracking, init_tracking

MUSHRA = Path(__file__).resolve().parents[1] / "tests" / "data" / "codec-mushra"
AUDIO = MUSHRA / "audio"


def test_an_export_imported_as_pairs_into_a_fresh_store_gives_the_same_comparisons(
    client, tmp_path: Path, monkeypatch
) -> None:
    test = read_listening_test("mushra", MUSHRA / "ratings_formated.csv", AUDIO)
    import_listening_test(test, "codec-mushra", client)
    rows = judgement_rows(client, "codec-mushra")
    lines = export_judgements(rows, "jsonl").splitlines()
    assert len(lines) == len(read_rankings(client)) == len(rows)
    first = json.loads(lines[0])
    wanted = {"rater", "call_id", "takes", "ranking", "tie", "note", "played", "elapsed_s"}
    assert wanted <= set(first) and first["source"] == "import:mushra"
    before = sorted((c.rater, c.preferred_id, c.rejected_id) for c in read_comparisons(client))
    exported = tmp_path / "judgements.csv"
    exported.write_text(export_judgements(rows, "csv"), encoding="utf-8")
    close_tracking()

    monkeypatch.setenv("VOICEJUDGE_HOME", str(tmp_path / "fresh"))
    fresh = init_tracking(backend="local")
    assert read_rankings(fresh) == []
    again = read_listening_test("pairs", exported, AUDIO)
    assert again.problems == []
    summary = import_listening_test(again, "codec-mushra", fresh)
    after = sorted((c.rater, c.preferred_id, c.rejected_id) for c in read_comparisons(fresh))
    assert after == before and summary.ties == sum(bool(row["tie"]) for row in rows)
