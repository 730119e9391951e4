"""Alignment curves: held-out agreement against the number of labels, per pair-selection
strategy and bundled rater profile, on the bundled voices and on a 200-voice synthesized set.

Runs the loop's steps (pair choice, the simulated rater, learn, rewrite, judge, held-out
scoring) through the library without a trace store, so hundreds of runs take minutes. Prints
JSON on stdout and writes the curves as a PNG (default: bench-alignment.png).

    python scripts/bench_alignment.py [--seeds 5] [--png bench-alignment.png] [--skip-synth]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from voicejudge import (
    JudgePrompt,
    JudgePromptAnalyzer,
    PreferenceLearner,
    SampleSet,
    SpeechJudge,
    load_sample_set,
    seed_prompt,
)
from voicejudge.audio.features import FeatureCache
from voicejudge.evaluation import HeldOutPair, score_heldout
from voicejudge.pairs import next_pairs
from voicejudge.preference_fit import fit_rubric
from voicejudge.ranking import Comparison
from voicejudge.raters import RaterProfile, SimulatedRater, bundled_profiles, load_rater_profile
from voicejudge.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
LABEL_POINTS = (4, 8, 16, 32, 64)
STRATEGIES = ("sequential", "random", "active")


def simulate(
    samples: SampleSet,
    profile: RaterProfile,
    strategy: str,
    schedule: list[int],
    heldout: int,
    seed: int,
    cache: FeatureCache,
) -> list[dict]:
    """One run: ask pairs in batches reaching each label count of `schedule`; score after each."""
    pool, held = samples.split(heldout, seed=seed)
    rater = SimulatedRater(profile, samples, cache)
    start = seed_prompt()
    learner = PreferenceLearner(prior=start.criteria)
    analyzer = JudgePromptAnalyzer()
    features = {i: cache.features(samples.get(i).clip()) for i in pool.ids}
    rows = []
    for a, b in itertools.combinations(held.ids, 2):
        order = rater.rank([a, b])
        rows.append(
            HeldOutPair(first=a, second=b, label=order[0], true_choice=rater.true_choice(a, b))
        )
    prompt: JudgePrompt = start
    comparisons: list[Comparison] = []
    asked: list[tuple[str, str]] = []
    curve = []
    for step, target in enumerate(schedule):
        fit = fit_rubric(comparisons, features, start.criteria) if strategy == "active" else None
        pairs = next_pairs(
            pool.ids,
            target - len(asked),
            strategy,
            asked=asked,
            seed=seed * 1000 + step,
            fit=fit,
            features=features,
        )
        for a, b in pairs:
            order = rater.rank([a, b])
            comparisons.append(Comparison(preferred_id=order[0], rejected_id=order[1], rater="sim"))
            asked.append((a, b))
        patterns = learner.update(comparisons, samples)
        prompt = analyzer.rewrite(prompt, patterns).prompt
        scores = score_heldout(SpeechJudge(prompt=prompt), samples, rows, listwise=False)
        curve.append(
            {
                "labels": len(comparisons),
                "agreement": scores.agreement,
                "agreement_true": scores.agreement_true,
            }
        )
    return curve


def synthesized_set(count: int, folder: Path) -> Path:
    if not (folder / "manifest.jsonl").exists():
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts" / "make_voices.py"),
                "--count",
                str(count),
                "--seed",
                "1",
                "--out",
                str(folder),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return folder


def mean(values: list[float]) -> float:
    return round(statistics.fmean(values), 4)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="runs per configuration")
    parser.add_argument("--png", type=Path, default=Path("bench-alignment.png"))
    parser.add_argument("--skip-synth", action="store_true", help="only the bundled voices")
    args = parser.parse_args()
    cache = FeatureCache(load_settings().feature_cache)
    profiles = [load_rater_profile(path) for path in bundled_profiles()]
    sets = {"bundled": (load_sample_set(ROOT / "assets" / "voices"), 12)}
    if not args.skip_synth:
        folder = synthesized_set(200, load_settings().home / "bench" / "voices-200")
        sets["synth200"] = (load_sample_set(folder), 24)
    started = time.perf_counter()
    report: dict = {"label_points": list(LABEL_POINTS), "seeds": args.seeds, "curves": {}}
    for set_name, (samples, heldout) in sets.items():
        for sample in samples:
            cache.features(sample.clip())
        for profile in profiles:
            for strategy in STRATEGIES:
                runs = [
                    simulate(samples, profile, strategy, list(LABEL_POINTS), heldout, s, cache)
                    for s in range(args.seeds)
                ]
                report["curves"][f"{set_name}/{profile.name}/{strategy}"] = {
                    "agreement_true": [
                        mean([run[i]["agreement_true"] for run in runs])
                        for i in range(len(LABEL_POINTS))
                    ],
                    "agreement": [
                        mean([run[i]["agreement"] for run in runs])
                        for i in range(len(LABEL_POINTS))
                    ],
                }
    bundled, heldout = sets["bundled"]
    acceptance = {}
    for profile in profiles:
        runs = [
            simulate(bundled, profile, "active", [8, 16, 24, 32], heldout, s, cache)
            for s in range(args.seeds)
        ]
        finals = [run[-1]["agreement_true"] for run in runs]
        acceptance[profile.name] = {"mean": mean(finals), "min": min(finals), "runs": finals}
    report["four_rounds_of_8_active_bundled"] = acceptance
    at16 = LABEL_POINTS.index(16)
    report["at_16_labels_bundled"] = {
        strategy: mean(
            [
                report["curves"][f"bundled/{p.name}/{strategy}"]["agreement_true"][at16]
                for p in profiles
            ]
        )
        for strategy in STRATEGIES
    }
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["png"] = str(plot(report, args.png))
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def plot(report: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted(report["curves"])
    panels = sorted({key.rsplit("/", 1)[0] for key in keys})
    columns = 3
    rows = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3.2 * rows), squeeze=False)
    for axis, panel in zip(axes.flat, panels, strict=False):
        for strategy in STRATEGIES:
            values = report["curves"][f"{panel}/{strategy}"]["agreement_true"]
            axis.plot(report["label_points"], values, "o-", label=strategy)
        axis.set_xscale("log", base=2)
        axis.set_xticks(report["label_points"], [str(n) for n in report["label_points"]])
        axis.set_ylim(0.4, 1.0)
        axis.set_title(panel)
        axis.set_xlabel("labels")
        axis.set_ylabel("agreement (noise-free)")
        axis.legend(loc="lower right", fontsize="small")
    for axis in list(axes.flat)[len(panels) :]:
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


if __name__ == "__main__":
    sys.exit(main())
