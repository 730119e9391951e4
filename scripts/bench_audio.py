"""Benchmark feature extraction on the bundled demo voices, on one core; prints JSON.

Target (issue 4): >= 150x realtime. Decoding is timed separately from analysis.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from voicejudge.audio import extract_features
from voicejudge.audio.sample_set import load_sample_set

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", type=Path, default=ROOT / "assets" / "voices")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    started = time.perf_counter()
    clips = [sample.clip() for sample in load_sample_set(args.set)]
    decode_s = time.perf_counter() - started
    audio_s = sum(clip.duration_s for clip in clips)
    for clip in clips[:3]:
        extract_features(clip)  # warm up
    runs = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        for clip in clips:
            extract_features(clip)
        runs.append(time.perf_counter() - started)
    analysis_s = statistics.median(runs)
    print(
        json.dumps(
            {
                "clips": len(clips),
                "audio_seconds": round(audio_s, 1),
                "decode_s": round(decode_s, 3),
                "features_s": round(analysis_s, 3),
                "ms_per_clip": round(analysis_s / len(clips) * 1000, 2),
                "x_realtime_one_core": round(audio_s / analysis_s, 1),
                "target_x_realtime": 150,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
