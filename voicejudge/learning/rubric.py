"""Rubrics: criteria over acoustic features and the score they give a voice.

One scoring rule serves the offline judge (criteria of a judge prompt), the acoustic learner
(whose fitted effects become criteria) and simulated raters (hidden criteria). Linear and target
criteria read fixed-scale z-scores; gates read raw feature values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import Field

from voicejudge.audio.features import Features, z_scores
from voicejudge.learning.terms import FeatureTerm


class Criterion(FeatureTerm):
    """One thing a judge rewards or penalises: a term over a feature, with its weight."""

    weight: float = Field(ge=0, description="importance; the score's scale is z-units")
    rationale: str = ""
    source: Literal["prompt", "learned"] = Field(
        default="prompt", description="written into the prompt, or learned from rankings"
    )

    def term(self, z: Mapping[str, float], raw: Mapping[str, float | None]) -> float:
        """This criterion's contribution to a voice's score."""
        return self.weight * self.pull(z, raw)

    def describe(self) -> str:
        """The criterion in words, for a prompt (tersely: `preference` says it to a person)."""
        if self.kind == "gate":
            side = "below" if self.below else "above"
            text = f"penalise {self.feature} {side} {self.threshold:g}"
        elif self.kind == "target":
            text = f"{self.feature} near z={self.target:+.1f}"
        else:
            text = f"{self.kind} {self.feature}"
        return f"{text} (weight {self.weight:.2f})" + (
            f": {self.rationale}" if self.rationale else ""
        )


def score(criteria: Sequence[Criterion], features: Features) -> float:
    """A voice's score under a rubric: the sum of its criteria's terms."""
    z = z_scores(features)
    raw = features.model_dump()
    return sum(criterion.term(z, raw) for criterion in criteria)
