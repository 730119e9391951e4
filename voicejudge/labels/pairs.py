"""Which pairs of takes to ask about next: sequential, random, balanced or active.

Active selection asks where a comparison is expected to teach the current fit the most (the
mutual information between the answer and the taste, under the fit's mixture of models),
spreading a batch over different takes.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import numpy as np

from voicejudge.audio.features import Features
from voicejudge.errors import VoiceJudgeError
from voicejudge.learning.preference_fit import Fit

Strategy = Literal["sequential", "random", "balanced", "active"]
Pair = tuple[str, str]
STRATEGIES: tuple[Strategy, ...] = ("sequential", "random", "balanced", "active")
# A take already in this batch makes its other pairs worth this much less.
_REPEAT_DISCOUNT = 0.5
_BALD_C = math.sqrt(math.pi * math.log(2) / 2)


class PairingError(VoiceJudgeError):
    """Pairs cannot be chosen as asked."""


def next_pairs(
    sample_ids: Sequence[str],
    count: int,
    strategy: Strategy,
    *,
    asked: Iterable[Pair] = (),
    seed: int = 0,
    fit: Fit | None = None,
    features: Mapping[str, Features] | None = None,
) -> list[Pair]:
    """Up to `count` pairs not asked before (in either order), chosen by `strategy`."""
    if strategy not in STRATEGIES:
        raise PairingError(f"Unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}.")
    done = {frozenset(pair) for pair in asked}
    ids = list(dict.fromkeys(sample_ids))
    fresh = [p for p in _round_robin(ids) if frozenset(p) not in done]
    if strategy == "sequential":
        return fresh[:count]
    rng = random.Random(seed)
    if strategy == "random":
        return rng.sample(fresh, min(count, len(fresh)))
    if strategy == "balanced":
        return _balanced(fresh, count, asked_counts(done), rng)
    if fit is None or features is None:
        raise PairingError("Active selection needs the current fit and the samples' features.")
    return _active(fresh, count, fit, features, rng)


def extra_takes(
    pair: Pair,
    sample_ids: Sequence[str],
    count: int,
    *,
    asked: Iterable[Pair] = (),
    seed: int = 0,
    fit: Fit | None = None,
    features: Mapping[str, Features] | None = None,
) -> list[str]:
    """Up to `count` more takes for a page that shows `pair`, chosen as the pair was: with a
    fit, those whose comparisons with the page's takes teach it the most; else the takes
    compared least so far. Ties fall to a seeded shuffle, never to the order of the set."""
    rng = random.Random(seed)
    candidates = [i for i in dict.fromkeys(sample_ids) if i not in pair]
    rng.shuffle(candidates)
    counts = asked_counts({frozenset(p) for p in asked})
    page = list(pair)
    while candidates and len(page) < len(pair) + count:
        if fit is not None and features is not None:
            gains = [
                float(information(fit, features, [(c, shown) for shown in page]).sum())
                for c in candidates
            ]
            best = candidates[int(np.argmax(gains))]
        else:
            best = min(candidates, key=lambda c: counts[c])
        page.append(best)
        candidates.remove(best)
    return page[len(pair) :]


def asked_counts(done: Iterable[frozenset[str]]) -> Counter[str]:
    """How often each take has been compared."""
    return Counter(sample_id for pair in done for sample_id in pair)


def information(fit: Fit, features: Mapping[str, Features], pairs: Sequence[Pair]) -> np.ndarray:
    """Expected information (bits) each pair's answer gives about the listener's taste: the
    BALD mutual information under the fit's mixture of models (probit approximation of the
    logistic likelihood)."""
    if not pairs:
        return np.zeros(0)
    weights, means, variances = fit.choice_moments(pairs, features)
    variances = np.maximum(variances, 1e-12)
    predictive = 1 / (1 + np.exp(-means / np.sqrt(1 + math.pi * variances / 8)))
    expected_entropy = (
        _BALD_C
        / np.sqrt(variances + _BALD_C**2)
        * np.exp(-(means**2) / (2 * (variances + _BALD_C**2)))
    )
    return _entropy(weights @ predictive) - weights @ expected_entropy


def _active(
    fresh: list[Pair], count: int, fit: Fit, features: Mapping[str, Features], rng: random.Random
) -> list[Pair]:
    if not fresh:
        return []
    missing = sorted({i for pair in fresh for i in pair} - set(features))
    if missing:
        raise PairingError(f"No features for {', '.join(missing)}.")
    value = dict(zip(fresh, information(fit, features, fresh), strict=True))
    chosen: list[Pair] = []
    used: Counter[str] = Counter()
    candidates = list(fresh)
    rng.shuffle(candidates)  # equal values: a seeded, not an alphabetical, choice
    while candidates and len(chosen) < count:
        best = max(
            candidates,
            key=lambda p: value[p] * _REPEAT_DISCOUNT ** (used[p[0]] + used[p[1]]),
        )
        chosen.append(best)
        used.update(best)
        candidates.remove(best)
    return chosen


def _balanced(
    fresh: list[Pair], count: int, counts: Counter[str], rng: random.Random
) -> list[Pair]:
    chosen: list[Pair] = []
    counts = Counter(counts)
    candidates = list(fresh)
    rng.shuffle(candidates)
    while candidates and len(chosen) < count:
        best = min(
            candidates, key=lambda p: (counts[p[0]] + counts[p[1]], max(counts[p[0]], counts[p[1]]))
        )
        chosen.append(best)
        counts.update(best)
        candidates.remove(best)
    return chosen


def _round_robin(ids: list[str]) -> list[Pair]:
    """Every pair once, ordered in rounds where each take appears at most once (circle method)."""
    players = ids + ([None] if len(ids) % 2 else [])
    n = len(players)
    pairs: list[Pair] = []
    for _ in range(n - 1):
        for i in range(n // 2):
            a, b = players[i], players[n - 1 - i]
            if a is not None and b is not None:
                pairs.append((a, b))
        players = [players[0], players[-1], *players[1:-1]]
    assert len(pairs) == len(list(itertools.combinations(ids, 2)))
    return pairs


def _entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
