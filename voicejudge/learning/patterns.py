"""Preference patterns: what a learner believes about one listener, with the evidence for it."""

from __future__ import annotations

from typing import Any

import weave
from pydantic import BaseModel, Field, model_validator

from voicejudge.learning.rubric import Criterion
from voicejudge.learning.terms import FeatureTerm

_TERM_FIELDS = ("feature", "target", "threshold", "below")


class PatternClaim(BaseModel):
    """A preference as a learner states it: in words, as a term over a feature when one fits,
    and the evidence for it."""

    statement: str
    term: FeatureTerm | None = Field(
        default=None,
        description="the feature it is about and which way; none for a claim "
        "about no particular feature",
    )
    support: int = Field(default=0, ge=0, description="comparisons that agree with it")
    against: int = Field(default=0, ge=0, description="comparisons that contradict it")
    effect: float = Field(default=1.0, description="importance, z-units")
    confidence: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="before")
    @classmethod
    def _flat_term(cls, value: Any) -> Any:
        """Also take the term's fields at the top level, with `direction` as its kind (how a
        model naturally writes a claim, and how earlier versions stored patterns)."""
        if not isinstance(value, dict):
            return value
        flat = {key: value[key] for key in (*_TERM_FIELDS, "direction") if key in value}
        if "term" in value:
            if any(item is not None for item in flat.values()):
                raise ValueError("give the term either under 'term' or as flat fields, not both")
            return {key: item for key, item in value.items() if key not in flat}
        rest = {key: item for key, item in value.items() if key not in flat}
        if flat.get("feature") is None and flat.get("direction") is None:
            return rest
        if flat.get("feature") is None or flat.get("direction") is None:
            raise ValueError("a pattern about a feature needs both 'feature' and 'direction'")
        flat["kind"] = flat.pop("direction")
        return {**rest, "term": {k: v for k, v in flat.items() if v is not None}}

    def as_criterion(self) -> Criterion | None:
        """The rubric criterion it asks for; None for a claim about no particular feature."""
        if self.term is None:
            return None
        return Criterion(
            **self.term.model_dump(),
            weight=abs(self.effect),
            rationale=self.statement,
            source="learned",
        )


class Pattern(PatternClaim):
    """A stated preference with its evidence, as the learner publishes it."""

    confidence: float = Field(ge=0, le=1, description="probability the effect has this sign")


class PreferencePatterns(weave.Object):
    """What the learner currently believes, split by strength of evidence."""

    strong: list[Pattern] = Field(default_factory=list)
    emerging: list[Pattern] = Field(default_factory=list)
    comparisons: int = 0
    learned_from: list[str] = Field(default_factory=list, description="rank_audio call ids")
    raters: list[str] = Field(default_factory=list, description="whose rankings they came from")
    learner: str = "acoustic"
