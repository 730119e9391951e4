"""A loopback stand-in for hosted W&B Weave: the REST routes the remote client uses, on a store.

The real `weave.init` path (remote HTTP client, batching, auth headers, GraphQL project lookup)
runs unchanged against it; requests land in a `LocalTraceServer` the test can inspect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tests.loopback import serving
from voicejudge import LocalTraceServer

_JSON_ROUTES = {
    "obj/create": "obj_create",
    "obj/read": "obj_read",
    "objs/query": "objs_query",
    "table/create": "table_create",
    "table/update": "table_update",
    "table/query": "table_query",
    "table/query_stats": "table_query_stats",
    "refs/read_batch": "refs_read_batch",
    "feedback/create": "feedback_create",
    "feedback/query": "feedback_query",
    "feedback/purge": "feedback_purge",
    "calls/query_stats": "calls_query_stats",
    "call/update": "call_update",
    "calls/delete": "calls_delete",
}
_COMPLETE_CALLS = re.compile(r"^v2/[^/]+/[^/]+/calls/complete$")


class FakeHostedWeave:
    """Serves one entity's projects over HTTP on 127.0.0.1 and records each request path."""

    def __init__(self, store_path: Path, entity: str = "ann") -> None:
        self.store = LocalTraceServer(store_path)
        self.entity = entity
        self.requests: list[str] = []
        self.authorizations: set[str] = set()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"

    @contextmanager
    def running(self) -> Iterator[FakeHostedWeave]:
        try:
            with serving(self._http):
                yield self
        finally:
            self.store.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                self._dispatch(b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self._dispatch(self.rfile.read(length))

            def _dispatch(self, body: bytes) -> None:
                fake.requests.append(self.path)
                fake.authorizations.add(self.headers.get("authorization", ""))
                try:
                    status, payload, kind = fake.answer(self.path, body, self.headers)
                except Exception as exc:  # the client sees a server error, as it would hosted
                    status, payload, kind = 500, json.dumps({"reason": str(exc)}).encode(), "json"
                self.send_response(status)
                content_type = {
                    "json": "application/json",
                    "jsonl": "application/jsonl",
                    "bytes": "application/octet-stream",
                }[kind]
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler

    def answer(self, path: str, body: bytes, headers: Any) -> tuple[int, bytes, str]:
        path = path.split("?", 1)[0].strip("/")
        if path == "graphql":
            return 200, _json(self._graphql(json.loads(body))), "json"
        if not path.startswith("traces/"):
            return 404, _json({"reason": f"no route {path}"}), "json"
        route = path.removeprefix("traces/")
        if route == "server_info":
            return 200, _json(self.store.server_info()), "json"
        if route == "file/create":
            return 200, _json(self.store.file_create(_multipart(body, headers))), "json"
        request = json.loads(body) if body else {}
        if route == "file/content":
            return 200, self.store.file_content_read(request).content, "bytes"
        if route == "calls/stream_query":
            lines = [_json(call) for call in self.store.calls_query_stream(request)]
            return 200, b"\n".join(lines), "jsonl"
        if _COMPLETE_CALLS.match(route):
            for call in request["batch"]:
                self._store_complete_call(call)
            self.store.flush()
            return 200, b"{}", "json"
        if route in _JSON_ROUTES:
            return 200, _json(getattr(self.store, _JSON_ROUTES[route])(request)), "json"
        return 404, _json({"reason": f"no route {route}"}), "json"

    def _store_complete_call(self, call: dict[str, Any]) -> None:
        start_fields = [
            "project_id",
            "id",
            "trace_id",
            "op_name",
            "started_at",
            "display_name",
            "parent_id",
            "thread_id",
            "turn_id",
            "attributes",
            "inputs",
            "wb_run_id",
            "wb_run_step",
        ]
        end_fields = ["project_id", "id", "trace_id", "ended_at", "exception", "output", "summary"]
        self.store.call_start({"start": {k: call.get(k) for k in start_fields}})
        self.store.call_end({"end": {k: call.get(k) for k in end_fields}})

    def _graphql(self, request: dict[str, Any]) -> dict[str, Any]:
        query = request.get("query", "")
        variables = request.get("variables") or {}
        if "viewer" in query:
            return {
                "data": {
                    "viewer": {
                        "id": "viewer",
                        "username": self.entity,
                        "entity": self.entity,
                        "defaultEntity": {"name": self.entity},
                        "teams": {"edges": []},
                    }
                }
            }
        if "project(" in query:
            name = variables.get("name", "")
            entity = variables.get("entityName", self.entity)
            return {"data": {"project": {"id": name, "name": name, "entity": {"name": entity}}}}
        return {"errors": [{"message": "query not supported by the fake"}]}


def _json(value: Any) -> bytes:
    if isinstance(value, BaseModel):
        return value.model_dump_json().encode()
    if value is None:
        return b"{}"
    if hasattr(value, "__dataclass_fields__"):
        return json.dumps(value.__dict__, default=str).encode()
    return json.dumps(value, default=str).encode()


def _multipart(body: bytes, headers: Any) -> dict[str, Any]:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + headers["content-type"].encode() + b"\r\n\r\n" + body
    )
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        content = part.get_payload(decode=True)
        if name == "file":
            fields["file"] = (part.get_filename() or "file", content)
        else:
            fields[name] = content.decode()
    return fields
