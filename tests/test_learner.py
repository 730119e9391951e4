"""The preference learner on the bundled voices with a known, hidden rater: offline, and the
claims a model states checked against what was measured."""

from __future__ import annotations

import itertools

import pytest

from tests.fake_gemini import reply
from tests.raters import labelled_pairs
from voicejudge.audio import extract_features
from voicejudge.audio.sample_set import load_sample_set
from voicejudge.labels.feedback import RankingFeedback, comparisons_from
from voicejudge.learning.acoustic_learner import STRONG_CONFIDENCE, learn_acoustic
from voicejudge.learning.brief import default_brief
from voicejudge.learning.comparison import Comparison
from voicejudge.learning.learner import LearnerReply, PreferenceLearner, consolidate
from voicejudge.learning.patterns import PatternClaim
from voicejudge.learning.preference_fit import fit_rubric
from voicejudge.learning.rubric import Criterion, score
from voicejudge.models import ModelReplyError
from voicejudge.prompting.judge_prompt import JudgePrompt
from voicejudge.prompting.rewrite import rewrite_from_patterns

HIDDEN = [
    Criterion(feature="f0_median_hz", kind="lower", weight=1.0),
    Criterion(feature="hnr_db", kind="higher", weight=0.7),
    Criterion(feature="syll_rate", kind="lower", weight=0.6),
    Criterion(feature="lufs", kind="higher", weight=0.5),
]
LOWER_PITCH = [Criterion(feature="f0_median_hz", kind="lower", weight=1.0)]


@pytest.fixture(scope="module")
def voices():
    samples = load_sample_set("assets/voices")
    return samples, {s.id: extract_features(s.clip()) for s in samples}


def _labelled_pairs(features, count: int, seed: int, flip_rate: float = 0.0) -> list[Comparison]:
    return labelled_pairs(features, HIDDEN, count, seed, flip_rate)


def _heldout_agreement(rubric, hidden, features, heldout) -> float:
    pairs = list(itertools.combinations(heldout, 2))
    agree = [
        (score(rubric, features[a]) - score(rubric, features[b]))
        * (score(hidden, features[a]) - score(hidden, features[b]))
        > 0
        for a, b in pairs
        if score(hidden, features[a]) != score(hidden, features[b])
    ]
    return sum(agree) / len(agree)


def test_fitted_rubric_ranks_unseen_takes_like_the_rater(voices) -> None:
    _, features = voices
    ids = sorted(features)
    train, heldout = ids[::3] + ids[1::3], ids[2::3]
    agreements = []
    for seed in range(3):
        pairs = labelled_pairs({i: features[i] for i in train}, HIDDEN, 64, seed, flip_rate=0.1)
        fit = fit_rubric(pairs, features, prior=[])
        agreements.append(_heldout_agreement(fit.criteria(), HIDDEN, features, heldout))
    assert min(agreements) >= 0.75, agreements


def test_finds_a_taste_on_a_feature_nobody_named(voices) -> None:
    _, features = voices
    values = sorted(f.pause_ratio for f in features.values())
    hidden = [
        Criterion(
            feature="pause_ratio",
            kind="gate",
            weight=2.0,
            threshold=values[int(0.75 * len(values))],
            below=False,
        ),
        Criterion(feature="duration_s", kind="higher", weight=0.3),
    ]
    for seed in range(3):
        patterns = learn_acoustic(labelled_pairs(features, hidden, 64, seed, 0.05), features, [])
        about_pauses = [p for p in patterns.strong if p.term and p.term.feature == "pause_ratio"]
        assert about_pauses, [p.statement for p in patterns.strong + patterns.emerging]
        assert about_pauses[0].term.kind != "higher"


def test_stated_patterns_follow_the_rater(voices) -> None:
    _, features = voices
    wrong = {(c.feature, "higher" if c.kind == "lower" else "lower") for c in HIDDEN}
    for seed in range(5):
        patterns = learn_acoustic(_labelled_pairs(features, 64, seed=seed), features, prior=[])
        stated = {(p.term.feature, p.term.kind) for p in patterns.strong + patterns.emerging}
        assert not stated & wrong, stated
        assert patterns.comparisons == 64 and len(patterns.learned_from) == 64
        rubric = [c for p in patterns.strong + patterns.emerging if (c := p.as_criterion())]
        agreement = _heldout_agreement(rubric, HIDDEN, features, sorted(features))
        assert agreement >= 0.8, f"the stated patterns rank {agreement:.0%} of pairs like the rater"


def test_patterns_carry_their_evidence(voices) -> None:
    _, features = voices
    patterns = learn_acoustic(_labelled_pairs(features, 64, seed=2), features, prior=[])
    assert patterns.strong + patterns.emerging
    for pattern in patterns.strong:
        assert pattern.support >= 3 and pattern.support >= 2 * max(pattern.against, 1)
        assert pattern.confidence >= STRONG_CONFIDENCE
    for pattern in patterns.strong:
        assert pattern.support > pattern.against
    for pattern in patterns.strong + patterns.emerging:
        assert pattern.support + pattern.against <= 64
        criterion = pattern.as_criterion()
        assert criterion is not None and pattern.term and criterion.feature == pattern.term.feature
    pitch = [
        p
        for p in patterns.strong + patterns.emerging
        if p.term and p.term.feature == "f0_median_hz"
    ]
    assert pitch and "pitch" in pitch[0].statement


def test_is_deterministic_and_states_nothing_strong_without_evidence(voices) -> None:
    _, features = voices
    pairs = _labelled_pairs(features, 32, seed=3)
    assert learn_acoustic(pairs, features, HIDDEN) == learn_acoustic(pairs, features, HIDDEN)
    assert learn_acoustic([], features, prior=[]).emerging == []
    from_prior = learn_acoustic([], features, prior=HIDDEN)
    assert from_prior.strong == []
    assert {(p.term.feature, p.term.kind) for p in from_prior.emerging} == {
        (c.feature, c.kind) for c in HIDDEN
    }


def test_one_comparison_moves_the_brief_rubric_gradually(voices) -> None:
    _, features = voices
    brief = default_brief().stated_criteria()
    start = JudgePrompt(text="Judge.", criteria=brief)
    ids = sorted(features)
    for a, b in [(ids[0], ids[1]), (ids[5], ids[9]), (ids[20], ids[3])]:
        one = [Comparison(preferred_id=a, rejected_id=b, rater="ann")]
        rewritten = rewrite_from_patterns(start, learn_acoustic(one, features, brief))
        criteria = [Criterion.model_validate(c) for c in rewritten["criteria"]]
        assert {c.feature for c in brief} <= {c.feature for c in criteria}, criteria
        assert score(criteria, features[a]) != score(criteria, features[b])


def test_contradicted_prior_is_not_stated(voices) -> None:
    _, features = voices
    wrong_prior = [Criterion(feature="f0_median_hz", kind="higher", weight=1.0)]
    pairs = _labelled_pairs(features, 64, seed=4)
    patterns = learn_acoustic(pairs, features, wrong_prior)
    stated = {(p.term.feature, p.term.kind) for p in patterns.strong + patterns.emerging}
    assert ("f0_median_hz", "higher") not in stated
    pitch = [
        c
        for c in fit_rubric(pairs, features, wrong_prior).criteria()
        if c.feature == "f0_median_hz"
    ]
    assert not pitch or pitch[0].kind == "lower", "the data pull it down"


def test_update_publishes_a_new_version_each_time(client, voices) -> None:
    samples, features = voices
    learner = PreferenceLearner(prior=[])
    first = learner.update(_labelled_pairs(features, 16, seed=5), samples)
    second = learner.update(_labelled_pairs(features, 48, seed=5), samples)
    client.flush()
    versions = client.server.objs_query(
        {"project_id": client.project_id, "filter": {"object_ids": ["preference-patterns"]}}
    ).objs
    assert [v.version_index for v in versions] == [0, 1]
    assert first.comparisons == 16 and second.comparisons == 48


def test_rankings_become_comparisons() -> None:
    feedback = RankingFeedback(ranking=["c", "a", "b"], rater="ann", note="c is wildest")
    pairs = comparisons_from(feedback, call_id="call-1")
    assert [(p.preferred_id, p.rejected_id) for p in pairs] == [("c", "a"), ("c", "b"), ("a", "b")]
    assert {p.call_id for p in pairs} == {"call-1"} and pairs[0].note == "c is wildest"
    assert comparisons_from(RankingFeedback(ranking=["a", "b"], rater="ann", tie=True)) == []


def test_unusable_learner_claims_are_repaired_then_an_error(gemini, voices) -> None:
    samples, features = voices
    bad = {"statement": "Likes pitchiness", "feature": "pitchiness", "direction": "lower"}
    gemini.default = lambda r: reply({"reasoning": "r", "strong": [bad], "emerging": []})
    learner = PreferenceLearner(model="gemini:gemini-test", max_audio_pairs=0)
    with pytest.raises(ModelReplyError, match="unknown feature 'pitchiness'"):
        learner.update(labelled_pairs(features, LOWER_PITCH, 4), samples)
    assert len(gemini.requests) == 2, "one repair request after the unusable reply"


def test_contradictory_claims_are_merged_against_each_other(voices) -> None:
    _, features = voices
    pairs = labelled_pairs(features, LOWER_PITCH, 30)
    lower = PatternClaim(statement="deeper is better", feature="f0_median_hz", direction="lower")
    higher = PatternClaim(statement="higher is better", feature="f0_median_hz", direction="higher")
    patterns = consolidate(
        LearnerReply(reasoning="r", strong=[lower], emerging=[higher]), pairs, features, "gemini:x"
    )
    stated = patterns.strong + patterns.emerging
    assert [p.statement for p in stated] == ["deeper is better"]
    kept = stated[0]
    assert kept.support >= 20, "recounted from the measured pitch, not taken from the model"
    assert kept.against == 0, "the opposite claim had no measured support to add"
