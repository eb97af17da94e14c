"""Batched audit entries for actions that have no transaction of their own.

Every pre-check (`POST /v1/evaluaties`) is recorded in the audit log, but it stores nothing
else: its entry needs no transaction of its own action. Written one by one (`AuditLog.record`)
each entry costs a durable commit (about 8 ms on SQLite with `synchronous=FULL`), a ceiling of
about 125 pre-checks per second per database. `AuditBuffer` queues such entries and one
background thread writes them in ONE writing transaction per batch (`AuditLog.record_many`):
up to `max_batch` entries, or what has arrived `max_delay` seconds after the first of them,
whichever comes first. The batch is appended as `append` appends (BEGIN IMMEDIATE on SQLite,
the advisory lock on PostgreSQL), so the chain stays one unbroken chain across processes, and
entries are written in the order they were queued.

What it costs. An entry is durable up to `max_delay` (plus any wait for the database) after the
request was answered: a crash of the process loses the entries still queued, normally those of
the last `max_delay` seconds of pre-checks, which changed nothing stored (docs/audit.md).
Actions that change something keep writing their entry in their own transaction
(`AuditLog.append`); never queue those here.

Back-pressure. The queue holds at most `capacity` entries. `try_submit` (for the event loop)
never blocks and says False when the queue is full; `submit` then waits up to `put_timeout`
for room and raises `AuditBusy` when there is none: the caller refuses the request (503) rather
than answer without its entry. Nothing is dropped silently.

Failures. When a batch cannot be written (the database is away), the thread logs it (the
number of entries and the kind of error, never their content), waits (0.05 s, doubling up to
5 s) and tries the same batch again; meanwhile the queue fills and back-pressure takes over.
The thread never stops on an error. `close()` stops taking entries (a later `submit` writes
synchronously), writes what is queued, and waits for it; what still cannot be written when
its time is up is logged as lost, by number.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from vangnet.service.audit import AuditError, AuditEvent, AuditLog

__all__ = ["AuditBuffer", "AuditBusy"]

_log = logging.getLogger(__name__)

_FIRST_RETRY = 0.05  # seconds before the first retry of a failed batch
_LAST_RETRY = 5.0  # the longest wait between retries


class AuditBusy(AuditError):
    """The queue of audit entries stayed full for `put_timeout`: the entry was not taken, and
    the action must not be answered as if it had been recorded."""


class AuditBuffer:
    """A queue of audit entries and the one thread that writes them in batches."""

    def __init__(
        self,
        log: AuditLog,
        engine: Engine,
        *,
        max_batch: int = 200,
        max_delay: float = 0.05,
        capacity: int = 5000,
        put_timeout: float = 2.0,
        name: str = "vangnet-auditlog",
    ) -> None:
        if max_batch < 1 or capacity < 1 or max_delay < 0 or put_timeout < 0:
            raise ValueError("max_batch and capacity at least 1; max_delay, put_timeout >= 0")
        self.log = log
        self.engine = engine
        self.max_batch = max_batch
        self.max_delay = max_delay
        self.capacity = capacity
        self.put_timeout = put_timeout
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # queue, counters or state changed
        self._queue: deque[tuple[float, AuditEvent]] = deque()
        self._queued = 0  # entries taken, ever
        self._settled = 0  # of those: written or given up (in queue order)
        self._lost = 0  # given up at close
        self._failing = False  # the last attempt failed
        self._closing = False
        self._deadline = float("inf")  # when closing: give up retrying after this
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"AuditBuffer(pending={self.pending}, closed={self._closing})"

    def __enter__(self) -> AuditBuffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- producers --------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Entries taken but not yet written."""
        with self._lock:
            return self._queued - self._settled

    @property
    def closed(self) -> bool:
        return self._closing

    def try_submit(self, event: AuditEvent) -> bool:
        """Queue `event` if there is room now; never blocks (for the event loop). False when
        the queue is full or the buffer closed: then call `submit` in a thread."""
        with self._lock:
            if self._closing or len(self._queue) >= self.capacity:
                return False
            self._put(event)
            return True

    def submit(self, event: AuditEvent, timeout: float | None = None) -> None:
        """Queue `event`, waiting up to `timeout` (default `put_timeout`) for room; `AuditBusy`
        when there is none. After `close`, the entry is written at once, in its own
        transaction. May block: not on the event loop."""
        wait = self.put_timeout if timeout is None else timeout
        with self._lock:
            if not self._closing:
                end = time.monotonic() + wait
                while len(self._queue) >= self.capacity and not self._closing:
                    left = end - time.monotonic()
                    if left <= 0:
                        raise AuditBusy(
                            "de auditlog kan de vooraf-beoordelingen nu niet bijhouden"
                            f" ({self.capacity} regels wachten)"
                        )
                    self._changed.wait(left)
                if not self._closing:
                    self._put(event)
                    return
        self.log.record(self.engine, event)

    def _put(self, event: AuditEvent) -> None:
        self._queue.append((time.monotonic(), event))
        self._queued += 1
        self._changed.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every entry queued before this call is written (or given up at close);
        False when `timeout` passed first."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            target = self._queued
            while self._settled < target:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def close(self, timeout: float = 30.0) -> int:
        """Take no more entries, write those queued, and stop the thread; how many could not
        be written within `timeout` seconds (0 when all were; the loss is logged)."""
        with self._lock:
            if not self._closing:
                self._closing = True
                self._deadline = time.monotonic() + timeout
                self._changed.notify_all()
        self._thread.join(timeout + _LAST_RETRY + 1)
        with self._lock:
            return self._lost + (self._queued - self._settled)

    # --- the writer -------------------------------------------------------------------------

    def _take(self) -> list[AuditEvent] | None:
        """The next batch, in queue order; None when closed and empty."""
        with self._lock:
            while not self._queue:
                if self._closing:
                    return None
                self._changed.wait()
            first = self._queue[0][0]
            while len(self._queue) < self.max_batch and not self._closing:
                left = first + self.max_delay - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            count = min(self.max_batch, len(self._queue))
            batch = [self._queue.popleft()[1] for _ in range(count)]
            self._changed.notify_all()  # room for waiting producers
            return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            written = self._write(batch)
            with self._lock:
                self._settled += len(batch)
                if not written:
                    # closing, and the database stayed away until the deadline: the rest
                    # cannot be written either; say how many entries are lost
                    rest = len(self._queue)
                    self._queue.clear()
                    self._settled += rest
                    self._lost += len(batch) + rest
                    _log.error(
                        "auditlog: %d regels konden bij het afsluiten niet worden geschreven"
                        " en zijn verloren",
                        len(batch) + rest,
                    )
                self._changed.notify_all()

    def _write(self, batch: Sequence[AuditEvent]) -> bool:
        """Write `batch` in one transaction, retrying until it is written (True) or the
        buffer is closing and its time is up (False)."""
        delay = _FIRST_RETRY
        attempts = 0
        while True:
            attempts += 1
            try:
                self.log.record_many(self.engine, batch)
            except Exception as exc:  # noqa: BLE001 - any failure: report, retry, never stop
                self._failing = True
                if self._closing and time.monotonic() >= self._deadline:
                    _log.error(
                        "auditlog: %d regels konden niet worden geschreven (%s, poging %d);"
                        " de tijd om af te sluiten is om",
                        len(batch),
                        _kind(exc),
                        attempts,
                    )
                    return False
                _log.error(
                    "auditlog: %d regels konden niet worden geschreven (%s, poging %d);"
                    " opnieuw over %.2f s",
                    len(batch),
                    _kind(exc),
                    attempts,
                    delay,
                )
                self._sleep(delay)
                delay = min(delay * 2, _LAST_RETRY)
                continue
            if self._failing:
                self._failing = False
                _log.warning(
                    "auditlog: schrijven lukt weer; %d regels na %d pogingen geschreven",
                    len(batch),
                    attempts,
                )
            return True

    def _sleep(self, seconds: float) -> None:
        """Wait before a retry; when closing, not past the deadline."""
        with self._lock:
            end = time.monotonic() + seconds
            if self._closing:
                end = min(end, self._deadline)
            while (left := end - time.monotonic()) > 0:
                self._changed.wait(left)
                if self._closing and time.monotonic() >= self._deadline:
                    return


def _kind(exc: BaseException) -> str:
    """The kind of error, for the log: its class, never its message (which may quote a
    statement; the parameters, which hold the entries, are hidden anyway)."""
    kind: Any = type(exc)
    return f"{kind.__module__}.{kind.__qualname__}"
