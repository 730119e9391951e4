"""Real listeners: how well the offline learner predicts each listener of a MUSHRA listening
test on signals it did not learn from, beside the human ceiling.

A folder in the layout of `tests/data/codec-mushra` (`ratings_formated_filtered.csv` with
signal, condition, ratings, participant_ids and file; audio under `audio/`). Scores are only
comparable within a signal, so pairs are within-signal: A over B when a listener scored A
higher (ties dropped). Per listener, the learner that `voicejudge rounds` uses learns from the
training signals' pairs, the analyzer turns its patterns into the judge's criteria, and the
criteria's scores are checked against that listener's pairs on the test signals. Three ways to
pool the panel are compared: `per_listener` (each listener's own pairs), `pooled` (one judge
from everyone's pairs) and `hierarchical` (everyone's rubric as each listener's prior, moved
by their own pairs), beside the `ceiling` (the mean score of the other listeners). Prints one
JSON object.

    python scripts/bench_listeners.py --train DIR [--test DIR | --test-half first]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from voicejudge import (
    Comparison,
    Criterion,
    JudgePrompt,
    JudgePromptAnalyzer,
    PreferenceLearner,
    SampleSet,
    VoiceSample,
    score,
)
from voicejudge.audio.features import FeatureCache, Features
from voicejudge.settings import load_settings

RATINGS = "ratings_formated_filtered.csv"
# listener -> signal -> sample id -> score
Scores = dict[str, dict[str, dict[str, float]]]


def read_test(folder: Path) -> tuple[Scores, SampleSet]:
    """Every listener's scores per signal, and the takes (rows without audio are skipped)."""
    scores: Scores = defaultdict(lambda: defaultdict(dict))
    samples = []
    with (folder / RATINGS).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if not row["file"]:
                continue
            sample_id = f"{folder.name}/{row['file']}"
            samples.append(VoiceSample(id=sample_id, audio=folder / "audio" / row["file"]))
            ratings = json.loads(row["ratings"])
            listeners = json.loads(row["participant_ids"])
            for listener, value in zip(listeners, ratings, strict=True):
                scores[str(listener)][row["signal"]][sample_id] = float(value)
    return scores, SampleSet(name=folder.name, samples=samples)


def pairs_of(scores: dict[str, dict[str, float]], signals: set[str]) -> list[Comparison]:
    """Within-signal preferences (ties dropped)."""
    found = []
    for signal in sorted(signals & set(scores)):
        for a, b in itertools.combinations(sorted(scores[signal]), 2):
            sa, sb = scores[signal][a], scores[signal][b]
            if sa != sb:
                better, worse = (a, b) if sa > sb else (b, a)
                found.append(Comparison(preferred_id=better, rejected_id=worse, rater="listener"))
    return found


def agreement(ranks: dict[str, float], pairs: list[Comparison]) -> float:
    """Share of pairs the scores order like the listener (a tie counts one half)."""
    total = 0.0
    for pair in pairs:
        a, b = ranks[pair.preferred_id], ranks[pair.rejected_id]
        total += 1.0 if a > b else 0.5 if a == b else 0.0
    return total / len(pairs)


def learned_criteria(
    comparisons: list[Comparison], samples: SampleSet, prior: list[Criterion] | None = None
) -> list[Criterion]:
    """The offline judge's criteria after learning from `comparisons`: the learner and
    analyzer of `voicejudge rounds`, from a brief that states nothing, or around `prior`."""
    start = JudgePrompt(text="Prefer the takes this listener prefers.", criteria=[])
    patterns = PreferenceLearner(model="acoustic", prior=prior or []).update(comparisons, samples)
    return JudgePromptAnalyzer(model="acoustic").rewrite(start, patterns).prompt.criteria


def scores_by(criteria: list[Criterion], features: dict[str, Features]) -> dict[str, float]:
    return {sample_id: score(criteria, f) for sample_id, f in features.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, required=True, help="listening-test folder")
    parser.add_argument("--test", type=Path, help="another folder (default: half the signals)")
    parser.add_argument(
        "--test-half",
        choices=("second", "first"),
        default="second",
        help="without --test: which half of the sorted signals is held out (default: second)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    train_scores, train_set = read_test(args.train)
    if args.test is None:
        signals = sorted({s for by_signal in train_scores.values() for s in by_signal})
        first, second = set(signals[: len(signals) // 2]), set(signals[len(signals) // 2 :])
        train_signals, test_signals = (
            (first, second) if args.test_half == "second" else (second, first)
        )
        test_scores, samples = train_scores, train_set
    else:
        test_scores, test_set = read_test(args.test)
        train_signals = {s for by_signal in train_scores.values() for s in by_signal}
        test_signals = {s for by_signal in test_scores.values() for s in by_signal}
        samples = SampleSet(name="train+test", samples=[*train_set, *test_set])
    cache = FeatureCache(load_settings().feature_cache)
    features = {sample.id: cache.features(sample.clip()) for sample in samples}
    listeners = sorted(set(train_scores) & set(test_scores))
    per_listener, ceiling, pooled_rows, hierarchical_rows = [], [], [], []
    pooled_train = [c for who in train_scores for c in pairs_of(train_scores[who], train_signals)]
    group = learned_criteria(pooled_train, samples)
    pooled = scores_by(group, features)
    for listener in listeners:
        train = pairs_of(train_scores[listener], train_signals)
        test = pairs_of(test_scores[listener], test_signals)
        if not train or not test:
            continue
        per_listener.append(agreement(scores_by(learned_criteria(train, samples), features), test))
        pooled_rows.append(agreement(pooled, test))
        # the group's rubric as this listener's prior: their own answers move it only as far
        # as they bear out (the fit's wide prior around stated terms)
        own = learned_criteria(train, samples, prior=group)
        hierarchical_rows.append(agreement(scores_by(own, features), test))
        others = [who for who in test_scores if who != listener]
        consensus: dict[str, float] = {}
        for signal in test_signals:
            for sample_id in test_scores[listener].get(signal, {}):
                values = [
                    test_scores[who][signal][sample_id]
                    for who in others
                    if sample_id in test_scores[who].get(signal, {})
                ]
                consensus[sample_id] = statistics.fmean(values) if values else 0.0
        ceiling.append(agreement(consensus, test))
    report = {
        "per_listener": round(statistics.fmean(per_listener), 4),
        "per_listener_worst": round(min(per_listener), 4),
        "pooled": round(statistics.fmean(pooled_rows), 4),
        "pooled_worst": round(min(pooled_rows), 4),
        "hierarchical": round(statistics.fmean(hierarchical_rows), 4),
        "hierarchical_worst": round(min(hierarchical_rows), 4),
        "ceiling": round(statistics.fmean(ceiling), 4),
        "listeners": len(per_listener),
        "train_signals": sorted(train_signals),
        "test_signals": sorted(test_signals),
        "seconds": round(time.perf_counter() - started, 1),
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
