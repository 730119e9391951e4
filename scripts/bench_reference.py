"""How much can a given number of answers tell about a random taste? References that are told
part of the answer, beside the learner itself, on the same pairs and answers.

For each taste drawn by `random_profile`, on the bundled voices with the split `voicejudge
rounds` uses, random pairs from a brief that states nothing:

- `learner`: `simulate_rounds` as it is (the learner must find features, kinds and limits);
- `known_features`: the same learner searching only the features the taste uses (the script
  narrows `voicejudge.learning.candidates.FEATURE_NAMES`, which is what this reference is told);
- `known_terms`: told every term (feature, kind, ideal value, gate limit), it fits only their
  weights from the same answers (a MAP logistic fit with the learner's lapse rate).

Prints mean, 10th percentile and minimum of agreement with the noise-free choice as JSON.

    python scripts/bench_reference.py [--profiles random:40] [--labels 32]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from bench_alignment import stats  # the same summary as the alignment benchmark
from scipy.optimize import minimize

import voicejudge.learning.candidates as candidates
from voicejudge import (
    BUNDLED_VOICES,
    LoopConfig,
    RaterProfile,
    SampleSet,
    load_sample_set,
    random_profile,
    simulate_rounds,
)
from voicejudge.audio.features import FeatureCache
from voicejudge.labels.simulated_raters import SimulatedRater
from voicejudge.learning.laplace import LAPSE_RATE
from voicejudge.learning.rubric import score
from voicejudge.loop.state import choose_pairs
from voicejudge.settings import load_settings

PAIRS_PER_ROUND = 8
HELDOUT = 12
SILENT_BRIEF = "A voice for a character."  # states nothing measurable: no prior


@contextmanager
def features_searched(names: list[str]) -> Iterator[None]:
    """The learner's candidate features narrowed to `names` for the duration."""
    everything = candidates.FEATURE_NAMES
    candidates.FEATURE_NAMES = names
    try:
        yield
    finally:
        candidates.FEATURE_NAMES = everything


def known_terms(config: LoopConfig, samples: SampleSet, cache: FeatureCache, labels: int) -> float:
    """Agreement of a fit told every term of the taste, from the run's own pairs and answers."""
    assert config.rater is not None
    rater = SimulatedRater(config.rater, samples, cache)
    pool, held = samples.split(config.heldout, seed=config.seed)
    run = config.run_id(samples.ids)
    unit = [c.model_copy(update={"weight": 1.0}) for c in rater.criteria]
    basis = {i: np.array([score([c], rater.features(i)) for c in unit]) for i in samples.ids}
    features = {i: rater.features(i) for i in samples.ids}
    asked: list[tuple[str, str]] = []
    for number in range(1, labels // config.pairs_per_round + 1):
        asked += choose_pairs(
            [], asked, number, run=run, strategy="random", count=config.pairs_per_round,
            pool=pool.ids, features=features, prior=[],
        )  # fmt: skip
    rows = []
    for pair in asked:
        preferred, rejected = rater.rank(list(pair))[:2]
        rows.append(basis[preferred] - basis[rejected])
    x = np.array(rows)
    lapse = LAPSE_RATE

    def loss(w: np.ndarray) -> float:
        chosen = lapse + (1 - 2 * lapse) / (1 + np.exp(-(x @ w)))
        return float(-np.log(chosen).sum() + 0.5 * w @ w / 4)

    w = minimize(loss, np.full(len(unit), 0.5)).x
    agreement = []
    for a, b in itertools.combinations(held.ids, 2):
        truth = rater.true_choice(a, b)
        if truth is None:
            continue
        margin = float((basis[a] - basis[b]) @ w)
        agreement.append(0.5 if margin == 0 else float((margin > 0) == (truth == a)))
    return statistics.fmean(agreement) if agreement else 0.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default="random:40", help="random:N (default random:40)")
    parser.add_argument("--labels", type=int, default=32, help="answers per taste (default 32)")
    args = parser.parse_args()
    if not args.profiles.startswith("random:") or args.labels % PAIRS_PER_ROUND:
        parser.error(f"give --profiles random:N and --labels a multiple of {PAIRS_PER_ROUND}")
    cache = FeatureCache(load_settings().feature_cache)
    samples = load_sample_set(BUNDLED_VOICES, name="bundled")
    started = time.perf_counter()
    found: dict[str, list[float]] = {"learner": [], "known_features": [], "known_terms": []}
    for seed in range(int(args.profiles.removeprefix("random:"))):
        profile: RaterProfile = random_profile(seed)
        config = LoopConfig(
            sample_set=samples.name, rater=profile, brief=SILENT_BRIEF, strategy="random",
            pairs_per_round=PAIRS_PER_ROUND, heldout=HELDOUT, seed=seed,
        )  # fmt: skip
        rounds = args.labels // PAIRS_PER_ROUND
        found["learner"].append(
            simulate_rounds(config, rounds, samples, cache)[-1].agreement_true or 0.0
        )
        with features_searched(sorted({t.feature for t in profile.terms})):
            last = simulate_rounds(config, rounds, samples, cache)[-1]
        found["known_features"].append(last.agreement_true or 0.0)
        found["known_terms"].append(known_terms(config, samples, cache, args.labels))
    report = {
        "labels": args.labels,
        "references": {name: stats(values) for name, values in found.items()},
        "seconds": round(time.perf_counter() - started, 1),
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
