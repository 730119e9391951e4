"""The preference learner: turns preferred-versus-rejected pairs into stated patterns.

Each pattern carries its evidence (comparisons that agree and disagree with it), so a pattern is
only *strong* when the data back it, and a contradicted one is demoted or dropped on the next
update. Every update is published as the next version of one `PreferencePatterns` object.
"""

from __future__ import annotations

from collections.abc import Sequence

import weave
from pydantic import BaseModel, Field
from scipy.stats import beta

from voicejudge.audio.features import FEATURE_NAMES, FeatureCache, Features
from voicejudge.audio.quality import describe_features
from voicejudge.audio.sample_set import SampleSet
from voicejudge.learning.acoustic_learner import evidence_for, learn_acoustic
from voicejudge.learning.brief import default_brief
from voicejudge.learning.candidates import STATED_PRECISION
from voicejudge.learning.comparison import Comparison
from voicejudge.learning.patterns import Pattern, PatternClaim, PreferencePatterns
from voicejudge.learning.preference_fit import LearnerError
from voicejudge.learning.rubric import Criterion
from voicejudge.models import OFFLINE_MODEL, ModelRequest, Part, backend_for
from voicejudge.models.running import run_sync
from voicejudge.prompts import load_prompt, render
from voicejudge.settings import load_settings


class LearnerReply(BaseModel):
    """What the learner model returns."""

    reasoning: str
    strong: list[PatternClaim]
    emerging: list[PatternClaim]


class PreferenceLearner(weave.Model):
    """Learns patterns from comparisons: `acoustic` fits a rubric to the measured features,
    `gemini:<model>` hears the pairs and states what it finds."""

    model: str = "acoustic"
    prior: list[Criterion] = Field(default_factory=list, description="the current rubric")
    prior_precision: float = Field(
        default=STATED_PRECISION,
        gt=0,
        description="how firmly the prior holds (offline): wide for a brief, narrower for a "
        "group's rubric a rater is expected to share",
    )
    brief: str = Field(default_factory=lambda: default_brief().text)
    temperature: float = 0.7
    max_audio_pairs: int = Field(default=6, ge=0, description="pairs sent as audio to an LLM")
    patterns_name: str = "preference-patterns"

    @weave.op
    def update(self, comparisons: list[Comparison], samples: SampleSet) -> PreferencePatterns:
        features = _features_for(comparisons, samples)
        if self.model == OFFLINE_MODEL:
            patterns = learn_acoustic(comparisons, features, self.prior, self.prior_precision)
            return _publish(patterns, self.patterns_name)
        request = ModelRequest(
            system=render(
                load_prompt("learner"),
                brief=self.brief,
                current_patterns="\n".join(f"- {c.describe()}" for c in self.prior) or "- none",
                feature_names=", ".join(FEATURE_NAMES),
            ),
            parts=self._evidence(comparisons, samples, features),
            response_type=LearnerReply,
            temperature=self.temperature,
        )
        reply: LearnerReply = run_sync(backend_for(self.model).generate(request))
        patterns = consolidate(reply, comparisons, features, learner=self.model)
        return _publish(patterns, self.patterns_name)

    def _evidence(
        self, comparisons: Sequence[Comparison], samples: SampleSet, features: dict[str, Features]
    ) -> list[Part]:
        """The newest pairs as audio with their measurements, older ones as measurements only."""
        parts: list[Part] = []
        with_audio = set(range(max(0, len(comparisons) - self.max_audio_pairs), len(comparisons)))
        for index, pair in enumerate(comparisons):
            parts.append(
                f"Pair {index + 1}: the listener preferred {pair.preferred_id!r} "
                f"over {pair.rejected_id!r}." + (f" Note: {pair.note}" if pair.note else "")
            )
            for role, sample_id in (
                ("preferred", pair.preferred_id),
                ("rejected", pair.rejected_id),
            ):
                facts = describe_features(features[sample_id])
                if index in with_audio:
                    parts.append(f"{role.capitalize()} take {sample_id!r}:")
                    parts.append(samples.get(sample_id).clip())
                parts.append(f"{role.capitalize()} {sample_id!r} measured: {facts}")
        return parts


def consolidate(
    reply: LearnerReply,
    comparisons: Sequence[Comparison],
    features: dict[str, Features],
    learner: str,
) -> PreferencePatterns:
    """Recount each claim's evidence from the measurements, merge claims about one feature
    (an opposite claim counts against the kept one), demote weak strong claims, drop ones the
    measurements clearly contradict (twice as many comparisons against as for)."""
    merged: dict[tuple[str, ...], tuple[PatternClaim, bool]] = {}
    for claim, strong in [(c, True) for c in reply.strong] + [(c, False) for c in reply.emerging]:
        criterion = claim.as_criterion()
        if criterion is not None and comparisons:
            support, against = evidence_for(criterion, comparisons, features)
            claim = claim.model_copy(update={"support": support, "against": against})
        key = _claim_key(claim)
        if key not in merged:
            merged[key] = (claim, strong)
            continue
        kept, kept_strong = merged[key]
        if (claim.support - claim.against, strong) > (kept.support - kept.against, kept_strong):
            claim, strong, kept, kept_strong = kept, kept_strong, claim, strong
        if claim.term != kept.term:
            kept = kept.model_copy(update={"against": kept.against + claim.support})
        merged[key] = (kept, kept_strong)
    strong_patterns, emerging_patterns = [], []
    for claim, strong in merged.values():
        if claim.against >= 2 * claim.support and claim.support + claim.against > 0:
            continue  # clearly contradicted; a balanced count is left to the fit's confidence
        pattern = Pattern(
            statement=claim.statement,
            term=claim.term,
            support=claim.support,
            against=claim.against,
            confidence=claim.confidence
            if claim.confidence is not None
            else _evidence_confidence(claim.support, claim.against),
            effect=abs(claim.effect),
        )
        if strong and pattern.support >= 3 and pattern.support >= 2 * max(pattern.against, 1):
            strong_patterns.append(pattern)
        else:
            emerging_patterns.append(pattern)
    return PreferencePatterns(
        strong=strong_patterns,
        emerging=emerging_patterns,
        comparisons=len(comparisons),
        learned_from=sorted({c.call_id for c in comparisons if c.call_id}),
        raters=sorted({c.rater for c in comparisons}),
        learner=learner,
    )


def _claim_key(claim: PatternClaim) -> tuple[str, ...]:
    if claim.term is not None:
        return claim.term.slot()
    return (" ".join(claim.statement.lower().split()),)


def _evidence_confidence(support: int, against: int) -> float:
    """P(the listener agrees with the pattern more often than not), Beta(1+s, 1+a) posterior."""
    return round(float(beta.sf(0.5, 1 + support, 1 + against)), 4)


def _features_for(comparisons: Sequence[Comparison], samples: SampleSet) -> dict[str, Features]:
    """Every take of the set (the fit's gate thresholds are quantiles of the whole set)."""
    cache = FeatureCache(load_settings().feature_cache)
    unknown = sorted(
        ({c.preferred_id for c in comparisons} | {c.rejected_id for c in comparisons})
        - set(samples.ids)
    )
    if unknown:
        raise LearnerError(f"Comparisons name takes that are not in the set: {', '.join(unknown)}.")
    return {sample_id: cache.features(samples.get(sample_id).clip()) for sample_id in samples.ids}


def _publish(patterns: PreferencePatterns, name: str) -> PreferencePatterns:
    from weave.trace.context.weave_client_context import get_weave_client

    if get_weave_client() is not None:
        weave.publish(patterns, name=name)
    return patterns
