"""Real listeners: a judge aligned to a MUSHRA panel, scored on signals it did not learn from,
beside the human ceiling; the three ways of pooling the panel compared.

Runs what a user runs, in a fresh store: `voicejudge import mushra FILE --audio DIR`, then
`voicejudge rounds --set STUDY --raters all --pool P --rounds 1 --heldout H --seed S` for each
pool (`per-rater`, `pooled`, `hierarchical`) and split seed. Held out: whole signals, about
`--heldout-share` of the takes. Per pool: agreement with the listeners' own held-out
judgements, agreement with the others' consensus, and the human ceiling (how often a listener
sides with the others' majority on the same judgements), as the mean and worst over seeds.
Prints one JSON object.

    python scripts/bench_listeners.py --data tests/data/codec-mushra [--seeds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

POOLS = ("per-rater", "pooled", "hierarchical")


def _cli(*command: str) -> None:
    from voicejudge.app.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        code = main(list(command))
    if code != 0:
        raise SystemExit(f"voicejudge {' '.join(command)} failed ({code})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a listening-test folder")
    parser.add_argument(
        "--file", default="ratings_formated_filtered.csv", help="the ratings file in it"
    )
    parser.add_argument("--seeds", type=int, default=3, help="held-out splits (default: 3)")
    parser.add_argument(
        "--heldout-share", type=float, default=0.5, help="share of takes held out (default: 0.5)"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    home = tempfile.mkdtemp(prefix="bench-listeners-")
    os.environ["VOICEJUDGE_HOME"] = home
    study = "listening-test"
    _cli(
        "import",
        "mushra",
        str(args.data / args.file),
        "--audio",
        str(args.data / "audio"),
        "--set",
        study,
    )
    from voicejudge.loop.panel_labels import study_labels, units_of
    from voicejudge.tracking import close_tracking, init_tracking

    labels = study_labels(init_tracking(), study)
    takes = sum(len(unit) for unit in units_of(labels))
    close_tracking()
    heldout = max(3, round(args.heldout_share * takes))
    figures: dict[str, dict[str, list[float]]] = {
        pool: {"agreement": [], "consensus": [], "ceiling": [], "seconds": []} for pool in POOLS
    }
    for seed in range(args.seeds):
        for pool in POOLS:
            out = Path(home) / f"{pool}-{seed}.json"
            begun = time.perf_counter()
            _cli(
                "rounds",
                "--set",
                study,
                "--raters",
                "all",
                "--pool",
                pool,
                "--rounds",
                "1",
                "--heldout",
                str(heldout),
                "--seed",
                str(seed),
                "--json",
                str(out),
            )
            last = json.loads(out.read_text())["rounds"][-1]
            figures[pool]["agreement"].append(last["agreement"])
            figures[pool]["consensus"].append(last["consensus_agreement"])
            figures[pool]["ceiling"].append(last["human_ceiling"])
            figures[pool]["seconds"].append(time.perf_counter() - begun)
    report: dict[str, object] = {
        "listeners": len(labels.raters),
        "takes": takes,
        "heldout_takes": heldout,
        "seeds": args.seeds,
    }
    for pool, values in figures.items():
        report[pool] = {
            "agreement": round(statistics.fmean(values["agreement"]), 4),
            "agreement_worst": round(min(values["agreement"]), 4),
            "with_consensus": round(statistics.fmean(values["consensus"]), 4),
            "with_consensus_worst": round(min(values["consensus"]), 4),
            "seconds_per_run": round(statistics.fmean(values["seconds"]), 1),
        }
    report["human_ceiling"] = round(statistics.fmean(figures["pooled"]["ceiling"]), 4)
    report["human_ceiling_worst"] = round(min(figures["pooled"]["ceiling"]), 4)
    report["seconds"] = round(time.perf_counter() - started, 1)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
