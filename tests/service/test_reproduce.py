"""`vangnet verify`: every demo decision is reproduced exactly from its stored claim, ruleset
version and catalogue (SQLite and PostgreSQL); a changed advice is named at its first
differing path; what may differ (the engine's name, the time) is ignored."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from vangnet.claim import decode_json
from vangnet.evaluate import Decider
from vangnet.jsonout import dumps
from vangnet.service import crypto, retention
from vangnet.service.db import WRITE, create_db_engine
from vangnet.service.demo import seed_demo
from vangnet.service.models import Advies, Besluit
from vangnet.service.reproduce import first_difference, verify
from vangnet.service.settings import Settings
from vangnet.service.store import NotFound
from vangnet.workers import EngineWorkers


def _rewrite(engine: Engine, advies_id: int, change: Callable[[dict[str, Any]], object]) -> bytes:
    """Change the stored advice `advies_id` with `change(decision)`; the old bytes."""
    with Session(engine.execution_options(**WRITE)) as session, session.begin():
        advice = session.get_one(Advies, advies_id)
        old = advice.decision_json
        decision = decode_json(old)
        change(decision)
        advice.decision_json = dumps(decision).encode()
        return old


def _restore(engine: Engine, advies_id: int, old: bytes) -> None:
    with Session(engine.execution_options(**WRITE)) as session, session.begin():
        session.get_one(Advies, advies_id).decision_json = old


def test_every_demo_decision_is_reproduced_and_a_change_is_named(
    database_url: str,
    tmp_path: Path,
    workers: EngineWorkers,
    validator: Decider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(crypto, "_ring", None)
    monkeypatch.setattr(retention, "_years", None)
    settings = Settings(
        env="test", data_dir=tmp_path / "data", database_url=database_url, demo=True
    )
    crypto.configure(settings)
    seed_demo(settings, workers=workers, validator=validator)
    engine = create_db_engine(database_url)
    decider = Decider(prime=False)
    try:
        with Session(engine) as session:
            besluiten = session.execute(select(Besluit.id, Besluit.advies_id)).all()
        assert len(besluiten) >= 4  # the demo decides, overrides, corrects, and decides again
        for besluit_id, _ in besluiten:
            result = verify(engine, besluit_id, decider=decider)
            assert result.equal, result.text()
            assert result.text() == "gelijk\n"

        besluit_id, advies_id = besluiten[0]
        # the engine's name and the time of the evaluation may differ
        old = _rewrite(
            engine,
            advies_id,
            lambda d: d["receipt"].update(
                engine="vangnet 0.0.1", evaluated_at="2020-01-01T00:00:00Z"
            ),
        )
        assert verify(engine, besluit_id, decider=decider).equal
        _restore(engine, advies_id, old)

        # anything else is named at its first path, with both values
        def change(d: dict[str, Any]) -> None:
            d["lines"][0]["eligible_eur"] += Decimal("0.01")
            d["outcome"] = "afwijzen"  # comes earlier in the document: named first

        old = _rewrite(engine, advies_id, change)
        result = verify(engine, besluit_id, decider=decider)
        stored = decode_json(old)
        assert result.path == "outcome"
        assert result.stored == '"afwijzen"' and result.recomputed == f'"{stored["outcome"]}"'
        assert "verschilt bij outcome" in result.text()
        _restore(engine, advies_id, old)
        assert verify(engine, besluit_id, decider=decider).equal

        with pytest.raises(NotFound):
            verify(engine, "onbekend", decider=decider)
    finally:
        engine.dispose()


def test_the_first_difference() -> None:
    base = b'{"a":1,"lines":[{"x":2600.00,"y":"p"}],"receipt":{"engine":"e","evaluated_at":"t"}}'
    same = b'{"a":1,"lines":[{"x":2600.00,"y":"p"}],"receipt":{"engine":"f","evaluated_at":"u"}}'
    assert first_difference(base, same) is None
    number = b'{"a":1,"lines":[{"x":2600.0,"y":"p"}],"receipt":{"engine":"e","evaluated_at":"t"}}'
    assert first_difference(base, number) == ("lines.0.x", "2600.00", "2600.0")
    longer = b'{"a":1,"lines":[{"x":2600.00,"y":"p"},{}],"receipt":{}}'
    assert first_difference(base, longer) == ("lines.1", "(ontbreekt)", "{}")
    extra = b'{"a":1,"lines":[{"x":2600.00,"y":"p","z":null}],"receipt":{"engine":"e"}}'
    assert first_difference(base, extra) == ("lines.0.z", "(ontbreekt)", "null")
    order = b'{"lines":[{"x":2600.00,"y":"p"}],"a":1,"receipt":{"engine":"e","evaluated_at":"t"}}'
    assert first_difference(base, order) == (
        "(beslissing)",
        "a, lines, receipt",
        "lines, a, receipt",
    )
