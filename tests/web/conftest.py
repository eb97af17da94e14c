"""Fixtures for the pages: one engine worker pool for the session, a fresh app on SQLite each.

The client speaks https (the session cookie is `Secure`, and httpx keeps such a cookie only
for https addresses) and sends what a browser sends: `Accept: text/html`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from vangnet.evaluate import Decider
from vangnet.service.app import create_app
from vangnet.service.settings import Settings
from vangnet.workers import EngineWorkers

BROWSER = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture(scope="session")
def workers() -> Iterator[EngineWorkers]:
    with EngineWorkers(processes=1) as pool:
        yield pool


@pytest.fixture(scope="session")
def validator() -> Decider:
    return Decider(prime=False)


@pytest.fixture
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(env="test", data_dir=tmp_path_factory.mktemp("data"))


@pytest.fixture
def client(settings: Settings, workers: EngineWorkers, validator: Decider) -> Iterator[TestClient]:
    app = create_app(settings, workers=workers, validator=validator)
    with TestClient(app, base_url="https://testserver", headers=BROWSER) as c:
        yield c
