"""Evaluations in worker processes, so that a crash of the C engine costs one worker.

durable-rules can crash the process it runs in (`vangnet.engine`). `EngineWorkers` keeps the
engine in child processes (`concurrent.futures.ProcessPoolExecutor`; `multiprocessing.Pool`
hangs forever when a worker dies). When a worker dies or reports that its engine is unusable,
the caller gets a clear `EngineFailure` for that claim and the pool is replaced: the next
evaluation runs in a fresh process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from vangnet.decision import refusal_for
from vangnet.exceptions import ClaimError, EngineFailure, EvaluationError, NoRulesetError

__all__ = [
    "EngineWorkers",
    "current_decider",
    "decide_in_worker",
    "decide_json_in_worker",
    "export_json_in_worker",
]

T = TypeVar("T")

_CRASHED = (
    "de regelengine is tijdens de beoordeling uitgevallen; de aanvraag is niet beoordeeld."
    " Probeer het opnieuw: een nieuw proces neemt het over."
)

_decider: Any = None


def _init_worker() -> None:
    global _decider  # noqa: PLW0603 - one decider per worker process
    from vangnet.evaluate import Decider

    _decider = Decider()  # loads and primes every ruleset in this process


def current_decider() -> Any:
    """The worker process's one Decider (for functions that run in an engine worker)."""
    if _decider is None:
        raise EvaluationError("geen regelengine in dit proces: dit draait alleen in een worker")
    return _decider


def _answered(work: Callable[[], tuple[str, Any]]) -> tuple[str, Any]:
    """Run `work` in a worker and turn our errors into answers the supervisor reads:
    ("refusal", refusal dict), ("engine_failure", {message}) or ("failure", {message})."""
    try:
        return work()
    except (ClaimError, NoRulesetError) as exc:
        return "refusal", refusal_for(exc).model_dump()
    except EngineFailure as exc:
        return "engine_failure", {"message": str(exc)}
    except EvaluationError as exc:
        return "failure", {"message": str(exc)}


def decide_in_worker(
    claim: dict[str, Any],
    scheme: str | None = None,
    version: str | None = None,
    force: bool = False,
) -> tuple[str, Any]:
    """Run in a worker: ("decision", dict), or a refusal or failure (`_answered`)."""

    def work() -> tuple[str, Any]:
        decision = _decider.decide(_decider.validate(claim), scheme, version, force=force)
        return "decision", decision.as_dict()

    return _answered(work)


def decide_json_in_worker(body: bytes) -> tuple[str, Any]:
    """Run in a worker, from the request's bytes to the decision's: the web process neither
    decodes nor validates nor serialises (each of those is CPU the event loop does not have).
    ("decision", JSON bytes), or a refusal or failure (`_answered`)."""

    def work() -> tuple[str, Any]:
        decision = _decider.decide(_decider.validate_json(body))
        return "decision", decision.to_json(indent=None).encode("utf-8")

    return _answered(work)


def export_json_in_worker(body: bytes) -> tuple[str, Any]:
    """Like `decide_json_in_worker`, but the answer is the calculation and decision as an
    Excel workbook: ("xlsx", bytes)."""
    import io

    from vangnet.excel import export_calculation

    def work() -> tuple[str, Any]:
        evaluation = _decider.evaluate(_decider.validate_json(body))
        out = io.BytesIO()
        export_calculation(evaluation, out)
        return "xlsx", out.getvalue()

    return _answered(work)


def _warm() -> int:
    return os.getpid()


class EngineWorkers:
    """A supervised pool of engine processes."""

    def __init__(self, processes: int = 1) -> None:
        self.processes = processes
        self._lock = threading.Lock()
        self._pool = self._new_pool()
        self.replacements = 0

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn: children start clean, without the parent's threads or engine state
        ctx = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(self.processes, mp_context=ctx, initializer=_init_worker)

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                broken.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                self.replacements += 1

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` in a worker; a dead worker becomes an `EngineFailure`."""
        pool = self._pool
        try:
            return pool.submit(fn, *args).result()
        except BrokenProcessPool:
            self._replace(pool)
            raise EngineFailure(_CRASHED) from None

    async def arun(self, fn: Callable[..., tuple[str, Any]], *args: Any) -> tuple[str, Any]:
        """`fn(*args)` in a worker, for an event loop, answered like a decision: `fn` is a
        worker function that returns `(kind, body)` through `_answered`. A dead worker, or
        an engine that reports itself unusable, replaces the pool and raises
        `EngineFailure`; a fault in our code raises `EvaluationError`."""
        pool = self._pool
        try:
            kind, body = await asyncio.wrap_future(pool.submit(fn, *args))
        except BrokenProcessPool:
            self._replace(pool)
            raise EngineFailure(_CRASHED) from None
        return self._answer(pool, kind, body)

    async def adecide_json(self, body: bytes, *, xlsx: bool = False) -> tuple[str, Any]:
        """`decide_json_in_worker` (or, with `xlsx`, `export_json_in_worker`) for an event
        loop."""
        pool = self._pool
        task = export_json_in_worker if xlsx else decide_json_in_worker
        try:
            kind, result = await asyncio.wrap_future(pool.submit(task, body))
        except BrokenProcessPool:
            self._replace(pool)
            raise EngineFailure(_CRASHED) from None
        return self._answer(pool, kind, result)

    def warm(self) -> None:
        """Start every engine process now (each loads and primes the rulesets), so the
        first requests do not wait for it."""
        futures = [self._pool.submit(_warm) for _ in range(self.processes)]
        for future in futures:
            future.result()

    async def adecide(
        self,
        claim: dict[str, Any],
        scheme: str | None = None,
        version: str | None = None,
        *,
        force: bool = False,
    ) -> tuple[str, dict[str, Any]]:
        """`decide` for an event loop: the loop never waits on the engine."""
        pool = self._pool
        try:
            future = pool.submit(decide_in_worker, claim, scheme, version, force)
            kind, body = await asyncio.wrap_future(future)
        except BrokenProcessPool:
            self._replace(pool)
            raise EngineFailure(_CRASHED) from None
        return self._answer(pool, kind, body)

    def _answer(self, pool: ProcessPoolExecutor, kind: str, body: Any) -> tuple[str, Any]:
        if kind == "engine_failure":
            self._replace(pool)
            raise EngineFailure(body["message"])
        if kind == "failure":
            raise EvaluationError(body["message"])
        return kind, body

    def decide(
        self,
        claim: dict[str, Any],
        scheme: str | None = None,
        version: str | None = None,
        *,
        force: bool = False,
    ) -> tuple[str, dict[str, Any]]:
        """Decide in a worker; an unusable engine is replaced after answering this claim."""
        pool = self._pool
        kind, body = self.run(decide_in_worker, claim, scheme, version, force)
        return self._answer(pool, kind, body)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> EngineWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
