"""The offline preference learner on the bundled voices with a known, hidden rater."""

from __future__ import annotations

import pytest

from tests.raters import labelled_pairs
from voicejudge.audio import extract_features
from voicejudge.data import load_sample_set
from voicejudge.learner import PreferenceLearner
from voicejudge.preference_fit import fit_rubric, learn_acoustic
from voicejudge.ranking import Comparison, RankingFeedback, comparisons_from
from voicejudge.rubric import Criterion

HIDDEN = [
    Criterion(feature="f0_median_hz", kind="lower", weight=1.0),
    Criterion(feature="hnr_db", kind="higher", weight=0.7),
    Criterion(feature="syll_rate", kind="lower", weight=0.6),
    Criterion(feature="lufs", kind="higher", weight=0.5),
]


@pytest.fixture(scope="module")
def voices():
    samples = load_sample_set("assets/voices")
    return samples, {s.id: extract_features(s.clip()) for s in samples}


def _labelled_pairs(features, count: int, seed: int, flip_rate: float = 0.0) -> list[Comparison]:
    return labelled_pairs(features, HIDDEN, count, seed, flip_rate)


def test_recovers_a_linear_raters_weight_signs(voices) -> None:
    _, features = voices
    right = 0
    for seed in range(5):
        pairs = _labelled_pairs(features, 64, seed=seed, flip_rate=0.1)
        fit = fit_rubric(pairs, features, prior=[])
        for criterion in HIDDEN:
            weight = fit.mean[fit.basis.features.index(criterion.feature)]
            right += (weight > 0) == (criterion.kind == "higher")
    assert right >= 18, f"{right} of 20 signs recovered"


def test_stated_patterns_follow_the_rater(voices) -> None:
    _, features = voices
    wrong = {(c.feature, "higher" if c.kind == "lower" else "lower") for c in HIDDEN}
    stated_hidden = 0
    for seed in range(5):
        patterns = learn_acoustic(_labelled_pairs(features, 64, seed=seed), features, prior=[])
        stated = {(p.feature, p.direction) for p in patterns.strong + patterns.emerging}
        assert not stated & wrong, stated
        stated_hidden += len(stated & {(c.feature, c.kind) for c in HIDDEN})
        assert patterns.comparisons == 64 and len(patterns.learned_from) == 64
    assert stated_hidden >= 10, f"only {stated_hidden} of 20 hidden effects stated"


def test_patterns_carry_their_evidence(voices) -> None:
    _, features = voices
    patterns = learn_acoustic(_labelled_pairs(features, 64, seed=2), features, prior=[])
    assert patterns.strong + patterns.emerging
    for pattern in patterns.strong:
        assert pattern.support >= 3 and pattern.support >= 2 * max(pattern.against, 1)
        assert pattern.confidence >= 0.975
    for pattern in patterns.strong + patterns.emerging:
        assert pattern.support > pattern.against
        assert pattern.support + pattern.against <= 64
        criterion = pattern.as_criterion()
        assert criterion is not None and criterion.feature == pattern.feature
    pitch = [p for p in patterns.strong + patterns.emerging if p.feature == "f0_median_hz"]
    assert pitch and "pitch" in pitch[0].statement


def test_is_deterministic_and_needs_evidence(voices) -> None:
    _, features = voices
    pairs = _labelled_pairs(features, 32, seed=3)
    assert learn_acoustic(pairs, features, HIDDEN) == learn_acoustic(pairs, features, HIDDEN)
    empty = learn_acoustic([], features, prior=HIDDEN)
    assert empty.strong == [] and empty.emerging == []


def test_contradicted_prior_is_not_stated(voices) -> None:
    _, features = voices
    wrong_prior = [Criterion(feature="f0_median_hz", kind="higher", weight=1.0)]
    pairs = _labelled_pairs(features, 64, seed=4)
    patterns = learn_acoustic(pairs, features, wrong_prior)
    stated = {(p.feature, p.direction) for p in patterns.strong + patterns.emerging}
    assert ("f0_median_hz", "higher") not in stated
    fit = fit_rubric(pairs, features, wrong_prior)
    assert fit.mean[fit.basis.features.index("f0_median_hz")] < 0.5, "the data pull it down"


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
