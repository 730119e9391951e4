"""Preference patterns: what a learner believes about one listener, with the evidence for it."""

from __future__ import annotations

from typing import Literal

import weave
from pydantic import BaseModel, Field

from voicejudge.learning.rubric import Criterion

Direction = Literal["higher", "lower", "target", "gate"]


class PatternClaim(BaseModel):
    """A preference as a learner states it: what, about which feature, and the evidence."""

    statement: str
    feature: str | None = None
    direction: Direction | None = None
    support: int = Field(default=0, ge=0, description="comparisons that agree with it")
    against: int = Field(default=0, ge=0, description="comparisons that contradict it")
    effect: float = Field(default=1.0, description="importance, z-units")
    target: float | None = None
    threshold: float | None = None
    below: bool = True
    confidence: float | None = Field(default=None, ge=0, le=1)

    def as_criterion(self) -> Criterion | None:
        """The rubric criterion it asks for; None for a claim about no particular feature."""
        if self.feature is None and self.direction is None:
            return None
        if self.feature is None or self.direction is None:
            raise ValueError("a pattern about a feature needs both 'feature' and 'direction'")
        return Criterion(
            feature=self.feature,
            kind=self.direction,
            weight=abs(self.effect),
            target=self.target,
            threshold=self.threshold,
            below=self.below,
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
