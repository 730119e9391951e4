"""Tracing setup: one call picks the embedded store or hosted W&B Weave and makes it global.

While the embedded store is in use, weave's hosted call links are off (`WEAVE_PRINT_CALL_LINK`,
unless the user set it): a local call has no page to link to, and building the link is a
seventh of a traced call's cost. `close_tracking` or choosing hosted Weave puts it back.
"""

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
from weave.trace.settings import override_settings
from weave.trace.weave_client import WeaveClient
from weave.trace_server_bindings.client_interface import TraceServerClientInterface

from voicejudge.errors import ConfigError, TrackingError
from voicejudge.settings import Settings, load_settings
from voicejudge.tracking.gateway import read_object
from voicejudge.tracking.refs import object_ref
from voicejudge.tracking.server import LocalTraceServer

__all__ = [
    "BackendChoice",
    "LocalTraceServer",
    "close_tracking",
    "init_tracking",
    "local_client",
    "local_server",
    "read_ref",
    "ref_uri",
    "resolve_backend",
]

Backend = Literal["auto", "local", "wandb"]
_OFFLINE_MODES = {"offline", "dryrun", "disabled"}
_CALL_LINK_SETTING = "WEAVE_PRINT_CALL_LINK"
_call_links_off = False  # whether this module turned the setting off
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
        _show_call_links(True)
        return _init_hosted(project if entity == settings.entity else f"{entity}/{project}")
    server = local_server(settings.store_path)
    if current is not None:
        same_store = current.server is cast(TraceServerClientInterface, server)
        if same_store and (current.entity, current.project) == (entity, project):
            return current
        _retire(current)
    client = local_client(entity, project, server)
    set_weave_client_global(client)
    return client


def local_client(entity: str, project: str, server: Any) -> WeaveClient:
    """A weave client on an in-process server (not made global), with hosted call links off.

    Without a thread pool: handing a call's start and end to the store's write queue costs
    less than handing them to a pool thread, and nothing waits on a network.
    """
    _show_call_links(False)
    with override_settings(client_parallelism=0):  # read once, when the client is built
        # the store implements the trace-server methods the client calls, not the whole protocol
        return WeaveClient(
            entity, project, cast(TraceServerClientInterface, server), ensure_project_exists=False
        )


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
    found = read_object(_current_client(), ref)
    if found is None:
        raise TrackingError(f"No object {uri} in this store.")
    return found.val, found.digest


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
    _show_call_links(True)


def _retire(client: WeaveClient) -> None:
    client.finish(use_progress_bar=False)
    if not isinstance(client.server, LocalTraceServer):
        import weave

        weave.finish()  # also removes the integration hooks weave.init installed
    set_weave_client_global(None)


def _show_call_links(show: bool) -> None:
    """weave builds a hosted W&B link for every root call (about 50 us) even where nothing
    shows it, and a call in the embedded store has no such page: off while the store is in
    use. A value the user set is left alone."""
    global _call_links_off
    if not show and _CALL_LINK_SETTING not in os.environ:
        os.environ[_CALL_LINK_SETTING] = "false"
        _call_links_off = True
    elif show and _call_links_off:
        os.environ.pop(_CALL_LINK_SETTING, None)
        _call_links_off = False


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
