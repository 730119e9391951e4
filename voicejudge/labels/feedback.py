"""A ranking as an answer: the bounded, validated `RankingFeedback` a person or simulated rater
gives, the rules for rater names, and the preferred-versus-rejected `Comparison`s it implies.

Everything here can come from a browser, so new answers are checked strictly; answers read
back from a store are taken as stored (validation context `STORED`).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from voicejudge.errors import VoiceJudgeError
from voicejudge.learning.comparison import Comparison

LABELS = "ABCD"
PERSON_SOURCE = "human"  # the source of a person's answer; also "any person" as `asked_of`
SIMULATED_PREFIX = "simulated:"  # the source of a simulated rater's answer: simulated:<profile>
MAX_RATER_CHARS = 64
MAX_NOTE_CHARS = 2000
MAX_ID_CHARS = 200
MAX_ELAPSED_S = 24 * 3600.0
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class RankingError(VoiceJudgeError):
    """A ranking that does not fit its comparison, or a comparison that does not exist."""


class RankingFeedback(BaseModel):
    """One person's (or simulated rater's) answer to one comparison.

    Everything here can come from a browser, so a new answer is bounded: a rater name is one
    printable line, a note a few paragraphs, a time a plausible number of seconds. Answers read
    back from a store (`STORED`) are taken as they are, since others may have written them.
    """

    ranking: list[str] = Field(
        min_length=2, max_length=len(LABELS), description="sample ids, best first"
    )
    tie: bool = False
    rater: str = Field(min_length=1)
    presented_order: list[str] = Field(default_factory=list, max_length=len(LABELS))
    played: list[str] = Field(default_factory=list, max_length=len(LABELS))
    note: str = ""
    elapsed_s: float | None = None
    ranked_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))
    source: str = Field(default=PERSON_SOURCE, min_length=1)
    replaces: str | None = Field(
        default=None, description="the feedback id of this rater's earlier answer, kept as is"
    )

    @field_validator("rater", "source", mode="before")
    @classmethod
    def _one_printable_line(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and not _stored(info):
            value = value.strip()
            if not _visible(value):
                raise ValueError(
                    "must be one line of printable text (no control or invisible characters)"
                )
            if len(value) > MAX_RATER_CHARS:
                raise ValueError(f"must be at most {MAX_RATER_CHARS} characters")
        return value

    @field_validator("note", mode="before")
    @classmethod
    def _printable_text(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and not _stored(info):
            value = value.strip()
            if _CONTROL.search(value.replace("\n", "").replace("\t", "")):
                raise ValueError("may hold line breaks but no other control characters")
            if len(value) > MAX_NOTE_CHARS:
                raise ValueError(f"must be at most {MAX_NOTE_CHARS} characters")
        return value

    @field_validator("elapsed_s")
    @classmethod
    def _plausible_time(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and not _stored(info) and not 0 <= value <= MAX_ELAPSED_S:
            raise ValueError(f"must be between 0 and {MAX_ELAPSED_S:g} seconds")
        return value

    @field_validator("ranking", "presented_order", "played")
    @classmethod
    def _sample_ids(cls, ids: list[str], info: ValidationInfo) -> list[str]:
        if len(set(ids)) != len(ids):
            raise ValueError("names a take more than once")
        for sample_id in ids:
            if not sample_id or (
                not _stored(info) and (len(sample_id) > MAX_ID_CHARS or _CONTROL.search(sample_id))
            ):
                raise ValueError(f"{sample_id[:40]!r} is not a sample id")
        return ids

    @model_validator(mode="after")
    def _takes_of_this_ranking(self) -> RankingFeedback:
        for name in ("presented_order", "played"):
            if not set(getattr(self, name)) <= set(self.ranking):
                raise ValueError(f"{name} may only name the ranked takes")
        return self


def _visible(text: str) -> bool:
    """No control, format (zero-width, bidi), surrogate, private-use or unassigned characters."""
    return not any(unicodedata.category(char).startswith("C") for char in text)


STORED = {"stored": True}  # validation context for answers read back from a store


def _stored(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("stored"))


def rater_name(name: str) -> str:
    """A rater name as it is stored: stripped, not empty, one line of visible characters
    (no control, format or private-use characters, so no two names print alike), bounded."""
    cleaned = (name or "").strip()
    if not cleaned:
        raise RankingError("Enter your name as the rater before ranking.")
    if len(cleaned) > MAX_RATER_CHARS or not _visible(cleaned):
        raise RankingError(
            f"A rater name is one line of printable text, at most {MAX_RATER_CHARS} characters."
        )
    if cleaned.casefold().startswith(SIMULATED_PREFIX):
        raise RankingError(
            f"Names starting with {SIMULATED_PREFIX!r} are kept for simulated raters; "
            "choose another name."
        )
    return cleaned


def comparisons_from(feedback: RankingFeedback, call_id: str | None = None) -> list[Comparison]:
    """Every ordered pair a ranking implies; a tie implies none."""
    if feedback.tie:
        return []
    order = feedback.ranking
    return [
        Comparison(
            preferred_id=better,
            rejected_id=worse,
            rater=feedback.rater,
            call_id=call_id,
            note=feedback.note,
        )
        for index, better in enumerate(order)
        for worse in order[index + 1 :]
    ]
