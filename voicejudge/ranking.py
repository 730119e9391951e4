"""Human rankings and the pairwise comparisons derived from them.

`RankingFeedback` is the payload of `voicejudge.ranking` feedback on a `rank_audio` call;
`Comparison`s are derived from it (every higher-ranked sample beats every lower-ranked one),
never stored twice.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class RankingFeedback(BaseModel):
    """One person's (or simulated rater's) answer to one comparison."""

    ranking: list[str] = Field(min_length=2, description="sample ids, best first")
    tie: bool = False
    rater: str = Field(min_length=1)
    presented_order: list[str] = Field(default_factory=list)
    played: list[str] = Field(default_factory=list)
    note: str = ""
    elapsed_s: float | None = None
    ranked_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))
    source: str = "human"


class Comparison(BaseModel):
    """A preferred-versus-rejected pair from one ranking."""

    preferred_id: str
    rejected_id: str
    rater: str
    call_id: str | None = None
    note: str = ""


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
