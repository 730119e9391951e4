"""Labelled pairs from a hidden rubric, for tests of learning and pair selection."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voicejudge.audio.features import Features
from voicejudge.learning.comparison import Comparison
from voicejudge.learning.rubric import Criterion, score


def labelled_pairs(
    features: dict[str, Features],
    rater: Sequence[Criterion],
    count: int,
    seed: int = 0,
    flip_rate: float = 0.0,
) -> list[Comparison]:
    """`count` random pairs, each answered by the rubric and flipped with `flip_rate`."""
    rng = np.random.default_rng(seed)
    ids = sorted(features)
    pairs = []
    for index in range(count):
        a, b = rng.choice(ids, size=2, replace=False)
        if score(rater, features[a]) < score(rater, features[b]):
            a, b = b, a
        if rng.random() < flip_rate:
            a, b = b, a
        pairs.append(Comparison(preferred_id=a, rejected_id=b, rater="sim", call_id=f"c{index}"))
    return pairs
