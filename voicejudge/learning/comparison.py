"""`Comparison`: a preferred-versus-rejected pair, what every learner and evaluation reads."""

from __future__ import annotations

from pydantic import BaseModel


class Comparison(BaseModel):
    """A preferred-versus-rejected pair from one ranking (`call_id`: the `rank_audio` call)."""

    preferred_id: str
    rejected_id: str
    rater: str
    call_id: str | None = None
    note: str = ""
