"""Alignment benchmark: held-out agreement with a simulated rater's noise-free choice against
the number of labels, active versus random pair choice, on tastes drawn at random and on the
bundled profiles, on the bundled voices and on a 200-voice synthesized set.

Every run is `voicejudge.simulate_rounds`: the split, pair choice, answers, learning, rewrite
and held-out scoring of `voicejudge rounds`, without the trace store. Prints JSON on stdout
and writes the curves as a PNG.

    python scripts/bench_alignment.py [--profiles random:40,bundled] [--labels 8,16,32,64]
        [--strategies active,random] [--sets bundled,synth200] [--png bench-alignment.png]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from voicejudge import (
    BUNDLED_VOICES,
    LoopConfig,
    RaterProfile,
    SampleSet,
    load_brief,
    load_rater_profile,
    load_sample_set,
    random_profile,
    simulate_rounds,
)
from voicejudge.audio.features import FeatureCache
from voicejudge.labels.simulated_raters import bundled_profiles
from voicejudge.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
PAIRS_PER_ROUND = 8
HELDOUT = {"bundled": 12, "synth200": 24}
BUNDLED_SEEDS = 5


def profile_runs(spec: str) -> list[tuple[str, RaterProfile, int]]:
    """(group, profile, run seed) for a spec: `random:N` (N drawn tastes, each with its own
    split seed), `bundled` (every bundled profile at seeds 0..4) or one profile name."""
    if spec.startswith("random:"):
        count = int(spec.removeprefix("random:"))
        return [(spec, random_profile(seed), seed) for seed in range(count)]
    if spec == "bundled":
        return [
            (profile.name, profile, seed)
            for profile in (load_rater_profile(path) for path in bundled_profiles())
            for seed in range(BUNDLED_SEEDS)
        ]
    profile = load_rater_profile(spec)
    return [(profile.name, profile, seed) for seed in range(BUNDLED_SEEDS)]


def run_curve(
    samples: SampleSet,
    profile: RaterProfile,
    seed: int,
    strategy: str,
    labels: list[int],
    heldout: int,
    brief: str,
    cache: FeatureCache,
) -> dict[int, float]:
    """Agreement with the noise-free choice at each label count (0: the starting prompt)."""
    config = LoopConfig(
        sample_set=samples.name,
        rater=profile,
        brief=brief,
        pairs_per_round=PAIRS_PER_ROUND,
        strategy=strategy,  # type: ignore[arg-type]
        heldout=heldout,
        seed=seed,
    )
    rounds = simulate_rounds(config, max(labels) // PAIRS_PER_ROUND, samples, cache)
    wanted = {0, *labels}
    return {r.labels: float(r.agreement_true or 0.0) for r in rounds if r.labels in wanted}


def stats(values: list[float]) -> dict[str, float]:
    return {
        "mean": round(statistics.fmean(values), 4),
        "p10": round(float(np.percentile(values, 10)), 4),
        "min": round(min(values), 4),
        "runs": len(values),
    }


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default="random:40,bundled", help="comma-separated specs")
    parser.add_argument("--labels", default="8,16,32,64", help="label counts to report")
    parser.add_argument("--strategies", default="active,random")
    parser.add_argument("--sets", default="bundled,synth200", help="bundled and/or synth200")
    parser.add_argument("--brief", type=Path, help="brief the runs start from (default: bundled)")
    parser.add_argument("--png", type=Path, default=Path("bench-alignment.png"))
    args = parser.parse_args()
    labels = sorted(int(n) for n in args.labels.split(","))
    if any(n % PAIRS_PER_ROUND for n in labels):
        parser.error(f"label counts must be multiples of {PAIRS_PER_ROUND}")
    strategies = args.strategies.split(",")
    brief = load_brief(args.brief).text
    cache = FeatureCache(load_settings().feature_cache)
    sets: dict[str, SampleSet] = {}
    for name in args.sets.split(","):
        if name == "bundled":
            sets[name] = load_sample_set(BUNDLED_VOICES, name="bundled")
        elif name == "synth200":
            folder = synthesized_set(200, load_settings().home / "bench" / "voices-200")
            sets[name] = load_sample_set(folder, name="synth200")
        else:
            parser.error(f"unknown set {name!r}")
    runs = [run for spec in args.profiles.split(",") for run in profile_runs(spec)]
    started = time.perf_counter()
    curves: dict[str, dict[str, dict[str, list[float]]]] = {}
    default_seed: dict[str, dict[str, float]] = {}
    for set_name, samples in sets.items():
        for sample in samples:
            cache.features(sample.clip())
        for group, profile, seed in runs:
            for strategy in strategies:
                curve = run_curve(
                    samples, profile, seed, strategy, labels, HELDOUT[set_name], brief, cache
                )
                key = f"{set_name}/{group}/{strategy}"
                for n, value in curve.items():
                    curves.setdefault(key, {}).setdefault(str(n), []).append(value)
                if seed == 0 and not group.startswith("random:"):
                    default_seed[key] = {str(n): round(v, 4) for n, v in curve.items()}
    report = {
        "label_points": [0, *labels],
        "pairs_per_round": PAIRS_PER_ROUND,
        "curves": {
            key: {n: stats(values) for n, values in by_label.items()}
            for key, by_label in curves.items()
        },
        "default_seed": default_seed,
    }
    report["acceptance"] = acceptance(report["curves"], default_seed)
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["png"] = str(plot(report, args.png))
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def acceptance(curves: dict, default_seed: dict) -> dict:
    """The issue's figures: random tastes after 4 rounds of 8 active pairs on the bundled
    voices, active against random at 16 and 32 labels, bundled profiles at the default seed."""
    found: dict = {
        f"{key.removesuffix('/active')} at the default seed, 4x8 active": curve["32"]
        for key, curve in sorted(default_seed.items())
        if key.startswith("bundled/") and key.endswith("/active") and "32" in curve
    }
    random_keys = sorted(
        key for key in curves if key.startswith("bundled/random:") and key.endswith("/active")
    )
    for key in random_keys:
        if "32" in curves[key]:
            found[key.removesuffix("/active") + " 4x8 active"] = curves[key]["32"]
        other = key.removesuffix("/active") + "/random"
        if other in curves:
            for n in ("16", "32"):
                if n not in curves[key]:
                    continue
                found[f"{key.removesuffix('/active')} active-random at {n}"] = round(
                    curves[key][n]["mean"] - curves[other][n]["mean"], 4
                )
    return found


def plot(report: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = sorted({key.rsplit("/", 1)[0] for key in report["curves"]})
    columns = min(3, len(panels))
    rows = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3.2 * rows), squeeze=False)
    points = report["label_points"]
    for axis, panel in zip(axes.flat, panels, strict=False):
        for strategy in ("active", "random"):
            key = f"{panel}/{strategy}"
            if key not in report["curves"]:
                continue
            means = [report["curves"][key][str(n)]["mean"] for n in points]
            p10 = [report["curves"][key][str(n)]["p10"] for n in points]
            (line,) = axis.plot(points, means, "o-", label=f"{strategy} (mean)")
            axis.plot(points, p10, ":", color=line.get_color(), label=f"{strategy} (p10)")
        axis.set_xticks(points)
        axis.set_ylim(0.3, 1.0)
        axis.set_title(panel)
        axis.set_xlabel("labels")
        axis.set_ylabel("agreement (noise-free)")
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right", fontsize="x-small")
    for axis in list(axes.flat)[len(panels) :]:
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


if __name__ == "__main__":
    sys.exit(main())
