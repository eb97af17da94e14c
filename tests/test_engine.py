"""The engine adapter: sessions, the anchor, cleanup on error, and failure of the C engine."""

from __future__ import annotations

import json
import threading

import durable_rules_engine
import pytest

from vangnet.engine import Firing, RuleEngine
from vangnet.exceptions import EngineFailure

RULES = {
    "$anker": {"all": [{"m": {"kind": "start"}}]},
    "R#0": {"all": [{"m": {"$and": [{"kind": "line"}, {"x": 1}]}}], "cap": 1000},
    "R#1": {"all": [{"m": {"$and": [{"kind": "line"}, {"$ex": {"y": 1}}, {"$gt": {"y": 5}}]}}]},
    "C#0": {"all": [{"m": {"$and": [{"kind": "claim"}, {"name": "zoë"}]}}]},
}


@pytest.fixture
def engine() -> RuleEngine:
    e = RuleEngine()
    e.register(f"test-{id(e)}", RULES)
    return e


def _name(engine: RuleEngine) -> str:
    return f"test-{id(engine)}"


def test_two_phases_in_one_session_record_every_firing(engine: RuleEngine) -> None:
    with engine.session(_name(engine)) as s:
        lines = s.assert_facts(
            [{"id": "l0", "kind": "line", "x": 1}, {"id": "l1", "kind": "line", "x": 1, "y": 9},
             {"id": "l2", "kind": "line", "y": 2}]
        )  # fmt: skip
        claim = s.assert_facts([{"id": "claim", "kind": "claim", "name": "zoë"}])
    assert sorted(lines, key=lambda f: (f.rule, f.fact_id)) == [
        Firing("R#0", "l0"), Firing("R#0", "l1"), Firing("R#1", "l1"),
    ]  # fmt: skip
    assert claim == [Firing("C#0", "claim")]


def test_sessions_are_deleted_also_when_our_code_fails(engine: RuleEngine) -> None:
    # more evaluations than the C engine's 1,024 live sessions: each one must be deleted
    for i in range(1100):
        with pytest.raises(ZeroDivisionError), engine.session(_name(engine)) as s:
            s.assert_facts([{"id": "l0", "kind": "line", "x": 1}])
            _ = i / 0
    assert engine.usable
    with engine.session(_name(engine)) as s:
        assert s.assert_facts([{"id": "l0", "kind": "line", "x": 1}]) == [Firing("R#0", "l0")]


def test_a_session_in_which_only_the_anchor_fired_is_deleted_safely(engine: RuleEngine) -> None:
    for _ in range(50):
        with engine.session(_name(engine)) as s:
            assert s.assert_facts([{"id": "n", "kind": "other"}]) == []


def test_an_error_inside_the_c_engine_makes_the_engine_unusable(engine: RuleEngine) -> None:
    with pytest.raises(EngineFailure), engine.session(_name(engine)) as s:
        s.assert_facts([{"id": "l0", "kind": "line", "x": 1}, {"id": "l0", "kind": "line", "x": 1}])
    assert not engine.usable
    with pytest.raises(EngineFailure, match="onbruikbaar"), engine.session(_name(engine)):
        pass


def test_a_bad_ruleset_is_an_engine_failure() -> None:
    engine = RuleEngine()
    with pytest.raises(EngineFailure, match="kon regelset"):
        engine.register("bad", {"R": {"all": [{"m": {"$zz": {"x": 1}}}], "run": 1}})
    assert not engine.usable


def test_engine_calls_are_serialised_across_threads(engine: RuleEngine) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(300):
                with engine.session(_name(engine)) as s:
                    got = s.assert_facts([{"id": "l0", "kind": "line", "x": 1, "y": 7}])
                    assert sorted(f.rule for f in got) == ["R#0", "R#1"]
        except BaseException as exc:  # noqa: BLE001 - collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_the_module_is_the_real_c_engine() -> None:
    assert hasattr(durable_rules_engine, "assert_facts")


def test_facts_given_as_members_fire_as_the_same_facts(engine: RuleEngine) -> None:
    from vangnet.engine import fact_members, member_key, member_value

    facts = [
        {"id": "l0", "kind": "line", "x": 1},
        {"id": "l1", "kind": "line", "x": 1, "y": 9},
        {"id": "l2", "kind": "line", "y": 2},
    ]
    members = []
    for f in facts:
        shared = {k: v for k, v in f.items() if k != "y"}
        text = fact_members(shared)
        if "y" in f:
            text += "," + member_key("y") + member_value(f["y"])
        assert json.loads("{" + text + "}") == f
        members.append(text)
    with engine.session(_name(engine)) as s:
        by_members = s.assert_members(members)
    with engine.session(_name(engine)) as s:
        by_dicts = s.assert_actions(facts)
    assert sorted(by_members) == sorted(by_dicts)
    assert sorted((r, i) for r, ids in by_members for i in ids) == [
        ("R#0", "l0"), ("R#0", "l1"), ("R#1", "l1"),
    ]  # fmt: skip


@pytest.mark.parametrize("value", [True, False, 0, -3, 20160510, 'zoë "x"', None, 1.5])
def test_member_values_encode_as_fact_members_do(value: object) -> None:
    from vangnet.engine import fact_members, member_key, member_value

    assert member_key("v") + member_value(value) == fact_members({"v": value})


def test_a_trace_makes_its_firings_when_read() -> None:
    from vangnet.engine import Trace

    trace = Trace([("R#0", ["l0", "l1"]), ("R#1", ["l1"])], [("C#0", ["claim"])])
    expected = (Firing("R#0", "l0"), Firing("R#0", "l1"), Firing("R#1", "l1"),
                Firing("C#0", "claim"))  # fmt: skip
    assert trace == expected
    assert tuple(trace) == expected
    assert len(trace) == 4
    assert trace[-1] == Firing("C#0", "claim")
    assert trace[1:3] == expected[1:3]
    assert trace == Trace([("R#0", ["l0", "l1"]), ("R#1", ["l1"]), ("C#0", ["claim"])])
    assert repr(trace) == repr(expected)
