"""Benchmark the ranking app: time from submitting a ranking to it being readable in the store.

Four clients rank at once (25 comparisons each) through Gradio's HTTP call API
(`/gradio_api/call/<endpoint>`, what a browser-less client uses), and a separate store
connection polls for each feedback id. gradio_client adds about 60 ms of its own per call on
top; it is not the app's latency. Prints JSON; target p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
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
    args = parser.parse_args()
    os.environ["VOICEJUDGE_HOME"] = tempfile.mkdtemp(prefix="voicejudge-bench-app-")

    import httpx

    from voicejudge import LocalTraceServer, close_tracking, init_tracking, load_sample_set
    from voicejudge.desk import RankingDesk
    from voicejudge.ranker_app import launch

    client = init_tracking(project="bench-app", backend="local")
    desk = RankingDesk(load_sample_set(ROOT / "assets" / "voices"), client=client)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = launch(desk, port=port)
    url = app.url
    reader = LocalTraceServer(client.server.path)
    latencies: list[float] = []
    lock = threading.Lock()

    def persisted(feedback_id: str) -> bool:
        query = {"$expr": {"$eq": [{"$getField": "id"}, {"$literal": feedback_id}]}}
        rows = reader.feedback_query({"project_id": client.project_id, "query": query}).result
        return bool(rows)

    def rate(rater: str) -> None:
        session = httpx.Client(base_url=url.rstrip("/"), timeout=60)
        for _ in range(args.rankings):
            comparison = _call(session, "next_comparison", [rater])
            started = time.perf_counter()
            feedback_id = _call(
                session,
                "submit_ranking",
                [rater, comparison["call_id"], ["B", "A"], False, "", [], None],
            )
            while not persisted(feedback_id):
                time.sleep(0.001)
            with lock:
                latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=rate, args=(f"rater-{i}",)) for i in range(args.clients)]
    wall = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - wall
    app.close()
    close_tracking()
    ms = sorted(x * 1000 for x in latencies)
    print(
        json.dumps(
            {
                "clients": args.clients,
                "rankings": len(ms),
                "p50_ms": round(statistics.median(ms), 1),
                "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1),
                "max_ms": round(ms[-1], 1),
                "wall_s": round(wall, 2),
                "target_p95_ms": 100,
            },
            indent=2,
        )
    )


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
