"""Choosing pairs: sequential rounds, seeded random, balanced coverage, active information."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from voicejudge.audio import extract_features
from voicejudge.audio.sample_set import load_sample_set
from voicejudge.labels.pairs import PairingError, information, next_pairs
from voicejudge.learning.comparison import Comparison
from voicejudge.learning.preference_fit import fit_rubric
from voicejudge.learning.rubric import Criterion, score

ROOT = Path(__file__).resolve().parents[1]
IDS = [f"s{i}" for i in range(7)]


@pytest.fixture(scope="module")
def features():
    return {s.id: extract_features(s.clip()) for s in load_sample_set(ROOT / "assets" / "voices")}


def test_sequential_covers_every_pair_once_in_rounds() -> None:
    pairs = next_pairs(IDS, 100, "sequential")
    assert {frozenset(p) for p in pairs} == {frozenset(p) for p in itertools.combinations(IDS, 2)}
    assert len(pairs) == 21
    first_round = pairs[:3]
    assert len({i for p in first_round for i in p}) == 6, "a round uses each take at most once"
    assert next_pairs(IDS, 100, "sequential", asked=[("s1", "s0")])[0] != ("s0", "s1")
    assert len(next_pairs(IDS, 100, "sequential", asked=pairs[:5])) == 16


def test_random_is_seeded_and_skips_asked_pairs_in_either_order() -> None:
    first = next_pairs(IDS, 5, "random", seed=3)
    assert first == next_pairs(IDS, 5, "random", seed=3)
    assert first != next_pairs(IDS, 5, "random", seed=4)
    asked = [(b, a) for a, b in first]
    again = next_pairs(IDS, 30, "random", seed=3, asked=asked)
    assert not {frozenset(p) for p in again} & {frozenset(p) for p in first}
    assert len(again) == 16


def test_balanced_spreads_comparisons_over_takes() -> None:
    asked: list[tuple[str, str]] = []
    for _ in range(3):
        asked += next_pairs(IDS, 3, "balanced", asked=asked, seed=1)
    counts = Counter(i for p in asked for i in p)
    assert len(asked) == 9 and set(counts) == set(IDS)
    assert max(counts.values()) - min(counts.values()) <= 1


def test_active_prefers_informative_pairs_and_spreads_them(features) -> None:
    ids = sorted(features)
    rater = [Criterion(feature="f0_median_hz", kind="lower", weight=1.0)]
    labelled = []
    for a, b in next_pairs(ids, 8, "random", seed=5):
        if score(rater, features[a]) < score(rater, features[b]):
            a, b = b, a
        labelled.append(Comparison(preferred_id=a, rejected_id=b, rater="r"))
    fit = fit_rubric(labelled, features, prior=[])
    asked = [(c.preferred_id, c.rejected_id) for c in labelled]
    chosen = next_pairs(ids, 8, "active", asked=asked, fit=fit, features=features, seed=0)
    assert len(chosen) == 8
    assert not {frozenset(p) for p in chosen} & {frozenset(p) for p in asked}
    everything = next_pairs(ids, 10_000, "sequential", asked=asked)
    values = dict(zip(everything, information(fit, features, everything), strict=True))
    assert np.mean([values[p] for p in chosen]) > np.quantile(list(values.values()), 0.75)
    assert max(Counter(i for p in chosen for i in p).values()) <= 2
    assert chosen == next_pairs(ids, 8, "active", asked=asked, fit=fit, features=features, seed=0)


def test_information_is_zero_for_identical_takes(features) -> None:
    fit = fit_rubric([], features, prior=[])
    some = sorted(features)[0]
    twin = {**features, "twin": features[some]}
    assert information(fit, twin, [(some, "twin")])[0] == pytest.approx(0.0, abs=1e-9)


def test_bad_requests_are_clear_errors(features) -> None:
    with pytest.raises(PairingError, match="Unknown strategy"):
        next_pairs(IDS, 1, "clever")  # type: ignore[arg-type]
    with pytest.raises(PairingError, match="needs the current fit"):
        next_pairs(IDS, 1, "active")
