"""Durability: the server is killed (SIGKILL, its whole process group) while 20 clients submit
claims; after a restart every acknowledged claim (201) is there, complete, and nothing is
half-written, and the audit log's chain is unbroken (every acknowledged claim has its entry).
The real server: uvicorn in a subprocess, SQLite in a fresh data directory; the clients submit
as an aanvrager with an API token made in that database before the server starts."""

from __future__ import annotations

import copy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PUBLIC_SCENARIOS, ROOT
from vangnet.service.accounts import Accounts
from vangnet.service.audit import AuditLog
from vangnet.service.db import create_db_engine, migrate
from vangnet.service.settings import Settings

P06 = json.loads((PUBLIC_SCENARIOS / "P06.claim.json").read_text())
CLIENTS = 20
KILL_AFTER = 100  # acknowledged claims before the kill

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """`uvicorn` serving vangnet in its own process group."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("VANGNET_")}
        env |= {"VANGNET_ENV": "test", "VANGNET_DATA_DIR": str(data_dir)}
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "vangnet.service.app:create_app",
                 "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
                cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True,
            )  # fmt: skip
        self.log = log

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server stopped:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail(f"the server did not start:\n{self.log.read_text()}")

    def signal(self, sig: signal.Signals) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.signal(signal.SIGKILL)


def _token(data_dir: Path) -> dict[str, str]:
    """The headers of an aanvrager's API token, made in the server's database."""
    settings = Settings(env="test", data_dir=data_dir)
    engine = create_db_engine(settings.db_url)
    try:
        migrate(engine)
        accounts = Accounts(engine, settings, audit=AuditLog.from_settings(settings))
        accounts.add_organisation("GM9901", "Havendam (test)", "gemeente")
        account = accounts.add_account("test-aanvrager", "GM9901", "aanvrager", None)
        _, raw = accounts.issue_token(account.id, "duurzaamheid")
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {raw}"}


def _submitter(
    base: str,
    auth: dict[str, str],
    *,
    n: int,
    acked: list[dict[str, Any]],
    errors: list[str],
    stop: threading.Event,
) -> None:
    with httpx.Client(base_url=base, timeout=30, headers=auth) as client:
        i = 0
        while not stop.is_set():
            body = copy.deepcopy(P06) | {"claim_id": f"D{n:02d}-{i:04d}"}
            i += 1
            try:
                r = client.post("/v1/aanvragen", json=body)
            except httpx.TransportError as exc:
                errors.append(type(exc).__name__)
                return
            if r.status_code != 201:
                errors.append(f"{r.status_code}: {r.text[:200]}")
                return
            acked.append(r.json())


def test_every_acknowledged_claim_survives_a_kill(tmp_path: Path, servers: list[Server]) -> None:
    data = tmp_path / "data"
    log = tmp_path / "server.log"
    auth = _token(data)
    servers.append(first := Server(data, log))
    first.wait_ready()
    # the first submission starts the engine process; it is acknowledged like any other
    warm = httpx.post(
        f"{first.url}/v1/aanvragen", json=P06 | {"claim_id": "W"}, headers=auth, timeout=60
    )
    assert warm.status_code == 201, warm.text

    acked: list[dict[str, Any]] = [warm.json()]
    errors: list[str] = []
    stop = threading.Event()
    clients = [
        threading.Thread(
            target=_submitter,
            args=(first.url, auth),
            kwargs={"n": n, "acked": acked, "errors": errors, "stop": stop},
        )
        for n in range(CLIENTS)
    ]
    for c in clients:
        c.start()
    deadline = time.monotonic() + 30
    while len(acked) < KILL_AFTER and time.monotonic() < deadline and not errors:
        time.sleep(0.01)
    first.signal(signal.SIGKILL)  # mid-way: the clients are still submitting
    stop.set()
    for c in clients:
        c.join(timeout=60)
    assert len(acked) >= KILL_AFTER, errors
    # clients were cut off mid-request, and none got anything but 201 before that
    assert errors and all(not e[0].isdigit() for e in errors), errors

    servers.append(second := Server(data, log))
    second.wait_ready()
    with httpx.Client(base_url=second.url, timeout=30, headers=auth) as client:
        for sent in acked:
            r = client.get(sent["href"])
            assert r.status_code == 200, sent["claim_id"]
            found = r.json()
            assert found["claim_id"] == sent["claim_id"]
            assert found["claim_sha256"] == sent["claim_sha256"]
            assert found["advices"] == sent["advices"] and len(found["advices"]) == 1
            assert found["history"] == sent["history"]

    # nothing half-written: every stored claim, acknowledged or not, is complete
    engine = create_engine(f"sqlite:///{data / 'vangnet.sqlite3'}")
    try:
        with engine.connect() as db:
            assert db.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            stored = db.execute(text("SELECT count(*) FROM aanvraag")).scalar()
            assert stored is not None and stored >= len(acked)
            incomplete = db.execute(
                text(
                    "SELECT a.id FROM aanvraag a"
                    " WHERE NOT EXISTS (SELECT 1 FROM aanvraag_versie v"
                    "                   WHERE v.aanvraag_id = a.id AND v.number = a.claim_version)"
                    "    OR NOT EXISTS (SELECT 1 FROM statusovergang s WHERE s.aanvraag_id = a.id)"
                    "    OR EXISTS (SELECT 1 FROM aanvraag_versie v WHERE v.aanvraag_id = a.id"
                    "               AND NOT EXISTS (SELECT 1 FROM advies x"
                    "                               WHERE x.claim_version_id = v.id))"
                )
            ).all()
            assert incomplete == []
    finally:
        engine.dispose()
    _check_audit(data, acked)


def _check_audit(data: Path, acked: list[dict[str, Any]]) -> None:
    """The audit log: one unbroken chain, an entry for every acknowledged claim."""
    settings = Settings(env="test", data_dir=data)
    engine = create_db_engine(settings.db_url)
    try:
        audit = AuditLog.from_settings(settings)
        assert audit.verify(engine).ok
        logged = {
            e.object_id
            for e in audit.entries(engine, limit=1_000_000)
            if e.action == "aanvraag.indienen"
        }
        assert {sent["id"] for sent in acked} <= logged
    finally:
        engine.dispose()
