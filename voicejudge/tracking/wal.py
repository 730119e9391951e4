"""The write-ahead log beside a store file, read raw: were writes lost with it?

SQLite keeps recent writes in `traces.db-wal` until they are merged into `traces.db`; the
shared-memory index `traces.db-shm` records how much of the log is valid. Opening the store
after its log was lost would quietly start from what the main file still holds, and nothing
in the main file tells; so these checks read the side files themselves, before SQLite does.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Literal
from urllib.parse import quote

_WAL_HEADER, _WAL_FRAME_HEADER = 32, 24
_RESTORE = (
    "Stop every voicejudge process; put back the -wal file if you have it, or restore a "
    "`voicejudge backup`."
)


def sidecar(path: Path, suffix: str) -> Path:
    """`traces.db-wal` or `traces.db-shm` beside `path`."""
    return path.with_name(path.name + suffix)


def read_only_uri(path: Path) -> str:
    """A SQLite URI that reads `path` without writing anything beside it: with no log there,
    the file is read as it is (SQLite would otherwise create empty side files)."""
    alone = not sidecar(path, "-wal").exists() and not sidecar(path, "-shm").exists()
    return f"file:{quote(str(path))}?mode=ro{'&immutable=1' if alone else ''}"


def lost_writes(path: Path) -> str | None:
    """What was lost when the log of `path` was deleted or cut short, or None if nothing."""
    return _held_deleted_log(path) or _short_log(path) or _emptied_main_file(path)


def _short_log(path: Path) -> str | None:
    """The index counts more of the log than the log file holds."""
    index = sidecar(path, "-shm")
    try:
        header = index.read_bytes()[:48] if index.exists() else b""
    except OSError:
        return None
    if len(header) < 48 or not header[12]:
        return None
    order: Literal["little", "big"] = "little" if sys.byteorder == "little" else "big"
    page = int.from_bytes(header[14:16], order)
    page = 65536 if page == 1 else page
    frames = int.from_bytes(header[16:20], order)
    if not frames or not page:
        return None
    log = sidecar(path, "-wal")
    needed = _WAL_HEADER + frames * (_WAL_FRAME_HEADER + page)
    size = log.stat().st_size if log.exists() else 0
    if size >= needed:
        return None
    state = "is missing" if not log.exists() else f"is cut short ({size} of {needed} bytes)"
    return (
        f"{log.name} {state}, but {index.name} says it holds {frames} page(s) of changes not "
        f"yet in {path.name}: those changes are lost. {_RESTORE} To go on with what "
        f"{path.name} still holds, move {index.name} aside."
    )


def _held_deleted_log(path: Path) -> str | None:
    """A process still writes to a log that was deleted from the folder (Linux)."""
    gone = f"{sidecar(path, '-wal')} (deleted)"
    holders = []
    try:
        processes = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    for pid in processes:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") == gone for fd in fds):
                holders.append(pid)
        except OSError:
            continue  # gone meanwhile, or not ours to look at
    if not holders:
        return None
    return (
        f"{sidecar(path, '-wal').name} was deleted while process {', '.join(holders)} still "
        f"writes to it: what it writes is lost when it exits. {_RESTORE}"
    )


def _emptied_main_file(path: Path) -> str | None:
    """A WAL-mode file with no tables and no log: a copy made without its -wal file."""
    try:
        with path.open("rb") as file:
            header = file.read(100)
            size = file.seek(0, os.SEEK_END)
    except OSError:
        return None
    if len(header) < 100 or not header.startswith(b"SQLite format 3\0") or header[18] != 2:
        return None
    if sidecar(path, "-wal").exists():
        return None
    schema_pages = int.from_bytes(header[28:32], "big")
    page = int.from_bytes(header[16:18], "big") or 65536
    if schema_pages > 1 or size > page:
        return None
    return (
        f"{path} holds no tables, though it was written in WAL mode: its data is missing. Was "
        f"it copied without its -wal file, or the -wal file deleted? {_RESTORE}"
    )
