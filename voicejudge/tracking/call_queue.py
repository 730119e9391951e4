"""Write-behind for call starts and ends: traced code enqueues, one thread writes in batches.

A traced call must not wait for a SQLite commit, and one transaction per batch costs far less
than two per call. The weave client finds this queue as its server's `call_processor` and
drains it on `flush()`, so "flushed" still means "persisted"; the server drains it before any
read of calls, so a process always reads its own writes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from voicejudge.errors import StoreError

logger = logging.getLogger(__name__)

CallWrite = tuple[str, Mapping[str, Any]]


class CallWriteQueue:
    """Batches `("start" | "end", request)` items and hands them to `write_batch` in order.

    A failed write keeps its items queued and is retried with backoff; `flush()` raises the
    failure only while items are still unwritten.
    """

    def __init__(
        self, write_batch: Callable[[list[CallWrite]], None], batch_window_s: float = 0.02
    ) -> None:
        self._write_batch = write_batch
        self._batch_window_s = batch_window_s
        self._items: list[CallWrite] = []
        self._items_lock = threading.Lock()
        self._writing = threading.Lock()
        self._wakeup = threading.Event()
        self._closed = False
        self._thread = threading.Thread(
            target=self._run, name="voicejudge-call-writer", daemon=True
        )
        self._thread.start()

    def put(self, kind: str, request: Mapping[str, Any]) -> None:
        if self._closed:
            raise StoreError("The trace store is closed; call init_tracking() again to trace.")
        with self._items_lock:
            self._items.append((kind, request))
            first = len(self._items) == 1
        if first:  # the writer is woken once per batch, not once per item
            self._wakeup.set()

    def enqueue_start(self, item: Any, *, eager_call_start: bool = False) -> None:
        """The weave client's hook for call starts (`item.req` is the start request)."""
        self.put("start", item.req)
        if eager_call_start:
            self.flush()

    @property
    def num_outstanding_jobs(self) -> int:
        with self._items_lock:
            return len(self._items)

    def flush(self) -> None:
        """Write everything queued so far, in this thread; raises if that write fails."""
        self._drain()

    def stop_accepting_new_work_and_flush_queue(self) -> None:
        """Called by `WeaveClient.flush()`."""
        self.flush()

    def accept_new_work(self) -> None:
        """Called by `WeaveClient.flush()` after draining; the queue never stops accepting."""

    def close(self) -> None:
        """Write what is queued and stop the writer thread; later `put`s raise."""
        self._closed = True
        self._wakeup.set()
        self._thread.join(timeout=10)
        self._drain()

    def _run(self) -> None:
        failures = 0
        while not self._closed:
            self._wakeup.wait()
            # Let a burst of calls gather so it costs one transaction, not one per call.
            time.sleep(self._batch_window_s)
            try:
                self._drain()
                failures = 0
            except Exception as exc:  # kept queued and retried; flush() reports it
                failures += 1
                logger.warning("Writing traced calls failed (attempt %d): %s", failures, exc)
                time.sleep(min(0.05 * 2**failures, 5.0))
                self._wakeup.set()

    def _drain(self) -> None:
        with self._writing:
            with self._items_lock:
                items, self._items = self._items, []
                self._wakeup.clear()
            if not items:
                return
            try:
                self._write_batch(items)
            except BaseException:
                with self._items_lock:
                    self._items[:0] = items
                self._wakeup.set()  # a later put would not wake the writer to retry
                raise
