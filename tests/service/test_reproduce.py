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

from tests.conftest import PUBLIC_SCENARIOS
from vangnet.claim import canonical_claim, decode_json
from vangnet.evaluate import Decider
from vangnet.jsonout import dumps
from vangnet.service import crypto, retention
from vangnet.service.db import WRITE, create_db_engine
from vangnet.service.demo import seed_demo
from vangnet.service.models import Advies, Besluit
from vangnet.service.reproduce import first_difference, rerun, verify
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


def test_a_rerun_reads_nothing_stored_and_names_what_cannot_be_reproduced(
    validator: Decider,
) -> None:
    """`rerun` is the comparison alone: bytes in, the first difference (or None) out."""
    decider = Decider(prime=False)
    claim = decider.validate(decode_json((PUBLIC_SCENARIOS / "P06.claim.json").read_bytes()))
    decided = decider.evaluate(claim).decision.as_dict()
    claim_json, decision_json = canonical_claim(claim), dumps(decided).encode("utf-8")
    rs, catalogue = decided["ruleset"], decided["receipt"]["catalogue_sha256"]

    def again(claim_bytes: bytes = claim_json, decision_bytes: bytes = decision_json,
              version: str = rs["version"], sha: str = catalogue) -> Any:  # fmt: skip
        return rerun(claim_bytes, decision_bytes, rs["id"], version, sha, decider=decider)

    assert again() is None
    changed = decode_json(decision_json)
    changed["lines"][0]["eligible_eur"] = "1.00"
    assert again(decision_bytes=dumps(changed).encode("utf-8")) == (
        "lines.0.eligible_eur",
        '"1.00"',
        dumps(decided["lines"][0]["eligible_eur"]),
    )
    assert again(sha="0" * 64) == ("receipt.catalogue_sha256", f'"{"0" * 64}"', "(ontbreekt)")
    path, stored, new = again(version="1999.9")
    assert (path, stored) == ("(beoordeling)", '"een beslissing"') and new.startswith("geweigerd:")
    broken = decode_json(claim_json)
    del broken["reference_date"]
    path, stored, new = again(claim_bytes=dumps(broken).encode("utf-8"))
    assert (path, new) == ("(beoordeling)", "geweigerd bij reference_date")
