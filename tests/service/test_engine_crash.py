"""The engine process dies mid-request: that request gets a 503 problem, the next one a 200 from
a fresh engine process, and the service itself never stops answering."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from fastapi.testclient import TestClient

from tests.conftest import PUBLIC_SCENARIOS
from tests.test_cli_serve import running_server
from vangnet.service.problems import PROBLEM_JSON
from vangnet.service.settings import Settings
from vangnet.workers import EngineWorkers

P06 = (PUBLIC_SCENARIOS / "P06.claim.json").read_bytes()
JSON = {"content-type": "application/json"}


def hang_in_every_decision(started: str) -> int:
    """Runs in the engine worker: each decision from now on first touches `started`, then hangs
    (until the test kills this process). Returns the worker's pid."""
    from vangnet import workers

    decider = workers._decider
    decide = decider.decide

    def hanging(*args: Any, **kwargs: Any) -> Any:
        Path(started).touch()
        time.sleep(120)
        return decide(*args, **kwargs)

    decider.decide = hanging
    return os.getpid()


def _wait_for(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _assert_engine_problem(r: httpx.Response) -> None:
    assert r.status_code == 503
    assert r.headers["content-type"] == PROBLEM_JSON
    body = r.json()
    assert body["status"] == 503 and body["title"] == "Tijdelijk niet beschikbaar"
    assert body["code"] == "regelengine_uitgevallen"
    assert "uitgevallen" in body["detail"] and "opnieuw" in body["detail"]


@pytest.fixture
def pool() -> Iterator[EngineWorkers]:
    """A pool of its own: this test breaks it."""
    with EngineWorkers(processes=1) as workers:
        yield workers


def test_the_engine_killed_mid_decision_costs_one_request(
    settings: Settings, pool: EngineWorkers, tmp_path: Path
) -> None:
    from vangnet.service.app import create_app

    started = tmp_path / "decision-started"
    with TestClient(create_app(settings, workers=pool)) as client:
        assert client.post("/v1/evaluaties", content=P06, headers=JSON).status_code == 200
        pid = pool.run(hang_in_every_decision, str(started))

        answers: list[httpx.Response] = []
        request = threading.Thread(
            target=lambda: answers.append(client.post("/v1/evaluaties", content=P06, headers=JSON))
        )
        request.start()
        _wait_for(started.exists, "the decision to start in the engine worker")
        os.kill(pid, signal.SIGKILL)
        request.join(timeout=30)
        assert not request.is_alive()
        _assert_engine_problem(answers[0])

        r = client.post("/v1/evaluaties", content=P06, headers=JSON)
        assert r.status_code == 200 and '"eligible_total_eur":16850.00' in r.text
        assert pool.run(os.getpid) != pid  # a fresh engine process
        assert client.get("/v1/health").json()["engine_replacements"] == 1


@pytest.mark.slow
def test_the_served_process_survives_its_engine_being_killed(tmp_path: Path) -> None:
    with running_server(tmp_path) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.post("/v1/evaluaties", content=P06, headers=JSON).status_code == 200
        web = psutil.Process(server.process.pid)
        engines = [p for p in web.children() if "spawn_main" in " ".join(p.cmdline())]
        assert len(engines) == 1
        engine = engines[0]
        # frozen, the engine holds the next request in flight until it is killed
        engine.send_signal(signal.SIGSTOP)
        answers: list[httpx.Response] = []
        request = threading.Thread(
            target=lambda: answers.append(c.post("/v1/evaluaties", content=P06, headers=JSON))
        )
        request.start()
        time.sleep(0.5)
        assert request.is_alive()
        engine.kill()
        request.join(timeout=30)
        _assert_engine_problem(answers[0])

        assert c.post("/v1/evaluaties", content=P06, headers=JSON).status_code == 200
        assert c.get("/v1/health").json()["engine_replacements"] == 1
        assert server.process.poll() is None
        fresh = [p for p in web.children() if "spawn_main" in " ".join(p.cmdline())]
        assert [p.pid for p in fresh] != [engine.pid] and len(fresh) == 1
