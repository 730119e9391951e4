"""Every stored judgement as rows a study can take elsewhere: CSV or JSON lines, one row per
ranking, with `preferred` and `rejected` for a two-take ranking (so `import pairs` reads it)."""

from __future__ import annotations

import csv
import io
import json
from typing import Literal

from weave.trace.weave_client import WeaveClient

from voicejudge.labels.ranking import asked_comparisons, read_rankings

ExportFormat = Literal["csv", "jsonl"]
EXPORT_COLUMNS = (
    "rater",
    "call_id",
    "study",
    "run",
    "takes",
    "ranking",
    "preferred",
    "rejected",
    "tie",
    "note",
    "played",
    "elapsed_s",
    "source",
    "ranked_at",
)


def judgement_rows(client: WeaveClient, study: str | None = None) -> list[dict[str, object]]:
    """One row per stored ranking (of one study, if given), oldest first."""
    asked = dict(asked_comparisons(client))
    rows: list[dict[str, object]] = []
    for recorded in read_rankings(client):
        request = asked.get(recorded.call_id)
        if study is not None and (request is None or request.study != study):
            continue
        feedback = recorded.feedback
        pair = len(feedback.ranking) == 2
        rows.append(
            {
                "rater": feedback.rater,
                "call_id": recorded.call_id,
                "study": request.study if request else None,
                "run": request.run if request else None,
                "takes": request.sample_ids if request else sorted(feedback.ranking),
                "ranking": feedback.ranking,
                "preferred": feedback.ranking[0] if pair else None,
                "rejected": feedback.ranking[1] if pair else None,
                "tie": feedback.tie,
                "note": feedback.note,
                "played": feedback.played,
                "elapsed_s": feedback.elapsed_s,
                "source": feedback.source,
                "ranked_at": feedback.ranked_at.isoformat(),
            }
        )
    return rows


def export_judgements(rows: list[dict[str, object]], format: ExportFormat) -> str:
    """The rows as CSV (lists space-separated, empty for none) or as JSON lines."""
    if format == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(value) for key, value in row.items()})
    return text.getvalue()


def _cell(value: object) -> object:
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
