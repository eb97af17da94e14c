"""`POST /v1/evaluaties` and its audit entry: written at once without an `AuditBuffer` on the
app, queued with one; a full queue is 503, never an answer without its entry. On SQLite and
PostgreSQL (`api`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount

from tests.conftest import PUBLIC_SCENARIOS
from vangnet.service.audit import AuditEntry, AuditEvent, AuditLog
from vangnet.service.audit_buffer import AuditBuffer

P06 = (PUBLIC_SCENARIOS / "P06.claim.json").read_bytes()
JSON = {"content-type": "application/json"}


def _parts(client: TestClient) -> list[Any]:
    """The root app and the mounted `/v1` app: the lifespan sets state on both."""
    root: Any = client.app
    api = next(r.app for r in root.routes if isinstance(r, Mount) and r.path == "/v1")
    return [root, api]


def _entries(client: TestClient) -> list[AuditEntry]:
    state: Any = client.app.state  # type: ignore[attr-defined]
    found: list[AuditEntry] = state.audit.entries(state.store.engine, limit=10_000)
    return [e for e in found if e.action == "evaluatie.uitvoeren"]


@pytest.fixture
def unbuffered(api: TestClient) -> Iterator[None]:
    """The app without the lifespan's `AuditBuffer` (put back afterwards, for its close)."""
    parts = _parts(api)
    own = parts[0].state.audit_buffer
    for part in parts:
        del part.state.audit_buffer
    try:
        yield
    finally:
        for part in parts:
            part.state.audit_buffer = own


@pytest.fixture
def buffered(api: TestClient, unbuffered: None) -> Iterator[AuditBuffer]:
    """An `AuditBuffer` on the app, as the lifespan makes it (app.py); closed afterwards."""
    state: Any = api.app.state  # type: ignore[attr-defined]
    buffer = AuditBuffer(state.audit, state.store.engine, max_delay=0.01)
    parts = _parts(api)
    for part in parts:
        part.state.audit_buffer = buffer
    try:
        yield buffer
    finally:
        buffer.close()
        for part in parts:
            del part.state.audit_buffer


def test_without_a_buffer_the_entry_is_written_before_the_answer(
    api: TestClient, unbuffered: None
) -> None:
    assert not hasattr(api.app.state, "audit_buffer")  # type: ignore[attr-defined]
    r = api.post("/v1/evaluaties", content=P06, headers=JSON)
    assert r.status_code == 200
    (entry,) = _entries(api)
    assert entry.actor == "anoniem" and entry.result == "gelukt"
    assert entry.details == {
        "vorm": "json",
        "claim_sha256": r.json()["receipt"]["claim_sha256"],
        "uitkomst": "gedeeltelijk",
    }


def test_with_a_buffer_every_pre_check_is_recorded_in_order(
    api: TestClient, buffered: AuditBuffer
) -> None:
    claims = []
    for n in range(6):
        claim = json.loads(P06)
        claim["claim_id"] = f"VOORTOETS-{n}"
        claims.append(claim)
    hashes = []
    for claim in claims:
        r = api.post("/v1/evaluaties", json=claim)
        assert r.status_code == 200
        hashes.append(r.json()["receipt"]["claim_sha256"])
    refused = api.post("/v1/evaluaties", content=b'{"measures": []}', headers=JSON)
    assert refused.status_code == 400
    assert buffered.flush(timeout=30)
    entries = _entries(api)
    assert [e.details.get("claim_sha256") for e in entries[:-1]] == hashes
    assert entries[-1].details["uitkomst"] == "geweigerd" and "body_sha256" in entries[-1].details
    state: Any = api.app.state  # type: ignore[attr-defined]
    assert state.audit.verify(state.store.engine).ok
    text = json.dumps([e.as_dict() for e in entries])
    assert "VOORTOETS" not in text and "Voorbeeld" not in text  # no claim content


def test_a_full_queue_is_503_and_loses_no_entry(api: TestClient) -> None:
    state: Any = api.app.state  # type: ignore[attr-defined]
    gate, entered = threading.Event(), threading.Event()
    log = AuditLog(state.audit._key)  # the service's key: the chain stays verifiable

    def slow(engine: Any, events: Sequence[AuditEvent]) -> list[int]:
        entered.set()
        gate.wait(30)
        return state.audit.record_many(engine, events)

    log.record_many = slow  # type: ignore[method-assign]
    buffer = AuditBuffer(log, state.store.engine, max_batch=1, capacity=1, max_delay=0,
                         put_timeout=0.2)  # fmt: skip
    parts = _parts(api)
    for part in parts:
        part.state.audit_buffer = buffer
    try:
        assert api.post("/v1/evaluaties", content=P06, headers=JSON).status_code == 200
        assert entered.wait(10)  # the writer holds the first entry
        assert api.post("/v1/evaluaties", content=P06, headers=JSON).status_code == 200
        busy = api.post("/v1/evaluaties", content=P06, headers=JSON)  # the queue is full
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
        assert busy.headers["content-type"] == "application/problem+json"
        assert "receipt" not in busy.text
        gate.set()
        assert buffer.close() == 0
    finally:
        gate.set()
        buffer.close()
        for part in parts:
            del part.state.audit_buffer
    assert len(_entries(api)) == 2  # the two answered, not the refused one
    assert state.audit.verify(state.store.engine).ok
