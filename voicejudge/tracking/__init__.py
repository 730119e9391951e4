"""Tracing setup: one call picks the embedded store or hosted W&B Weave and makes it global."""

from __future__ import annotations

import netrc
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlparse

from weave.trace.context.weave_client_context import get_weave_client, set_weave_client_global
from weave.trace.refs import ObjectRef
from weave.trace.weave_client import WeaveClient
from weave.trace_server_bindings.client_interface import TraceServerClientInterface

from voicejudge.errors import ConfigError, TrackingError
from voicejudge.settings import Settings, load_settings
from voicejudge.tracking.refs import object_ref, op_uri
from voicejudge.tracking.server import LocalTraceServer

__all__ = [
    "BackendChoice",
    "LocalTraceServer",
    "close_tracking",
    "init_tracking",
    "local_server",
    "op_calls",
    "read_ref",
    "ref_uri",
    "resolve_backend",
    "stored_call",
]

Backend = Literal["auto", "local", "wandb"]
STEP_ATTRIBUTE = "voicejudge"  # the call attribute that says which step of which run a call is
_OFFLINE_MODES = {"offline", "dryrun", "disabled"}
_servers: dict[Path, LocalTraceServer] = {}
_servers_lock = threading.Lock()


@dataclass(frozen=True)
class BackendChoice:
    """Where traces go, and why."""

    name: Literal["local", "wandb"]
    reason: str


def resolve_backend(backend: str = "auto") -> BackendChoice:
    """Pick `local` or `wandb`; `auto` is hosted only with a W&B key and WANDB_MODE not offline."""
    if backend == "local":
        return BackendChoice("local", "asked for the embedded store")
    if backend == "wandb":
        return BackendChoice("wandb", "asked for hosted W&B Weave")
    if backend != "auto":
        raise ConfigError(f"Unknown tracking backend {backend!r}: use 'auto', 'local' or 'wandb'.")
    mode = os.environ.get("WANDB_MODE", "").strip().lower()
    if mode in _OFFLINE_MODES:
        return BackendChoice("local", f"WANDB_MODE={mode}")
    if not _wandb_key_configured():
        return BackendChoice("local", "no W&B API key configured")
    return BackendChoice("wandb", "a W&B API key is configured")


def init_tracking(
    project: str | None = None,
    backend: Backend = "auto",
    *,
    settings: Settings | None = None,
) -> WeaveClient:
    """Return the weave client for `project` on the chosen backend, and make it the global one.

    Calling it again with the same project returns the same client; another project switches.
    """
    settings = settings or load_settings()
    entity, project = _entity_and_project(project or settings.project, settings.entity)
    choice = resolve_backend(backend)
    current = get_weave_client()
    if choice.name == "wandb":
        if current is not None and isinstance(current.server, LocalTraceServer):
            _retire(current)
        return _init_hosted(project if entity == settings.entity else f"{entity}/{project}")
    server = local_server(settings.store_path)
    if current is not None:
        same_store = current.server is cast(TraceServerClientInterface, server)
        if same_store and (current.entity, current.project) == (entity, project):
            return current
        _retire(current)
    # the store implements the trace-server methods weave's client calls, not the whole protocol
    client = WeaveClient(
        entity, project, cast(TraceServerClientInterface, server), ensure_project_exists=False
    )
    set_weave_client_global(client)
    return client


def read_ref(uri: str) -> Any:
    """The object behind a `weave:///` object ref; starts tracking for its project if none is.

    Raises ValueError for a ref that is not an object ref, and weave's errors for a missing one.
    """
    import weave

    _tracked_object_ref(uri)
    return weave.ref(uri).get()


def read_object_value(uri: str) -> tuple[Any, str]:
    """The stored value of a `weave:///` object ref as plain records, and its digest; raises
    as `read_ref` does."""
    ref = _tracked_object_ref(uri)
    found = _current_client().server.obj_read(
        {"project_id": f"{ref.entity}/{ref.project}", "object_id": ref.name, "digest": ref.digest}
    )
    return found.obj.val, found.obj.digest


def _tracked_object_ref(uri: str) -> ObjectRef:
    """The parsed object ref, with tracking started for its project if none is."""
    ref = object_ref(uri)
    if get_weave_client() is None:
        init_tracking(project=f"{ref.entity}/{ref.project}")
    return ref


def _current_client() -> WeaveClient:
    client = get_weave_client()
    if client is None:
        raise TrackingError("No trace store is open: call voicejudge.init_tracking() first.")
    return client


def op_calls(client: WeaveClient, op_name: str, newest_first: bool = False) -> list[Any]:
    """Every stored call of one op in the client's project, by start time (raw records)."""
    client.flush()
    return list(
        client.server.calls_query_stream(
            {
                "project_id": client.project_id,
                "filter": {"op_names": [op_uri(client.project_id, op_name)]},
                "sort_by": [
                    {"field": "started_at", "direction": "desc" if newest_first else "asc"}
                ],
            }
        )
    )


def step_attributes(step: str, run: str) -> dict[str, Any]:
    """What marks a call as one step of a run (`weave.attributes`), so the run is found again
    by what the call is, not by the name of the method that made it."""
    return {STEP_ATTRIBUTE: {"step": step, "run": run}}


def step_calls(
    client: WeaveClient, step: str, *, run: str | None = None, newest_first: bool = False
) -> list[Any]:
    """Stored calls marked as `step` (of `run`, if given), by start time (raw records)."""
    terms: list[dict[str, Any]] = [
        {"$eq": [{"$getField": f"attributes.{STEP_ATTRIBUTE}.step"}, {"$literal": step}]}
    ]
    if run is not None:
        terms.append(
            {"$eq": [{"$getField": f"attributes.{STEP_ATTRIBUTE}.run"}, {"$literal": run}]}
        )
    client.flush()
    return list(
        client.server.calls_query_stream(
            {
                "project_id": client.project_id,
                "query": cast(Any, {"$expr": {"$and": terms}}),
                "sort_by": [
                    {"field": "started_at", "direction": "desc" if newest_first else "asc"}
                ],
            }
        )
    )


def stored_call(client: WeaveClient, call_id: str) -> Any | None:
    """One call of the client's project as stored (refs unresolved, audio not loaded), or
    None; cheaper than `client.get_call`, which decodes every input."""
    found = list(
        client.server.calls_query_stream(
            {"project_id": client.project_id, "filter": {"call_ids": [call_id]}}
        )
    )
    return found[0] if found else None


def ref_uri(obj: Any) -> str | None:
    """The `weave:///` ref of a published object; None if it was never published."""
    ref = getattr(obj, "ref", None)
    return ref.uri() if ref is not None else None


def _entity_and_project(name: str, default_entity: str) -> tuple[str, str]:
    """`project` or `entity/project`, as weave.init accepts them."""
    parts = name.strip().split("/")
    if len(parts) == 1 and parts[0]:
        return default_entity, parts[0]
    if len(parts) == 2 and all(parts):
        return parts[0], parts[1]
    raise ConfigError(f"Invalid project {name!r}: use 'project' or 'entity/project'.")


def _init_hosted(project: str) -> WeaveClient:
    import weave

    try:
        # replies cached on disk would outlive a store recreated under the same URL
        return weave.init(project, settings={"use_server_cache": False})
    except Exception as exc:  # weave.init fails with many types: auth, network, GraphQL
        url = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")
        raise TrackingError(
            f"Could not start hosted W&B Weave for project {project!r} at {url}: "
            f"{type(exc).__name__}: {exc}. Check the network and WANDB_API_KEY, or trace "
            "locally with --backend local (or WANDB_MODE=offline)."
        ) from exc


def local_server(path: Path) -> LocalTraceServer:
    """The one embedded server per store file in this process."""
    key = Path(path).expanduser().resolve()
    with _servers_lock:
        server = _servers.get(key)
        if server is None:
            server = _servers[key] = LocalTraceServer(key)
        return server


def close_tracking() -> None:
    """Flush and drop the global client and close every embedded store opened here."""
    current = get_weave_client()
    if current is not None:
        _retire(current)
    with _servers_lock:
        for server in _servers.values():
            server.close()
        _servers.clear()


def _retire(client: WeaveClient) -> None:
    client.finish(use_progress_bar=False)
    if not isinstance(client.server, LocalTraceServer):
        import weave

        weave.finish()  # also removes the integration hooks weave.init installed
    set_weave_client_global(None)


def _wandb_key_configured() -> bool:
    if os.environ.get("WANDB_API_KEY", "").strip():
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    netrc_path = os.environ.get("NETRC") or Path.home() / ".netrc"
    try:
        entry = netrc.netrc(netrc_path).authenticators(host or "api.wandb.ai")
    except (OSError, netrc.NetrcParseError):
        return False
    return bool(entry and entry[2])
