"""A crash of the C engine costs one worker process, never the caller."""

from __future__ import annotations

import ctypes
import json

import pytest

from tests.conftest import PUBLIC_SCENARIOS
from vangnet.exceptions import EngineFailure
from vangnet.workers import EngineWorkers


def crash_the_c_engine() -> None:
    """Make the C engine read freed memory: a segfault in the worker (runs in the child)."""
    import durable_rules_engine

    handle = durable_rules_engine.create_ruleset(
        "crash", json.dumps({"r": {"all": [{"m": {"a": 1}}]}})
    )
    durable_rules_engine.delete_ruleset(handle)
    # the handle now points at freed memory; touching it again crashes the process, and if the
    # allocator happens to survive that, dereferencing NULL surely does
    try:
        durable_rules_engine.assert_fact(handle, json.dumps({"id": 1, "sid": "1", "a": 1}))
    finally:
        ctypes.string_at(0)


def break_the_engine_in_this_worker() -> None:
    """Point the worker's engine at a ruleset handle that does not exist (an engine error)."""
    from vangnet import workers

    decider = workers._decider
    for name in list(decider.engine._handles):
        decider.engine._handles[name] = 987654


def _claim(name: str = "P01") -> dict[str, object]:
    data: dict[str, object] = json.loads((PUBLIC_SCENARIOS / f"{name}.claim.json").read_text())
    return data


@pytest.fixture(scope="module")
def workers() -> EngineWorkers:
    with EngineWorkers(processes=1) as w:
        yield w


def test_a_decision_from_a_worker(workers: EngineWorkers) -> None:
    kind, body = workers.decide(_claim())
    assert kind == "decision" and body["outcome"] == "toekennen"
    kind, body = workers.decide({**_claim(), "reference_date": "2000-01-01"})
    assert kind == "refusal" and body["error"]["code"] == "geen_regelset"


def test_a_crashed_worker_gives_a_clear_error_and_the_next_claim_is_decided(
    workers: EngineWorkers,
) -> None:
    before = workers.replacements
    with pytest.raises(EngineFailure, match="uitgevallen"):
        workers.run(crash_the_c_engine)
    assert workers.replacements == before + 1
    kind, body = workers.decide(_claim("P06"))
    assert kind == "decision" and body["eligible_total_eur"] == body["eligible_total_eur"]
    assert str(body["eligible_total_eur"]) == "16850.00"


def test_an_engine_error_in_a_worker_replaces_it(workers: EngineWorkers) -> None:
    workers.run(break_the_engine_in_this_worker)
    before = workers.replacements
    with pytest.raises(EngineFailure, match="regelengine"):
        workers.decide(_claim())
    assert workers.replacements == before + 1
    kind, _ = workers.decide(_claim())
    assert kind == "decision"


def test_arun_answers_like_a_decision_and_replaces_an_unusable_engine(
    workers: EngineWorkers,
) -> None:
    """`arun` (the pages' and the counterfactual route's way in) replaces the pool when the
    engine reports itself unusable, as `adecide` does; before, a `run` from a thread did not."""
    import asyncio

    from vangnet.web.worker import PRECHECK, precheck_in_worker

    kind, body = asyncio.run(workers.arun(precheck_in_worker, _claim("P06")))
    assert kind == PRECHECK and body["decision"]["outcome"] == "gedeeltelijk"
    workers.run(break_the_engine_in_this_worker)
    before = workers.replacements
    with pytest.raises(EngineFailure, match="regelengine"):
        asyncio.run(workers.arun(precheck_in_worker, _claim()))
    assert workers.replacements == before + 1
    kind, _ = asyncio.run(workers.arun(precheck_in_worker, _claim()))
    assert kind == PRECHECK
