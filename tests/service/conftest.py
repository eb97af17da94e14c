"""Fixtures for the service: one engine worker pool for the whole session, a fresh app each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from vangnet.service.app import create_app
from vangnet.service.settings import Settings
from vangnet.workers import EngineWorkers


@pytest.fixture(scope="session")
def workers() -> Iterator[EngineWorkers]:
    with EngineWorkers(processes=1) as pool:
        yield pool


@pytest.fixture
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(env="test", data_dir=tmp_path_factory.mktemp("data"))


@pytest.fixture
def client(settings: Settings, workers: EngineWorkers) -> Iterator[TestClient]:
    with TestClient(create_app(settings, workers=workers)) as c:
        yield c
