"""Which process wrote a call: a name for this process, and whether a named process has ended.

A call is written when it starts and again when it ends; a process killed in between leaves
it "running" for ever. Naming the writer (host, pid and the pid's start time, so a reused pid
is not mistaken for the old process) lets the next process close such calls.
"""

from __future__ import annotations

import os
import socket


def this_process() -> str:
    """`host:pid:start` for the current process."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"


def process_ended(writer: str) -> bool:
    """True when the named process ran on this machine and is gone; False when it may still
    run (or ran elsewhere, which cannot be known from here)."""
    parts = writer.rsplit(":", 2)
    if len(parts) != 3 or os.name == "nt":
        return False
    host, pid_text, ticks = parts
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, under another user
    return bool(ticks) and _start_ticks(pid) not in ("", ticks)


def _start_ticks(pid: int) -> str:
    """When the process started, in clock ticks since boot (Linux); empty where unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    return fields[19] if len(fields) > 19 else ""
