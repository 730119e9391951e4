"""Listening tests that already exist, brought in as feedback on traced `rank_audio` calls.

A file is read whole and checked before anything is stored: rows whose audio is named but
missing, duplicated rows and malformed scores are reported by line, and nothing is imported
unless the caller skips them. Scores become rankings only where they are comparable (one
MUSHRA trial: one listener, one signal), one pair of takes at a time, equal scores as ties.
Each pair of takes is one `rank_audio` call of the study, answered by every listener who
rated both; importing the same file again stores nothing new, so an import cut short (a
crash, Ctrl+C) is completed by running it again.
"""

from __future__ import annotations

import csv
import glob
import itertools
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import weave
from pydantic import BaseModel, Field
from weave.trace.weave_client import WeaveClient

from voicejudge.audio.sample_set import SampleSet, VoiceSample, publish_sample_set
from voicejudge.errors import VoiceJudgeError
from voicejudge.labels.feedback import RankingFeedback, rater_name
from voicejudge.labels.ranking import (
    asked_comparisons,
    rank_audio,
    read_rankings,
    submit_ranking,
)

ImportFormat = Literal["mushra", "mos", "pairs"]
FORMATS: tuple[ImportFormat, ...] = ("mushra", "mos", "pairs")
MUSHRA_SCALE = (0.0, 100.0)
MOS_UNIT = "mos"  # a listener's own absolute ratings are one unit: comparable with each other
_SHOWN_PROBLEMS = 10


class ImportRefused(VoiceJudgeError):
    """A file with rows that cannot be imported as they are; nothing was stored."""

    def __init__(self, path: Path, problems: Sequence[ImportProblem]) -> None:
        shown = "\n".join(f"  line {p.line}: {p.problem}" for p in problems[:_SHOWN_PROBLEMS])
        more = len(problems) - _SHOWN_PROBLEMS
        super().__init__(
            f"{path}: {len({p.line for p in problems})} row(s) cannot be imported, so nothing "
            f"was:\n{shown}"
            + (f"\n  … and {more} more" if more > 0 else "")
            + "\nFix them, or import the other rows with --skip-bad."
        )
        self.problems = list(problems)


@dataclass(frozen=True)
class ImportProblem:
    """One row that cannot be imported, by its line in the file (the header is line 1)."""

    line: int
    problem: str


@dataclass(frozen=True)
class Trial:
    """One listener's scores for the takes of one unit (a MUSHRA signal), or one stated pair."""

    rater: str
    unit: str
    scores: dict[str, float]


class ListenerScore(BaseModel):
    """One score as the file gave it: by whom, in which trial, for which condition."""

    listener: str
    signal: str
    condition: str
    score: float
    file: str
    line: int


class ListeningScores(weave.Object):
    """A study's scores as imported, kept so rules that read scores (hidden-reference
    screening) can run later; published as `scores-<study>`."""

    study: str
    rows: list[ListenerScore] = Field(default_factory=list)


@dataclass
class ListeningTest:
    """What a file holds, checked: its takes, its trials, and the rows it cannot use."""

    path: Path
    format: ImportFormat
    samples: dict[str, VoiceSample] = field(default_factory=dict)
    trials: list[Trial] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    without_audio: list[int] = field(default_factory=list)
    scores: list[ListenerScore] = field(default_factory=list)

    def judgements(self) -> Iterator[tuple[str, str, str, bool]]:
        """(rater, first, second, tie) for every pair of takes within each trial: the first
        scored higher, or the two equal."""
        for trial in self.trials:
            for a, b in itertools.combinations(sorted(trial.scores), 2):
                first, second = (b, a) if trial.scores[b] > trial.scores[a] else (a, b)
                yield trial.rater, first, second, trial.scores[a] == trial.scores[b]


class ImportSummary(BaseModel):
    """What an import stored, and what it left out (by line)."""

    study: str
    format: ImportFormat
    raters: int
    judgements: int
    ties: int
    stored: int = Field(description="answers new to the store (0 when imported before)")
    calls_asked: int
    rows_left_out: list[int]
    rows_without_audio: list[int]


def read_listening_test(
    format: ImportFormat, path: Path, audio: Path, scale: tuple[float, float] | None = None
) -> ListeningTest:
    """A listening test file in one of `FORMATS`, checked against the audio folder; `scale`
    bounds MOS ratings (default: any number)."""
    if format not in FORMATS:
        raise VoiceJudgeError(f"No import format {format!r}; use one of {', '.join(FORMATS)}.")
    if not path.is_file():
        raise VoiceJudgeError(f"{path}: no such file to import.")
    if not audio.is_dir():
        raise VoiceJudgeError(f"{audio}: the audio folder does not exist (give it with --audio).")
    test = ListeningTest(path=path, format=format)
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise VoiceJudgeError(f"{path}: not a readable CSV file ({exc}).") from None
    columns = set(rows[0]) if rows else set()
    if format == "pairs":
        _read_pairs(test, rows, columns, audio)
    elif format == "mos":
        _read_mos(test, rows, columns, audio, scale)
    elif {"signal", "condition", "ratings", "participant_ids", "file"} <= columns:
        _read_mushra_wide(test, rows, audio)
    elif {"listener", "signal", "condition", "score", "file"} <= columns:
        _read_mushra_long(test, rows, audio)
    else:
        raise VoiceJudgeError(
            f"{path}: a MUSHRA file has the columns signal,condition,ratings,participant_ids,"
            "file (one row per condition) or listener,signal,condition,score,file (one row "
            f"per score); this one has {', '.join(sorted(columns)) or 'none'}."
        )
    return test


def import_listening_test(
    test: ListeningTest, study: str, client: WeaveClient, *, skip_bad: bool = False
) -> ImportSummary:
    """Store every judgement of a checked test as feedback on the study's `rank_audio` calls
    (`source="import:<format>"`); refuses a test with problems unless `skip_bad`."""
    if test.problems and not skip_bad:
        raise ImportRefused(test.path, test.problems)
    judgements = list(test.judgements())
    asked = {
        frozenset(request.sample_ids): (call_id, request)
        for call_id, request in asked_comparisons(client)
        if request.study == study and len(request.sample_ids) == 2
    }
    before = len(read_rankings(client))
    new_calls = 0
    source = f"import:{test.format}"
    for rater, first, second, tie in judgements:
        pair = frozenset((first, second))
        if pair not in asked:
            request, call = rank_audio.call(
                [test.samples[i] for i in sorted(pair)], seed=0, study=study
            )
            asked[pair] = (str(call.id), request)
            new_calls += 1
        call_id, request = asked[pair]
        submit_ranking(
            call_id,
            RankingFeedback(
                ranking=[first, second],
                tie=tie,
                rater=rater,
                presented_order=request.presented_order,
                source=source,
            ),
            client,
            asked=request,
        )
    used = sorted({take for _, first, second, _ in judgements for take in (first, second)})
    publish_sample_set(
        SampleSet(name=study, samples=[test.samples[t] for t in used]), name=takes_name(study)
    )
    if test.scores:
        bad = {p.line for p in test.problems}
        rows = [score for score in test.scores if score.line not in bad]
        weave.publish(ListeningScores(study=study, rows=rows), name=scores_name(study))
    client.flush()
    return ImportSummary(
        study=study,
        format=test.format,
        raters=len({rater for rater, *_ in judgements}),
        judgements=len(judgements),
        ties=sum(tie for *_, tie in judgements),
        stored=len(read_rankings(client)) - before,
        calls_asked=new_calls,
        rows_left_out=sorted({p.line for p in test.problems}),
        rows_without_audio=test.without_audio,
    )


def scores_name(study: str) -> str:
    """The name a study's imported scores are published under."""
    return "scores-" + _object_name(study)


def takes_name(study: str) -> str:
    """The name a study's takes are published under (a `weave.Dataset`)."""
    return "takes-" + _object_name(study)


def _object_name(study: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in study)


def _take(test: ListeningTest, line: int, audio: Path, file: str) -> str | None:
    """The sample id of a row's file, registered once; None (and a problem) if it is missing."""
    if file in test.samples:
        return file
    location = audio / file
    if not location.is_file():
        # an id written without its extension (as exports write a set's sample ids)
        named = sorted(p for p in audio.glob(f"{glob.escape(file)}.*") if p.is_file())
        if len(named) != 1:
            test.problems.append(ImportProblem(line, f"audio {file!r} is not in {audio}"))
            return None
        location = named[0]
    test.samples[file] = VoiceSample(id=file, audio=location)
    return file


def _score(
    text: object, line: int, test: ListeningTest, scale: tuple[float, float] | None
) -> float | None:
    try:
        value = float(str(text))
    except ValueError:
        value = math.nan
    low, high = scale or (-math.inf, math.inf)
    if not math.isfinite(value) or not low <= value <= high:
        span = f" from {low:g} to {high:g}" if scale else ""
        test.problems.append(ImportProblem(line, f"score {text!r} is not a number{span}"))
        return None
    return value


def _listener(text: object, line: int, test: ListeningTest) -> str | None:
    try:
        return rater_name(str(text))
    except VoiceJudgeError as exc:
        test.problems.append(ImportProblem(line, f"listener {text!r}: {exc}"))
        return None


def _read_mushra_wide(test: ListeningTest, rows: list[dict[str, str]], audio: Path) -> None:
    """One row per (signal, condition) with JSON lists of scores and listener ids."""
    long_rows: list[tuple[int, dict[str, str]]] = []
    for line, row in enumerate(rows, start=2):
        try:
            scores, listeners = json.loads(row["ratings"]), json.loads(row["participant_ids"])
        except (json.JSONDecodeError, TypeError):
            test.problems.append(
                ImportProblem(line, "ratings and participant_ids must be JSON lists")
            )
            continue
        if not isinstance(scores, list) or not isinstance(listeners, list):
            test.problems.append(
                ImportProblem(line, "ratings and participant_ids must be JSON lists")
            )
            continue
        if len(scores) != len(listeners):
            test.problems.append(
                ImportProblem(line, f"{len(scores)} ratings for {len(listeners)} participant_ids")
            )
            continue
        for listener, value in zip(listeners, scores, strict=True):
            long_rows.append(
                (
                    line,
                    {
                        "listener": str(listener),
                        "signal": row["signal"],
                        "condition": row["condition"],
                        "score": str(value),
                        "file": row["file"],
                    },
                )
            )
    _collect_trials(test, long_rows, audio)


def _read_mushra_long(test: ListeningTest, rows: list[dict[str, str]], audio: Path) -> None:
    """One row per score: listener, signal, condition, score, file."""
    _collect_trials(test, list(enumerate(rows, start=2)), audio)


def _collect_trials(
    test: ListeningTest,
    rows: Sequence[tuple[int, dict[str, str]]],
    audio: Path,
    scale: tuple[float, float] | None = MUSHRA_SCALE,
) -> None:
    seen: dict[tuple[str, str, str], int] = {}
    trials: dict[tuple[str, str], dict[str, float]] = {}
    for line, row in rows:
        key = (row["listener"], row["signal"], row["condition"])
        if key in seen:
            trial = f" of {key[1]!r}" if key[1] != MOS_UNIT else ""
            test.problems.append(
                ImportProblem(
                    line, f"listener {key[0]} scored {key[2]!r}{trial} already (line {seen[key]})"
                )
            )
            continue
        seen[key] = line
        listener = _listener(row["listener"], line, test)
        value = _score(row["score"], line, test, scale)
        file = (row["file"] or "").strip()
        if listener is not None and value is not None:
            test.scores.append(
                ListenerScore(
                    listener=listener,
                    signal=row["signal"],
                    condition=row["condition"],
                    score=value,
                    file=file,
                    line=line,
                )
            )
        if not file:
            if line not in test.without_audio:
                test.without_audio.append(line)  # a condition without published audio
            continue
        take = _take(test, line, audio, file)
        if listener is None or value is None or take is None:
            continue
        trials.setdefault((listener, row["signal"]), {})[take] = value
    for (listener, signal), scores in trials.items():
        if len(scores) >= 2:
            test.trials.append(
                Trial(
                    rater=listener,
                    unit=signal,
                    scores=scores,
                )
            )


def _read_mos(
    test: ListeningTest,
    rows: list[dict[str, str]],
    columns: set[str],
    audio: Path,
    scale: tuple[float, float] | None,
) -> None:
    """One row per absolute rating: listener, file, score (ACR 1-5 or any numeric scale); a
    listener's ratings are compared only with each other."""
    if not {"listener", "file", "score"} <= columns:
        raise VoiceJudgeError(
            f"{test.path}: a MOS file has the columns listener,file,score; this one has "
            f"{', '.join(sorted(columns)) or 'none'}."
        )
    long_rows = [
        (line, {**row, "signal": MOS_UNIT, "condition": row["file"]})
        for line, row in enumerate(rows, start=2)
    ]
    _collect_trials(test, long_rows, audio, scale)


def _read_pairs(
    test: ListeningTest, rows: list[dict[str, str]], columns: set[str], audio: Path
) -> None:
    """One row per stated preference: listener (or rater, as exports write it), preferred,
    rejected and an optional tie."""
    if "listener" not in columns and "rater" in columns:
        rows = [{**row, "listener": row["rater"]} for row in rows]
        columns = columns | {"listener"}
    if not {"listener", "preferred", "rejected"} <= columns:
        raise VoiceJudgeError(
            f"{test.path}: a pairs file has the columns listener,preferred,rejected[,tie]; "
            f"this one has {', '.join(sorted(columns)) or 'none'}."
        )
    seen: dict[tuple[str, frozenset[str]], int] = {}
    for line, row in enumerate(rows, start=2):
        listener = _listener(row["listener"], line, test)
        tie_text = (row.get("tie") or "").strip().lower()
        if tie_text not in ("", "0", "1", "true", "false", "yes", "no"):
            test.problems.append(ImportProblem(line, f"tie {row.get('tie')!r} is not true/false"))
            continue
        preferred = _take(test, line, audio, (row["preferred"] or "").strip())
        rejected = _take(test, line, audio, (row["rejected"] or "").strip())
        if listener is None or preferred is None or rejected is None:
            continue
        if preferred == rejected:
            test.problems.append(ImportProblem(line, "a take cannot be preferred over itself"))
            continue
        key = (listener, frozenset((preferred, rejected)))
        if key in seen:
            test.problems.append(
                ImportProblem(
                    line, f"listener {listener} compared these takes already (line {seen[key]})"
                )
            )
            continue
        seen[key] = line
        tie = tie_text in ("1", "true", "yes")
        test.trials.append(
            Trial(
                rater=listener,
                unit=f"line {line}",
                scores={preferred: 1.0, rejected: 1.0 if tie else 0.0},
            )
        )
