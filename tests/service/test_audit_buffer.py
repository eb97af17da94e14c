"""The batched audit writer (`AuditBuffer`): entries from many producers, threads and processes,
end up in one unbroken chain in the order each producer queued them; close writes what is
queued; a failing database is reported (without content) and retried, and a full queue pushes
back instead of dropping. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from vangnet.service.audit import AuditEvent, AuditLog
from vangnet.service.audit_buffer import AuditBuffer, AuditBusy
from vangnet.service.db import create_db_engine, migrate

KEY = b"k" * 32
LOG = AuditLog(KEY)
SECRET = "f" * 64  # stands for a claim hash: must never reach the application log


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db = create_db_engine(database_url)
    migrate(db)
    try:
        yield db
    finally:
        db.dispose()


def event(producer: str, n: int) -> AuditEvent:
    return AuditEvent(
        actor="anoniem",
        action="evaluatie.uitvoeren",
        result="gelukt",
        origin=producer,
        details={"n": n, "claim_sha256": SECRET, "uitkomst": "toekennen"},
    )


def seqs(engine: Engine) -> list[int]:
    with engine.connect() as c:
        return [r[0] for r in c.execute(text("SELECT seq FROM auditregel ORDER BY seq"))]


def by_producer(engine: Engine) -> dict[str, list[int]]:
    """Each producer's `n`s in the order of the chain."""
    found: dict[str, list[int]] = {}
    for e in LOG.entries(engine, limit=100_000):
        found.setdefault(e.origin, []).append(e.details["n"])
    return found


class Recording:
    """`record_many` of LOG, with the batch sizes it was given; fails `failures` times first,
    or waits for `gate` when one is given."""

    def __init__(self, failures: int = 0, gate: threading.Event | None = None) -> None:
        self.batches: list[int] = []
        self.failures = failures
        self.gate = gate
        self.entered = threading.Event()

    def __call__(self, engine: Engine, events: Sequence[AuditEvent]) -> list[int]:
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(30)
        if self.failures > 0:
            self.failures -= 1
            raise OperationalError("INSERT INTO auditregel ...", {}, Exception("database away"))
        self.batches.append(len(events))
        return LOG.record_many(engine, events)


def test_threads_make_one_chain_in_each_producers_order(engine: Engine) -> None:
    producers, per = 6, 150
    calls = Recording()
    buffer = AuditBuffer(LOG, engine, max_batch=40, max_delay=0.02)
    buffer.log = _patched(calls)
    start = threading.Barrier(producers)

    def produce(k: int) -> None:
        start.wait()
        for n in range(per):
            if not buffer.try_submit(event(f"thread{k}", n)):
                buffer.submit(event(f"thread{k}", n))

    threads = [threading.Thread(target=produce, args=(k,)) for k in range(producers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert buffer.close() == 0
    total = producers * per
    assert seqs(engine) == list(range(1, total + 1))
    assert by_producer(engine) == {f"thread{k}": list(range(per)) for k in range(producers)}
    assert LOG.verify(engine).ok
    # batched: fewer transactions than entries, none larger than max_batch
    assert sum(calls.batches) == total and max(calls.batches) <= 40
    assert len(calls.batches) < total / 4


def _patched(recording: Recording) -> AuditLog:
    """LOG with `record_many` replaced by `recording` (same key, so the chain verifies)."""
    log = AuditLog(KEY)
    log.record_many = recording  # type: ignore[method-assign]
    return log


PROCESS_PRODUCERS = 3
PER_PRODUCER = 60


def _buffered_process(url: str, name: str, start: Any) -> None:
    """A separate OS process (a web process): several threads queue entries in its buffer,
    while one more writes entries one by one, as the service's own actions do."""
    db = create_db_engine(url)
    buffer = AuditBuffer(LOG, db, max_batch=25, max_delay=0.01)
    try:
        start.wait()

        def produce(k: int) -> None:
            for n in range(PER_PRODUCER):
                buffer.submit(event(f"{name}-{k}", n))

        def direct() -> None:
            for n in range(PER_PRODUCER // 3):
                LOG.record(db, event(f"{name}-direct", n))

        threads = [threading.Thread(target=produce, args=(k,)) for k in range(PROCESS_PRODUCERS)]
        threads.append(threading.Thread(target=direct))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert buffer.close() == 0
    finally:
        db.dispose()


def test_two_processes_make_one_unbroken_chain(engine: Engine, database_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    processes = [
        context.Process(target=_buffered_process, args=(database_url, name, start))
        for name in ("web1", "web2")
    ]
    for p in processes:
        p.start()
    start.set()
    for p in processes:
        p.join(timeout=300)
    assert [p.exitcode for p in processes] == [0, 0]
    expected = {
        f"{name}-{k}": list(range(PER_PRODUCER))
        for name in ("web1", "web2")
        for k in range(PROCESS_PRODUCERS)
    } | {f"{name}-direct": list(range(PER_PRODUCER // 3)) for name in ("web1", "web2")}
    total = sum(len(v) for v in expected.values())
    assert seqs(engine) == list(range(1, total + 1))
    assert by_producer(engine) == expected
    result = LOG.verify(engine)
    assert result.ok and result.checked == total


def test_close_writes_what_is_queued_and_later_entries_at_once(engine: Engine) -> None:
    # a long delay: without close, nothing would be written for a minute
    buffer = AuditBuffer(LOG, engine, max_batch=1000, max_delay=60)
    for n in range(5):
        assert buffer.try_submit(event("p", n))
    time.sleep(0.05)
    assert seqs(engine) == [] and buffer.pending == 5
    began = time.monotonic()
    assert buffer.close() == 0
    assert time.monotonic() - began < 10
    assert by_producer(engine) == {"p": [0, 1, 2, 3, 4]} and buffer.pending == 0
    # after close nothing is queued: an entry is written in a transaction of its own
    assert buffer.closed and not buffer.try_submit(event("p", 5))
    buffer.submit(event("p", 5))
    assert by_producer(engine) == {"p": [0, 1, 2, 3, 4, 5]}
    assert LOG.verify(engine).ok


def test_a_batch_is_written_after_max_delay_without_a_flush(engine: Engine) -> None:
    with AuditBuffer(LOG, engine, max_batch=1000, max_delay=0.05) as buffer:
        buffer.submit(event("p", 0))
        deadline = time.monotonic() + 10
        while not seqs(engine) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seqs(engine) == [1]
        assert buffer.flush(timeout=5)


def test_a_failure_is_logged_without_content_and_retried(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    calls = Recording(failures=3)
    buffer = AuditBuffer(_patched(calls), engine, max_batch=10, max_delay=0.01)
    with caplog.at_level(logging.WARNING, logger="vangnet.service.audit_buffer"):
        for n in range(4):
            buffer.submit(event("p", n))
        assert buffer.flush(timeout=30)
        assert buffer.close() == 0
    assert by_producer(engine) == {"p": [0, 1, 2, 3]}
    assert LOG.verify(engine).ok
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 3
    assert "OperationalError" in errors[0].getMessage()
    assert "opnieuw" in errors[0].getMessage()
    assert any("lukt weer" in r.getMessage() for r in caplog.records)
    for r in caplog.records:  # who, what, the claim hash: none of it in the log
        assert SECRET not in r.getMessage() and "evaluatie" not in r.getMessage()
        assert "database away" not in r.getMessage() and r.exc_info is None


def test_a_database_that_stays_away_loses_nothing_silently(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    calls = Recording(failures=10**9)
    buffer = AuditBuffer(_patched(calls), engine, max_batch=2, max_delay=0)
    with caplog.at_level(logging.ERROR, logger="vangnet.service.audit_buffer"):
        for n in range(5):
            buffer.submit(event("p", n))
        assert not buffer.flush(timeout=0.3)  # still retrying: not written, not dropped
        assert buffer.pending == 5
        assert buffer.close(timeout=0.3) == 5
    assert seqs(engine) == []
    assert "5 regels konden bij het afsluiten niet worden geschreven" in caplog.text


def test_a_full_queue_pushes_back_and_drops_nothing(engine: Engine) -> None:
    gate = threading.Event()
    calls = Recording(gate=gate)
    buffer = AuditBuffer(_patched(calls), engine, max_batch=1, capacity=2, max_delay=0,
                         put_timeout=0.1)  # fmt: skip
    buffer.submit(event("p", 0))  # taken by the writer, which waits at the gate
    assert calls.entered.wait(10)
    assert buffer.try_submit(event("p", 1)) and buffer.try_submit(event("p", 2))
    assert not buffer.try_submit(event("p", 3))  # full
    with pytest.raises(AuditBusy, match="2 regels wachten"):
        buffer.submit(event("p", 3))
    # a producer that waits gets in once the writer catches up
    waiting = threading.Thread(target=buffer.submit, args=(event("p", 3), 30))
    waiting.start()
    gate.set()
    waiting.join()
    assert buffer.close() == 0
    assert by_producer(engine) == {"p": [0, 1, 2, 3]}
    assert LOG.verify(engine).ok


def test_batches_keep_the_documented_hash(engine: Engine) -> None:
    """A batch is appended as `append` appends: the same chain an outside verifier checks."""
    assert LOG.record_many(engine, []) == []
    assert LOG.record_many(engine, [event("p", n) for n in range(3)]) == [1, 2, 3]
    assert LOG.record(engine, event("p", 3)) == 4
    entries = LOG.entries(engine)
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    assert LOG.verify(engine).ok


def test_bad_settings_are_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="max_batch"):
        AuditBuffer(LOG, engine, max_batch=0)
