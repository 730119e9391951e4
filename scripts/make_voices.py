"""Synthesize a set of voice clips with espeak-ng and sox, plus a manifest of every parameter.

    python scripts/make_voices.py --count 40 --seed 7 --out assets/voices

Deterministic for a seed: re-running writes identical files.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

from voicejudge.audio.synth import SynthesisError, random_recipes, synthesize_many


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--count", type=int, default=40, help="number of clips (default 40)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--format", choices=["flac", "wav"], default="flac")
    parser.add_argument("--prefix", default="voice", help="clip id prefix (default voice)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel synthesis jobs")
    args = parser.parse_args()

    recipes = random_recipes(args.count, args.seed, prefix=args.prefix)
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    # Build everything in a scratch folder first: a failure leaves --out as it was.
    with tempfile.TemporaryDirectory(prefix=".voices-", dir=args.out) as scratch_dir:
        scratch = Path(scratch_dir)
        try:
            synthesize_many(recipes, scratch, suffix=f".{args.format}", jobs=args.jobs)
        except SynthesisError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        rows = [
            {
                "id": r.id,
                "file": f"{r.id}.{args.format}",
                "instructions": r.instructions(),
                **r.model_dump(exclude={"id"}),
            }
            for r in recipes
        ]
        with (scratch / "manifest.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        with (scratch / "manifest.jsonl").open("w") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in rows)
        for made in scratch.iterdir():
            made.replace(args.out / made.name)
    elapsed = time.perf_counter() - started
    print(f"wrote {len(rows)} clips and manifests to {args.out} in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
