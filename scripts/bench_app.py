"""Benchmark the ranking app: time from submitting a ranking to it being readable in the store.

Four clients rank at once (25 comparisons each, after one untimed warm-up ranking, in each of
three trials on fresh stores) through Gradio's HTTP call API (`/gradio_api/call/<endpoint>`,
what a browser-less client uses) against `voicejudge rank` running in its own process, and a
separate store connection polls for each feedback id. gradio_client adds about 60 ms of its
own per call on top; it is not the app's latency. Prints JSON: pooled p50/p95 and each
trial's p95; target p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rankings", type=int, default=25, help="per client")
    parser.add_argument("--trials", type=int, default=3, help="runs, each on a fresh store")
    args = parser.parse_args()
    trials = [_trial(args.clients, args.rankings, n) for n in range(args.trials)]
    ms = sorted(x for latencies, _ in trials for x in latencies)
    print(
        json.dumps(
            {
                "clients": args.clients,
                "rankings": len(ms),
                "p50_ms": round(statistics.median(ms), 1),
                "p95_ms": _p95(ms),
                "max_ms": round(ms[-1], 1),
                "trial_p95_ms": [_p95(sorted(latencies)) for latencies, _ in trials],
                "wall_s": [round(wall, 2) for _, wall in trials],
                "target_p95_ms": 100,
            },
            indent=2,
        )
    )


def _p95(ms: list[float]) -> float:
    return round(ms[int(0.95 * (len(ms) - 1))], 1)


def _trial(clients: int, rankings: int, number: int) -> tuple[list[float], float]:
    """Latencies (ms) of one run against `voicejudge rank` in its own process, and wall time."""
    import httpx

    from voicejudge import LocalTraceServer

    home = Path(tempfile.mkdtemp(prefix=f"voicejudge-bench-app-{number}-"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    voicejudge = Path(sys.executable).parent / "voicejudge"
    app = subprocess.Popen(
        [str(voicejudge), "rank", "--set", str(ROOT / "assets" / "voices"), "--port", str(port)],
        env={**os.environ, "VOICEJUDGE_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while True:
        if app.poll() is not None:
            raise RuntimeError("voicejudge rank did not start")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    reader = LocalTraceServer(home / "traces.db")
    project_id = "local/voicejudge"
    latencies: list[float] = []
    lock = threading.Lock()

    def persisted(feedback_id: str) -> bool:
        query = {"$expr": {"$eq": [{"$getField": "id"}, {"$literal": feedback_id}]}}
        rows = reader.feedback_query({"project_id": project_id, "query": query}).result
        return bool(rows)

    def rate(rater: str) -> None:
        session = httpx.Client(base_url=url.rstrip("/"), timeout=60)
        for turn in range(rankings + 1):
            comparison = _call(session, "next_comparison", [rater])
            started = time.perf_counter()
            feedback_id = _call(
                session,
                "submit_ranking",
                [rater, comparison["call_id"], ["B", "A"], False, "", [], None],
            )
            while not persisted(feedback_id):
                time.sleep(0.001)
            if turn:  # the first ranking warms the server up (imports on first use)
                with lock:
                    latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=rate, args=(f"rater-{i}",)) for i in range(clients)]
    wall = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - wall
    app.terminate()
    app.wait(timeout=60)
    reader.close()
    return [x * 1000 for x in latencies], wall


def _call(session: Any, endpoint: str, data: list[Any]) -> Any:
    """One call through Gradio's HTTP API: post the inputs, read the result event."""
    event = session.post(f"/gradio_api/call/{endpoint}", json={"data": data}).json()["event_id"]
    with session.stream("GET", f"/gradio_api/call/{endpoint}/{event}") as stream:
        kind = ""
        for line in stream.iter_lines():
            if line.startswith("event:"):
                kind = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                if kind == "error":
                    raise RuntimeError(f"{endpoint} failed: {line}")
                return json.loads(line.removeprefix("data:"))[0]
    raise RuntimeError(f"{endpoint} returned no result")


if __name__ == "__main__":
    sys.exit(main())
