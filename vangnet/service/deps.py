"""Dependencies, declared once (async: a plain `def` dependency would cost a thread hop per
request): settings, the claim validator, the engine workers, the store."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from vangnet.evaluate import Decider
from vangnet.service.settings import Settings
from vangnet.service.store import Store
from vangnet.workers import EngineWorkers

__all__ = ["SettingsDep", "StoreDep", "ValidatorDep", "WorkersDep"]


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _validator(request: Request) -> Decider:
    # validates and chooses versions only; decisions run in the engine workers
    validator: Decider = request.app.state.validator
    return validator


async def _workers(request: Request) -> EngineWorkers:
    workers: EngineWorkers = request.app.state.workers
    return workers


async def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


SettingsDep = Annotated[Settings, Depends(_settings)]
ValidatorDep = Annotated[Decider, Depends(_validator)]
WorkersDep = Annotated[EngineWorkers, Depends(_workers)]
StoreDep = Annotated[Store, Depends(_store)]
