"""The one module that touches durable-rules (2.0.28, a C Rete engine from 2020).

What was measured about it (`shared/engine/durable-rules.md`) decides the shape:

- its `Host` loses results through timer threads: we call the C module directly, no timers;
- more than 1,024 live sessions, or two live sessions on one ruleset, corrupt memory: one
  session at a time per process (a lock), always deleted after the evaluation, also on error;
- deleting a session in which nothing fired can free an invalid pointer: every session starts
  with a start fact that an anchor rule always fires on, and each ruleset is primed once;
- rulesets cannot be replaced or deleted: each version is compiled once per process, under a
  unique name that includes its content hash;
- the C library has no locks and never releases the GIL: calls are serialised per process;
  throughput comes from more processes (`vangnet.workers`);
- any error inside the C engine marks this process's engine unusable (`EngineFailure`); its
  supervisor replaces the process. A fault in our own code during a session only ends that
  session: the session is deleted and the error passes to the caller.

Every firing is returned as (engine rule name, fact id): the trace that decisions, letters and
auditors use. `Session.assert_actions` gives the same record per engine action (a rule name and
the ids of the facts it matched), so the decision core need not build an object per firing.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, overload

import durable_rules_engine as _c

from vangnet.exceptions import EngineFailure

__all__ = [
    "DURABLE_VERSION",
    "Action",
    "Firing",
    "RuleEngine",
    "Session",
    "Trace",
    "default_engine",
    "fact_members",
    "member_key",
    "member_value",
]

DURABLE_VERSION = "2.0.28"

START = {"id": "$start", "kind": "start"}

# Facts are flat and their ids are ours ("l3", "claim", "$start"): no quote inside an id, and
# no other key ends in a quote followed by `id` (the session key is "sid").
_FACT_ID = re.compile(r'"id":"([^"]*)"')


@dataclass(frozen=True, slots=True)
class Firing:
    """One rule firing: the engine rule's name and the id of the fact it matched."""

    rule: str
    fact_id: str


# One engine action: the engine rule's name and the ids of the facts it matched, in order.
Action = tuple[str, list[str]]


class Trace(Sequence[Firing]):
    """Every firing of an evaluation in order, from the engine's actions: the `Firing`s are
    made when the trace is first read (deciding needs only the actions)."""

    __slots__ = ("_actions", "_firings")

    def __init__(self, *phases: Sequence[Action]) -> None:
        self._actions = phases
        self._firings: tuple[Firing, ...] | None = None

    def firings(self) -> tuple[Firing, ...]:
        if self._firings is None:
            self._firings = tuple(
                Firing(rule, fact_id)
                for actions in self._actions
                for rule, ids in actions
                for fact_id in ids
            )
            self._actions = ()
        return self._firings

    @overload
    def __getitem__(self, index: int) -> Firing: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Firing, ...]: ...
    def __getitem__(self, index: int | slice) -> Firing | tuple[Firing, ...]:
        return self.firings()[index]

    def __len__(self) -> int:
        return len(self.firings())

    def __iter__(self) -> Iterator[Firing]:
        return iter(self.firings())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Trace):
            return self.firings() == other.firings()
        return self.firings() == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.firings())


def _dumps(value: Any) -> str:
    # rules and facts must be encoded alike: strings are compared as raw JSON text
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def fact_members(fields: Mapping[str, Any]) -> str:
    """`fields` as the members of a JSON object, without the braces, encoded as the engine
    compares them: parts shared by many facts are encoded once (`Session.assert_members`)."""
    return _dumps(dict(fields))[1:-1]


def member_key(name: str) -> str:
    """`"name":`, the start of a fact member, encoded as `fact_members` does."""
    return _dumps(name) + ":"


def member_value(value: Any) -> str:
    """One value of a fact member, encoded as `fact_members` does."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return int.__repr__(value)
    return _dumps(value)


class Session:
    """One evaluation's session: assert facts, collect the firings they cause."""

    def __init__(self, engine: RuleEngine, handle: int, sid: str) -> None:
        self._engine = engine
        self._handle = handle
        self._sid = sid
        self._state: int | None = None

    def assert_facts(self, facts: Sequence[dict[str, Any]]) -> list[Firing]:
        """Assert `facts` (each with a unique `id`) and run every action they cause."""
        return [
            Firing(rule, fact_id) for rule, ids in self.assert_actions(facts) for fact_id in ids
        ]

    def assert_actions(self, facts: Sequence[dict[str, Any]]) -> list[Action]:
        """`assert_facts`, with the firings grouped per engine action, in firing order."""
        started = time.perf_counter_ns()
        batch = [{**f, "sid": self._sid} for f in facts]
        return self._assert(_dumps(batch), started)

    def assert_members(self, members: Sequence[str]) -> list[Action]:
        """`assert_actions` for facts given as the members of their JSON objects (built with
        `fact_members` and `member_value`; each with its unique `id`)."""
        started = time.perf_counter_ns()
        head = '{"sid":' + _dumps(self._sid) + ","
        return self._assert("[" + ",".join([head + m + "}" for m in members]) + "]", started)

    def _assert(self, batch: str, started: int) -> list[Action]:
        engine = self._engine
        try:
            result = _c.assert_facts(self._handle, batch)
            # result code 1 only means "some fact matched no rule"; 2 is a duplicate fact
            if result[0] == 2:
                raise EngineFailure("de regelengine weigerde een dubbel feit")
            self._state = result[1]
            actions = engine._drain(self._handle, self._state)
            engine.engine_ns += time.perf_counter_ns() - started
            return actions
        except EngineFailure:
            engine._broken = True
            raise
        except Exception as exc:  # an error inside the C engine: this process is done
            engine._broken = True
            raise EngineFailure(f"de regelengine faalde: {exc}") from exc


class RuleEngine:
    """Compiled rulesets and serialised sessions in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handles: dict[str, int] = {}
        self._sids = itertools.count(1)
        self._broken = False
        # time spent in durable-rules calls (encoding, asserting, the action loop, deleting)
        self.engine_ns = 0

    @property
    def usable(self) -> bool:
        return not self._broken

    def _check(self) -> None:
        if self._broken:
            raise EngineFailure(
                "de regelengine in dit proces is onbruikbaar na een eerdere fout;"
                " het proces moet worden vervangen"
            )

    def register(self, name: str, compiled: dict[str, Any]) -> None:
        """Compile a ruleset once under `name` (unique per content) and prime it."""
        with self._lock:
            self._check()
            if name in self._handles:
                return
            try:
                handle = _c.create_ruleset(name, _dumps(compiled))
            except Exception as exc:
                self._broken = True
                raise EngineFailure(
                    f"de regelengine kon regelset {name} niet laden: {exc}"
                ) from exc
            self._handles[name] = handle
        with self.session(name):  # prime: the first delete_state after something fired
            pass

    def registered(self, name: str) -> bool:
        return name in self._handles

    def _drain(self, handle: int, state: int) -> list[Action]:
        actions: list[Action] = []
        result = _c.start_action_for_state(handle, state)
        message = None if not result else result[1]
        while message:
            # One action is one rule: {"RULE":{"m":FACT}} or, with `cap`, {"RULE":[{"m":FACT}..]}.
            # Only the rule name and the fact ids are needed; reading them with a regular
            # expression is five times faster than decoding every matched fact.
            end = message.index('"', 2)
            actions.append((message[2:end], _FACT_ID.findall(message, end)))
            message = _c.complete_and_start_action(handle, state)
        return actions

    @contextmanager
    def session(self, name: str) -> Iterator[Session]:
        """One evaluation: holds the process lock, starts with the anchor, always deletes."""
        with self._lock:
            self._check()
            handle = self._handles[name]
            sid = str(next(self._sids))
            session = Session(self, handle, sid)
            session.assert_actions([START])
            try:
                yield session
            finally:
                if not self._broken:
                    started = time.perf_counter_ns()
                    try:
                        _c.delete_state(handle, sid)
                        self.engine_ns += time.perf_counter_ns() - started
                    except Exception as exc:
                        self._broken = True
                        raise EngineFailure(
                            f"de regelengine faalde bij het opruimen: {exc}"
                        ) from exc


_default: RuleEngine | None = None
_default_lock = threading.Lock()


def default_engine() -> RuleEngine:
    """The process's engine (created on first use)."""
    global _default  # noqa: PLW0603 - one engine per process is the point
    with _default_lock:
        if _default is None:
            _default = RuleEngine()
        return _default
