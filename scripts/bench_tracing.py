"""Benchmark the embedded trace store through the real weave client; prints JSON.

Targets: the store adds <= 50 us per traced call on top of weave's own cost, a persisted
traced call costs <= 1/45 of MLflow's local tracing of the same function (issue 14),
>= 5000 feedback writes/s, and `get_calls` of 10 000 calls filtered by op in <= 1 s (issue 3).
MLflow is measured only where it is installed (`pip install mlflow`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import logging
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from voicejudge.settings import offline_defaults

with offline_defaults():  # weave reads some of them when it is first imported
    import weave
from weave.trace.context.weave_client_context import set_weave_client_global
from weave.trace.serialization.digest import compute_file_digest, compute_object_digest
from weave.trace.weave_client import WeaveClient
from weave.vendor.weave_server_sdk.types import (
    CallStartResponse,
    FileCreateResponse,
    ObjectCreateResponse,
)

from voicejudge import LocalTraceServer
from voicejudge.tracking import local_client


class NullTraceServer:
    """Accepts what a traced call sends and stores nothing: weave's own client cost."""

    def call_start(self, req: dict[str, Any]) -> CallStartResponse:
        start = req["start"]
        return CallStartResponse(id=start["id"], trace_id=start["trace_id"])

    def call_end(self, req: dict[str, Any]) -> None:
        return None

    def obj_create(self, req: dict[str, Any]) -> ObjectCreateResponse:
        obj = req["obj"]
        return ObjectCreateResponse(
            digest=compute_object_digest(obj["val"]), object_id=obj["object_id"]
        )

    def file_create(self, req: dict[str, Any]) -> FileCreateResponse:
        return FileCreateResponse(digest=compute_file_digest(req["file"][1]))


def _client(server: Any, project: str = "bench") -> WeaveClient:
    """The client `init_tracking` builds, on `server`."""
    set_weave_client_global(None)
    client = local_client("local", project, server)
    set_weave_client_global(client)
    return client


def _traced_calls_us(server: Any, calls: int) -> float:
    client = _client(server)

    @weave.op
    def rank_audio(first: str, second: str, round_index: int) -> dict:
        return {"ranking": [second, first], "round": round_index}

    rank_audio("warm", "up", -1)
    client.flush()
    started = time.perf_counter()
    for index in range(calls):
        rank_audio("take-a", "take-b", index)
    client.flush()
    return (time.perf_counter() - started) / calls * 1e6


def _mlflow_tracing(folder: Path, calls: int) -> dict[str, Any]:
    """MLflow's local tracing of the same function, into its default local store (SQLite)."""
    if importlib.util.find_spec("mlflow") is None:
        return {"skipped": "mlflow is not installed (pip install mlflow)"}
    # Synchronous export: the asynchronous queue drops traces once it is full, so timing it
    # would count calls that were never stored; weave's figure is for persisted calls too.
    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    mlflow.set_experiment("bench")

    @mlflow.trace
    def rank_audio(first: str, second: str, round_index: int) -> dict:
        return {"ranking": [second, first], "round": round_index}

    rank_audio("warm", "up", -1)
    started = time.perf_counter()
    for index in range(calls):
        rank_audio("take-a", "take-b", index)
    elapsed = time.perf_counter() - started
    stored = len(mlflow.search_traces(max_results=calls + 10, return_type="list"))
    assert stored == calls + 1, stored
    return {"version": mlflow.__version__, "us_per_traced_call": round(elapsed / calls * 1e6, 1)}


def _feedback_per_s(server: LocalTraceServer, writes: int) -> float:
    client = _client(server)

    @weave.op
    def rank_audio(first: str, second: str) -> list[str]:
        return [second, first]

    _, call = rank_audio.call("a", "b")
    client.flush()
    started = time.perf_counter()
    for index in range(writes):
        call.feedback.add("voicejudge.ranking", {"ranking": ["b", "a"], "index": index})
    return writes / (time.perf_counter() - started)


def _get_calls_s(server: LocalTraceServer, per_op: int) -> float:
    client = _client(server, project="bench-query")
    now = dt.datetime.now(dt.UTC)
    ops = {name: f"weave:///local/bench-query/op/{name}:digest" for name in ("judge", "other")}
    for name, op_name in ops.items():
        for index in range(per_op):
            call_id, trace_id = str(uuid.uuid4()), str(uuid.uuid4())
            server.call_start(
                {
                    "start": {
                        "project_id": client.project_id,
                        "id": call_id,
                        "trace_id": trace_id,
                        "op_name": op_name,
                        "started_at": now,
                        "attributes": {},
                        "inputs": {"pair": [f"{name}-{index}", "b"], "round": index % 8},
                    }
                }
            )
            server.call_end(
                {
                    "end": {
                        "project_id": client.project_id,
                        "id": call_id,
                        "ended_at": now,
                        "output": {"winner": "b"},
                        "summary": {},
                    }
                }
            )
    server.flush()
    started = time.perf_counter()
    calls = list(client.get_calls(filter={"op_names": ["weave:///local/bench-query/op/judge:*"]}))
    elapsed = time.perf_counter() - started
    assert len(calls) == per_op, len(calls)
    return elapsed


def _dataset_s(path: Path, rows: int) -> tuple[float, float]:
    client = _client(LocalTraceServer(path), project="bench-data")
    dataset = weave.Dataset(
        rows=[
            {"id": f"voice-{i:05d}", "instructions": f"gravelly take number {i}", "pitch": i % 99}
            for i in range(rows)
        ]
    )
    started = time.perf_counter()
    ref = weave.publish(dataset, name="voices-5k")
    client.flush()
    publish_s = time.perf_counter() - started

    reader = _client(LocalTraceServer(path), project="bench-data")
    started = time.perf_counter()
    loaded = reader.get(ref)
    count = sum(1 for _ in loaded.rows)
    read_s = time.perf_counter() - started
    assert count == rows, count
    return publish_s, read_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=7)
    parser.add_argument("--feedback", type=int, default=5000)
    parser.add_argument("--query-calls", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="voicejudge-bench-") as folder:
        root = Path(folder)
        # Alternate the two so machine noise hits both alike; report medians, and the store's
        # overhead as the median of each trial's own difference (a slow stretch of a shared
        # machine then lands on both halves of a trial instead of on one median).
        null_runs, store_runs = [], []
        for trial in range(args.trials):
            null_runs.append(_traced_calls_us(NullTraceServer(), args.calls))
            store = LocalTraceServer(root / f"calls-{trial}.db")
            store_runs.append(_traced_calls_us(store, args.calls))
        null_us, store_us = statistics.median(null_runs), statistics.median(store_runs)
        overhead_us = statistics.median(s - n for n, s in zip(null_runs, store_runs, strict=True))
        feedback = _feedback_per_s(LocalTraceServer(root / "feedback.db"), args.feedback)
        query_s = _get_calls_s(LocalTraceServer(root / "query.db"), args.query_calls)
        publish_s, read_s = _dataset_s(root / "data.db", args.rows)
        set_weave_client_global(None)
        mlflow = _mlflow_tracing(root, args.calls)
    result = {
        "us_per_traced_call": round(store_us, 1),
        "us_per_call_null_server": round(null_us, 1),
        "store_overhead_us_per_call": round(overhead_us, 1),
        "feedback_per_s": round(feedback),
        "get_calls_10k_s": round(query_s, 3),
        "dataset_5k_publish_s": round(publish_s, 3),
        "dataset_5k_read_s": round(read_s, 3),
        "mlflow": mlflow,
        "mlflow_over_weave": (
            round(mlflow["us_per_traced_call"] / store_us, 1)
            if "us_per_traced_call" in mlflow
            else None
        ),
        "targets": {
            "store_overhead_us_per_call": 50,
            "mlflow_over_weave": 45,
            "feedback_per_s": 5000,
            "get_calls_10k_s": 1.0,
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
