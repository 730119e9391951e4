"""Preference patterns: what a learner believes about one listener, with the evidence for it."""

from __future__ import annotations

from typing import Literal

import weave
from pydantic import BaseModel, Field

from voicejudge.rubric import Criterion

Direction = Literal["higher", "lower", "target", "gate"]


class Pattern(BaseModel):
    """A stated preference with its evidence."""

    statement: str
    feature: str | None = None
    direction: Direction | None = None
    support: int = Field(ge=0, description="comparisons that agree with the pattern")
    against: int = Field(ge=0, description="comparisons that contradict it")
    confidence: float = Field(ge=0, le=1, description="probability the effect has this sign")
    effect: float = Field(default=0.0, description="fitted weight, z-units")
    target: float | None = None
    threshold: float | None = None
    below: bool = True

    def as_criterion(self) -> Criterion | None:
        """The rubric criterion this pattern asks for (None for a free-text pattern)."""
        if self.feature is None or self.direction is None:
            return None
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


class PreferencePatterns(weave.Object):
    """What the learner currently believes, split by strength of evidence."""

    strong: list[Pattern] = Field(default_factory=list)
    emerging: list[Pattern] = Field(default_factory=list)
    comparisons: int = 0
    learned_from: list[str] = Field(default_factory=list, description="rank_audio call ids")
    learner: str = "acoustic"
