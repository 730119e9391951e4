"""A loopback stand-in for the Gemini REST API (`models/<model>:generateContent`).

Each request is answered by the next scripted responder, or by the default one; every request
is recorded so tests can check what the real google-genai client sent.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.loopback import serving

Responder = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]
_ROUTE = re.compile(r"^/v1(beta)?/models/(?P<model>[^:/]+):generateContent$")


def reply(data: Any) -> tuple[int, dict[str, Any]]:
    """A successful answer whose text is `data` (JSON-encoded unless it is a string)."""
    text = data if isinstance(data, str) else json.dumps(data)
    return 200, {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}
        ],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5},
    }


def error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    names = {
        400: "INVALID_ARGUMENT",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
    }
    return status, {"error": {"code": status, "message": message, "status": names.get(status, "")}}


def blocked(reason: str = "SAFETY") -> tuple[int, dict[str, Any]]:
    return 200, {"promptFeedback": {"blockReason": reason}}


def labels_in(request: dict[str, Any]) -> list[str]:
    """The take labels in the order the request introduced them ("Take A:", ...)."""
    texts = [p.get("text", "") for c in request["contents"] for p in c["parts"]]
    return [m.group(1) for t in texts if (m := re.fullmatch(r"Take ([A-Z]):", t))]


def first_take_wins(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A maximally position-biased judge: whatever comes first is best."""
    return reply({"thinking": "the first one", "ranking": labels_in(request)})


class FakeGemini:
    """Serves on 127.0.0.1; `script` is consumed first, then `default` answers."""

    def __init__(
        self, default: Responder = first_take_wins, delay_s: float = 0.0, record: bool = True
    ) -> None:
        self.default = default
        self.delay_s = delay_s
        self.record = record
        self.script: list[Responder] = []
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.api_keys: set[str] = set()
        self.uploads: list[bytes] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"

    @contextmanager
    def running(self) -> Iterator[FakeGemini]:
        with serving(self._http):
            yield self

    def answer(self, path: str, body: dict[str, Any], key: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self.record:
                self.requests.append(body)
                self.paths.append(path)
                self.api_keys.add(key)
            responder = self.script.pop(0) if self.script else self.default
        if not _ROUTE.match(path.split("?")[0]):
            return 404, {
                "error": {"code": 404, "message": f"no route {path}", "status": "NOT_FOUND"}
            }
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            return responder(body)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as separate writes; with Nagle's algorithm on, a
            # keep-alive client would wait for a delayed ACK (about 40 ms) on every reply.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers: dict[str, str] = {}
                if self.path.startswith("/upload/"):  # Files API: start a resumable upload
                    status, payload = 200, {}
                    headers["x-goog-upload-url"] = f"{fake.url}/resumable/{len(fake.uploads)}"
                elif self.path.startswith("/resumable/"):  # Files API: the bytes, finalized
                    fake.uploads.append(raw)
                    name = f"files/upload-{len(fake.uploads)}"
                    uri = f"{fake.url}/v1beta/{name}"
                    file = {"name": name, "uri": uri, "mimeType": "audio/wav", "state": "ACTIVE"}
                    status, payload = 200, {"file": file}
                    headers["x-goog-upload-status"] = "final"
                else:
                    key = self.headers.get("x-goog-api-key", "")
                    # Without recording, a benchmark's fake spends no time parsing bodies.
                    body = json.loads(raw) if fake.record else {}
                    status, payload = fake.answer(self.path, body, key)
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in {**headers, "content-type": "application/json"}.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def serve_forever(delay_s: float) -> None:
    """Run a pairwise fake in this process and print its URL (for benchmarks)."""
    fake = FakeGemini(
        default=lambda r: reply({"thinking": "t", "ranking": ["B", "A"]}),
        delay_s=delay_s,
        record=False,
    )
    with fake.running():
        print(fake.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    import sys

    serve_forever(float(sys.argv[1]) if len(sys.argv) > 1 else 0.0)
