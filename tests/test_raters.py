"""Simulated raters: profiles from files, the utility they define, and answers in the store."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from voicejudge.audio.features import FEATURE_NAMES, FeatureCache, z_scores
from voicejudge.audio.sample_set import load_sample_set
from voicejudge.labels.ranking import pending_calls, rank_audio, read_rankings
from voicejudge.labels.simulated_raters import (
    RaterError,
    RaterProfile,
    SimulatedRater,
    bundled_profiles,
    load_rater_profile,
)


@pytest.fixture(scope="module")
def voices():
    return load_sample_set("assets/voices")


def test_bundled_profiles_load_from_json_and_toml() -> None:
    paths = bundled_profiles()
    assert {p.suffix for p in paths} == {".json", ".toml"}
    for path in paths:
        profile = load_rater_profile(path)
        assert profile.flip_rate == 0.1 and profile.terms
        assert load_rater_profile(path.stem) == profile  # by name, as the CLI takes it


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            '{"name": "x", "terms": [{"feature": "loudness", "kind": "linear", "weight": 1}]}',
            "unknown feature",
        ),
        (
            '{"name": "x", "terms": [{"feature": "lufs", "kind": "target", "weight": 1}]}',
            "needs 'target'",
        ),
        (
            '{"name": "x", "terms": [{"feature": "lufs", "kind": "gate", "weight": 1}]}',
            "needs 'threshold'",
        ),
        (
            '{"name": "x", "flip_rate": 0.7, "terms": '
            '[{"feature": "lufs", "kind": "linear", "weight": 1}]}',
            "flip_rate",
        ),
        ('{"name": "x", "terms": []}', "terms"),
        ("{not json", "cannot read"),
    ],
)
def test_bad_profiles_name_the_file_and_the_problem(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "rater.json"
    path.write_text(content)
    with pytest.raises(RaterError) as caught:
        load_rater_profile(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)


def test_unknown_profile_lists_the_bundled_ones() -> None:
    with pytest.raises(RaterError, match="gravel"):
        load_rater_profile("nobody")


def test_utility_is_the_sum_of_linear_target_and_gate_terms(voices) -> None:
    profile = RaterProfile.model_validate(
        {
            "name": "mixed",
            "terms": [
                {"feature": "f0_median_hz", "kind": "linear", "weight": -0.7},
                {"feature": "lufs", "kind": "target", "weight": 0.5, "target": 0.5},
                {"feature": "bandwidth_hz", "kind": "gate", "weight": 2.0, "threshold": 4000},
                {
                    "feature": "snr_db",
                    "kind": "gate",
                    "weight": 1.0,
                    "threshold": 20,
                    "below": False,
                },
            ],
        }
    )
    rater = SimulatedRater(profile, voices)
    cache = FeatureCache()
    for sample in list(voices)[:12]:
        features = cache.features(sample.clip())
        z = z_scores(features)
        expected = (
            -0.7 * z["f0_median_hz"]
            - 0.5 * (z["lufs"] - 0.5) ** 2
            - 2.0 * (features.bandwidth_hz < 4000)
            - 1.0 * (features.snr_db > 20)
        )
        assert rater.utility(sample.id) == pytest.approx(expected)


def test_flips_follow_the_flip_rate_and_the_seed(voices) -> None:
    profile = load_rater_profile("gravel")
    rater = SimulatedRater(profile, voices)
    pairs = list(itertools.combinations(voices.ids, 2))
    flipped = sum(rater.rank([a, b])[0] != rater.true_choice(a, b) for a, b in pairs)
    assert 0.06 < flipped / len(pairs) < 0.14
    again = SimulatedRater(profile, voices)
    assert [again.rank(list(p)) for p in pairs[:50]] == [rater.rank(list(p)) for p in pairs[:50]]
    clean = SimulatedRater(profile.model_copy(update={"flip_rate": 0.0}), voices)
    assert all(clean.rank([a, b])[0] == clean.true_choice(a, b) for a, b in pairs[:200])


def test_answers_pending_calls_once_as_simulated_feedback(client, voices) -> None:
    rater = SimulatedRater(load_rater_profile("studio"), voices)
    calls = [
        rank_audio.call([voices.get(a), voices.get(b)])[1].id
        for a, b in [("voice-001", "voice-002"), ("voice-003", "voice-004")]
    ]
    assert sorted(rater.answer_pending(client)) == sorted(calls)
    assert rater.answer_pending(client) == []
    assert pending_calls(client, "studio") == []
    stored = read_rankings(client, "studio")
    assert {r.call_id for r in stored} == set(calls) and len(stored) == 2
    assert {r.feedback.source for r in stored} == {"simulated:studio"}
    for recorded in stored:
        a, b = recorded.feedback.ranking
        assert recorded.feedback.ranking == rater.rank([a, b])


def test_profile_files_are_json_or_toml(tmp_path: Path) -> None:
    data = {
        "name": "t",
        "seed": 3,
        "terms": [{"feature": "snr_db", "kind": "linear", "weight": 1.0}],
    }
    (tmp_path / "t.json").write_text(json.dumps(data))
    (tmp_path / "t.toml").write_text(
        'name = "t"\nseed = 3\n[[terms]]\nfeature = "snr_db"\nkind = "linear"\nweight = 1.0\n'
    )
    assert load_rater_profile(tmp_path / "t.json") == load_rater_profile(tmp_path / "t.toml")


def test_random_profiles_follow_their_documented_distribution() -> None:
    from voicejudge.labels.simulated_raters import random_profile

    profiles = [random_profile(seed) for seed in range(200)]
    assert random_profile(7) == random_profile(7) and load_rater_profile("random:7") == profiles[7]
    kinds = [
        "linear" if term.kind in ("higher", "lower") else term.kind
        for p in profiles
        for term in p.terms
    ]
    assert all(1 <= len(p.terms) <= 6 for p in profiles)
    assert all(len({t.feature for t in p.terms}) == len(p.terms) for p in profiles)
    assert all(0.05 <= p.flip_rate <= 0.2 for p in profiles)
    share = {kind: kinds.count(kind) / len(kinds) for kind in ("linear", "target", "gate")}
    assert 0.4 < share["linear"] < 0.6 and 0.15 < share["gate"] < 0.35
    gates = [t for p in profiles for t in p.terms if t.kind == "gate"]
    assert all(t.threshold is None and t.quantile is not None for t in gates)
    assert all((0.1 <= t.quantile <= 0.3) if t.below else (0.7 <= t.quantile <= 0.9) for t in gates)
    assert {t.feature for p in profiles for t in p.terms} == set(FEATURE_NAMES)  # any feature


def test_a_quantile_gate_trips_on_that_share_of_the_set(voices) -> None:
    profile = RaterProfile(
        name="picky",
        terms=[{"feature": "f0_median_hz", "kind": "gate", "weight": 2.0, "quantile": 0.25}],
    )
    rater = SimulatedRater(profile, voices)
    (gate,) = rater.criteria
    tripped = [i for i in voices.ids if rater.utility(i) < 0]
    assert gate.threshold is not None and 0.15 <= len(tripped) / len(voices) <= 0.3


def test_a_random_taste_is_refused_without_a_seed() -> None:
    with pytest.raises(RaterError, match="random:SEED"):
        load_rater_profile("random:x")
