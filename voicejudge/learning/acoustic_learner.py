"""The offline learner: a sparse rubric fitted to the comparisons, its effects stated as patterns
with the comparisons that back or contradict each one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from voicejudge.audio.features import Features, z_scores
from voicejudge.learning.candidates import STATED_PRECISION
from voicejudge.learning.comparison import Comparison
from voicejudge.learning.patterns import Pattern, PreferencePatterns
from voicejudge.learning.preference_fit import fit_rubric
from voicejudge.learning.rubric import Criterion
from voicejudge.learning.terms import FeatureTerm

# How sure the fit must be that an effect exists with its sign to call its pattern strong;
# every other effect of the averaged rubric is an emerging pattern.
STRONG_CONFIDENCE = 0.9
# A difference smaller than this (in z) counts neither for nor against a pattern.
INFORMATIVE_Z = 0.25


def learn_acoustic(
    comparisons: Sequence[Comparison],
    features: Mapping[str, Features],
    prior: Sequence[Criterion],
    prior_precision: float = STATED_PRECISION,
) -> PreferencePatterns:
    """Fit a sparse rubric around `prior` and state its effects as patterns: strong when the
    fit is sure of them and the comparisons back them, emerging otherwise."""
    fit = fit_rubric(comparisons, features, prior, prior_precision)
    z = {sample_id: z_scores(f) for sample_id, f in features.items()}
    raw = {sample_id: f.model_dump() for sample_id, f in features.items()}
    strong, emerging = [], []
    for criterion, confidence in fit.effects():
        pattern = _pattern(criterion, confidence, comparisons, z, raw)
        ratio = pattern.support / max(pattern.against, 1)
        if confidence >= STRONG_CONFIDENCE and pattern.support >= 3 and ratio >= 2:
            strong.append(pattern)
        else:
            emerging.append(pattern)
    return PreferencePatterns(
        strong=sorted(strong, key=lambda p: -abs(p.effect)),
        emerging=sorted(emerging, key=lambda p: -abs(p.effect)),
        comparisons=len(comparisons),
        learned_from=sorted({c.call_id for c in comparisons if c.call_id}),
        raters=sorted({c.rater for c in comparisons}),
        learner="acoustic",
    )


def _pattern(
    criterion: Criterion,
    confidence: float,
    comparisons: Sequence[Comparison],
    z: Mapping[str, Mapping[str, float]],
    raw: Mapping[str, Mapping[str, float | None]],
) -> Pattern:
    support, against = _evidence(criterion, comparisons, z, raw)
    return Pattern(
        statement=_sentence(criterion.preference(labelled=True)),
        term=criterion.as_term(),
        support=support,
        against=against,
        confidence=confidence,
        effect=criterion.weight,
    )


def _linear_evidence(
    comparisons: Sequence[Comparison],
    z: Mapping[str, Mapping[str, float]],
    feature: str,
    direction: str,
) -> tuple[int, int]:
    sign = 1 if direction == "higher" else -1
    return _tally(
        sign * (z[c.preferred_id][feature] - z[c.rejected_id][feature]) for c in comparisons
    )


def _target_evidence(
    comparisons: Sequence[Comparison],
    z: Mapping[str, Mapping[str, float]],
    feature: str,
    target: float,
) -> tuple[int, int]:
    return _tally(
        abs(z[c.rejected_id][feature] - target) - abs(z[c.preferred_id][feature] - target)
        for c in comparisons
    )


def _tally(margins: Iterable[float]) -> tuple[int, int]:
    """(support, against): margins clearly for the pattern, and clearly against it."""
    values = list(margins)
    return (
        sum(1 for m in values if m > INFORMATIVE_Z),
        sum(1 for m in values if m < -INFORMATIVE_Z),
    )


def _gate_evidence(
    comparisons: Sequence[Comparison],
    raw: Mapping[str, Mapping[str, float | None]],
    gate: FeatureTerm,
) -> tuple[int, int]:
    def tripped(sample_id: str) -> bool:
        return gate.tripped(raw[sample_id][gate.feature])

    support = sum(1 for c in comparisons if tripped(c.rejected_id) and not tripped(c.preferred_id))
    against = sum(1 for c in comparisons if tripped(c.preferred_id) and not tripped(c.rejected_id))
    return support, against


def evidence_for(
    criterion: Criterion, comparisons: Sequence[Comparison], features: Mapping[str, Features]
) -> tuple[int, int]:
    """(support, against): comparisons whose measured difference agrees or disagrees with it."""
    z = {sample_id: z_scores(f) for sample_id, f in features.items()}
    raw = {sample_id: f.model_dump() for sample_id, f in features.items()}
    return _evidence(criterion, comparisons, z, raw)


def _evidence(
    criterion: Criterion,
    comparisons: Sequence[Comparison],
    z: Mapping[str, Mapping[str, float]],
    raw: Mapping[str, Mapping[str, float | None]],
) -> tuple[int, int]:
    if criterion.kind == "gate":
        return _gate_evidence(comparisons, raw, criterion)
    if criterion.kind == "target":
        assert criterion.target is not None
        return _target_evidence(comparisons, z, criterion.feature, criterion.target)
    return _linear_evidence(comparisons, z, criterion.feature, criterion.kind)


def _sentence(words: str) -> str:
    return words[:1].upper() + words[1:]
