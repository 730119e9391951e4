"""Benchmark judging through the Gemini wire protocol; prints JSON.

A loopback fake of the Gemini API (tests/fake_gemini.py), in its own process as a remote
service would be, answers every request after 300 ms.
64 pairwise comparisons, each judged in both orders (128 requests), run at concurrency 8.
Target (issue 5): wall time <= 1.25 x the ideal 128 / 8 x 0.3 s = 4.8 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.3, help="seconds the fake waits")
    args = parser.parse_args()

    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_gemini", str(args.latency)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = server.stdout.readline().strip() if server.stdout else ""
    try:
        result = _run(args, url)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(json.dumps(result, indent=2))


def _run(args: argparse.Namespace, url: str) -> dict:
    requests = 0
    with tempfile.TemporaryDirectory(prefix="voicejudge-bench-") as home:
        os.environ.update(
            VOICEJUDGE_HOME=home,
            GOOGLE_GEMINI_BASE_URL=url,
            GEMINI_API_KEY="bench-key",
            VOICEJUDGE_GEMINI_CONCURRENCY=str(args.concurrency),
            VOICEJUDGE_GEMINI_CACHE="false",
        )
        from voicejudge import close_tracking, init_tracking, load_sample_set
        from voicejudge.audio.features import FeatureCache
        from voicejudge.judging.judge import SpeechJudge
        from voicejudge.prompting.judge_prompt import seed_prompt
        from voicejudge.settings import load_settings

        init_tracking(project="bench-judge", backend="local")
        samples = list(load_sample_set(ROOT / "assets" / "voices"))
        cache = FeatureCache(load_settings().feature_cache)
        for sample in samples:  # measured facts are cached once per clip, as in real use
            cache.features(sample.clip())
        pairs = [
            (samples[i % len(samples)], samples[(i * 7 + 3) % len(samples)])
            for i in range(args.pairs)
        ]
        pairs = [
            (a, b) if a.id != b.id else (a, samples[(samples.index(b) + 1) % len(samples)])
            for a, b in pairs
        ]
        judge = SpeechJudge(prompt=seed_prompt(), model="gemini:gemini-bench")

        async def run_all() -> list:
            return await asyncio.gather(*(judge.acompare(a, b) for a, b in pairs))

        # Warm up: imports, the HTTP client and its connections are made once per process.
        asyncio.run(judge.acompare(pairs[0][0], pairs[0][1]))

        started = time.perf_counter()
        verdicts = asyncio.run(run_all())
        wall = time.perf_counter() - started
        requests = sum(len(v.per_order) for v in verdicts)
        close_tracking()
    ideal = requests / args.concurrency * args.latency
    return {
        "comparisons": len(verdicts),
        "requests": requests,
        "concurrency": args.concurrency,
        "latency_s": args.latency,
        "wall_s": round(wall, 3),
        "ideal_s": round(ideal, 3),
        "ratio_to_ideal": round(wall / ideal, 3),
        "target_ratio": 1.25,
        "traced": True,
        "measured_facts_in_requests": True,
    }


if __name__ == "__main__":
    main()
