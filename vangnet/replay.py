"""Replay stored claims under another ruleset version, and what that would change.

Policy makers ask what a recalibration of the criteria would change; auditors ask whether a
new version decides the old claims as before. `replay(db, "vangnet-herijking@2018.1")` reads
every stored claim of the target's family (its current version, its latest advice and the
besluit in force, if any), decides it again under the target version, and reports per claim
the advice it had, the new outcome and amount, the findings that changed and the assessor's
besluit beside it; and in aggregate the outcome flips per direction and the change in euros,
by municipality size class (`forms/impact/size_classes.yaml`).

Why it looks like this:

- **Read only.** The database is read through the SQLAlchemy models (their column types will
  decrypt the claim JSON transparently once encryption at rest lands), in one read
  transaction, streamed. Nothing is written: a replay never changes a stored advice or
  besluit. The audit entry is the caller's business (`audit_details`).
- **Worker processes.** durable-rules can crash the process it runs in (`vangnet.workers`),
  so the engine runs in a `ProcessPoolExecutor` with one worker per core, on chunks of
  claims. A chunk whose worker crashed (`BrokenProcessPool`) is retried once on its own; if
  it crashes again it is split in halves (bisection) until the claim that crashes it is
  found. That claim is reported as failed and the rest completes.
- **Forced versions.** The target version is used also where it is not in force on a
  claim's reference date; such a claim is marked `forced`, and the summary counts them.
- **Deterministic output.** Results keep the order of the stored claims (by aanvraag id),
  whatever order the workers finish in, so the digest of the results identifies a replay.

Nothing here logs: claims describe threatened people. The outputs carry ids, outcomes,
amounts, rule ids and size classes, never names, addresses or threat details.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal, Protocol, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vangnet import yamlfile
from vangnet.exceptions import DataError, NoRulesetError
from vangnet.jsonout import dumps
from vangnet.money import format_eur
from vangnet.paths import FORMS_DIR

__all__ = [
    "IMPACT_DIR",
    "ChunkRunner",
    "ClaimReplay",
    "ClassImpact",
    "EnginePool",
    "FindingChange",
    "Progress",
    "ReplayReport",
    "ReplayTarget",
    "SizeClass",
    "SizeClasses",
    "StoredClaim",
    "audit_details",
    "chunks",
    "default_processes",
    "family_schemes",
    "load_size_classes",
    "outcome_text",
    "replay",
    "replay_claims",
    "resolve_target",
    "stored_claims",
    "worker_decider",
]

IMPACT_DIR = FORMS_DIR / "impact"

Status = Literal["herberekend", "geweigerd", "mislukt"]

_CRASHED = (
    "de regelengine viel uit bij deze aanvraag, ook toen zij alleen werd herberekend;"
    " de aanvraag is niet herberekend"
)


# --- size classes -----------------------------------------------------------------------------


class _ClassSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    label: str
    low: int = Field(alias="from", ge=1)
    high: int | None = Field(alias="to")
    basis: str


class _UnknownSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    label: str


class _SizeFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: dict[str, str]
    classes: list[_ClassSpec]
    unknown: _UnknownSpec


@dataclass(frozen=True, slots=True)
class SizeClass:
    """One municipality size class: `low` to `high` inhabitants, both inclusive (`high` None:
    open)."""

    key: str
    label: str
    low: int
    high: int | None
    basis: str

    def holds(self, inhabitants: int) -> bool:
        return self.low <= inhabitants and (self.high is None or inhabitants <= self.high)


@dataclass(frozen=True, slots=True)
class SizeClasses:
    """The size classes in order, and the class of claims without municipality figures."""

    classes: tuple[SizeClass, ...]
    unknown_key: str
    unknown_label: str
    source: Mapping[str, str]

    def classify(self, inhabitants: int | None) -> str:
        if inhabitants is not None:
            for c in self.classes:
                if c.holds(inhabitants):
                    return c.key
        return self.unknown_key

    @property
    def keys(self) -> tuple[str, ...]:
        return (*(c.key for c in self.classes), self.unknown_key)

    def label(self, key: str) -> str:
        for c in self.classes:
            if c.key == key:
                return c.label
        return self.unknown_label


def load_size_classes(path: Path | None = None) -> SizeClasses:
    """The size classes of `forms/impact/size_classes.yaml`, checked: they start at 1, follow
    each other without gap or overlap and end open. `DataError` naming the file and class."""
    path = path or IMPACT_DIR / "size_classes.yaml"
    try:
        raw = yamlfile.safe_load(path.read_text(encoding="utf-8"))
        spec = _SizeFile.model_validate(raw)
    except OSError as exc:
        raise DataError(f"{path}: kan niet worden gelezen ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: geen geldige YAML ({exc})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise DataError(f"{path}: {loc}: {first['msg']}") from None
    classes = tuple(SizeClass(c.key, c.label, c.low, c.high, c.basis) for c in spec.classes)
    if not classes:
        raise DataError(f"{path}: classes: er is geen enkele klasse")
    expected = 1
    for n, c in enumerate(classes):
        where = f"{path}: classes[{n}] ({c.key})"
        if c.low != expected:
            raise DataError(f"{where}: from is {c.low}, maar moet {expected} zijn (aansluitend)")
        if c.high is None:
            if n != len(classes) - 1:
                raise DataError(f"{where}: alleen de laatste klasse mag open eindigen (to: null)")
            break
        if c.high < c.low:
            raise DataError(f"{where}: to ({c.high}) ligt onder from ({c.low})")
        expected = c.high + 1
    if classes[-1].high is not None:
        raise DataError(f"{path}: de laatste klasse moet open eindigen (to: null)")
    keys = [c.key for c in classes] + [spec.unknown.key]
    if len(set(keys)) != len(keys):
        raise DataError(f"{path}: elke klasse heeft een eigen key")
    return SizeClasses(classes, spec.unknown.key, spec.unknown.label, spec.source)


# --- the target -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplayTarget:
    """The ruleset version claims are replayed under."""

    scheme: str
    version: str
    family: str
    status: str
    valid_from: date
    valid_to: date | None
    sha256: str

    @property
    def key(self) -> str:
        return f"{self.scheme}@{self.version}"


def resolve_target(key: str, rulesets: Mapping[str, Sequence[Any]] | None = None) -> ReplayTarget:
    """`SCHEME@VERSION` (or `SCHEME`: its newest version) among the published rulesets;
    `NoRulesetError` naming the known versions."""
    from vangnet.rules_diff import find_version
    from vangnet.ruleset import load_rulesets

    rs = find_version(rulesets if rulesets is not None else load_rulesets(), key)
    spec = rs.spec
    return ReplayTarget(
        spec.id, spec.version, spec.family, spec.status, spec.valid_from, spec.valid_to, rs.sha256
    )


def family_schemes(family: str, rulesets: Mapping[str, Sequence[Any]] | None = None) -> list[str]:
    """Every scheme whose versions name `family` (a scheme is its own family when it says so)."""
    from vangnet.ruleset import load_rulesets

    found = rulesets if rulesets is not None else load_rulesets()
    return sorted(s for s, vs in found.items() if any(v.spec.family == family for v in vs))


# --- reading the stored claims ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredClaim:
    """What a replay reads of one stored claim: its current version, the latest advice on
    that version and the besluit in force (the last one), if any."""

    aanvraag_id: str
    claim_id: str
    scheme: str
    reference_date: date
    claim_json: bytes
    advice_ruleset: str  # SCHEME@VERSION
    advice_outcome: str
    advice_cents: int
    decision_json: bytes
    besluit_outcome: str | None
    besluit_cents: int | None


def _query(schemes: Sequence[str], between: tuple[date, date] | None) -> Any:
    from sqlalchemy import and_, func, select

    from vangnet.service.models import Aanvraag, AanvraagVersie, Advies, Besluit

    latest_advice = (
        select(func.max(Advies.id))
        .where(Advies.claim_version_id == AanvraagVersie.id)
        .correlate(AanvraagVersie)
        .scalar_subquery()
    )
    last_besluit = (
        select(func.max(Besluit.number))
        .where(Besluit.aanvraag_id == Aanvraag.id)
        .correlate(Aanvraag)
        .scalar_subquery()
    )
    query = (
        select(
            Aanvraag.id,
            Aanvraag.claim_id,
            Aanvraag.scheme,
            Aanvraag.reference_date,
            AanvraagVersie.claim_json,
            Advies.ruleset_id,
            Advies.ruleset_version,
            Advies.outcome,
            Advies.eligible_total_cents,
            Advies.decision_json,
            Besluit.outcome,
            Besluit.amount_cents,
        )
        .join(
            AanvraagVersie,
            and_(
                AanvraagVersie.aanvraag_id == Aanvraag.id,
                AanvraagVersie.number == Aanvraag.claim_version,
            ),
        )
        .join(Advies, Advies.id == latest_advice)
        .outerjoin(
            Besluit, and_(Besluit.aanvraag_id == Aanvraag.id, Besluit.number == last_besluit)
        )
        .where(Aanvraag.scheme.in_(list(schemes)))
        .order_by(Aanvraag.id)
    )
    if between is not None:
        query = query.where(Aanvraag.reference_date.between(between[0], between[1]))
    return query


def _count(session: Any, schemes: Sequence[str], between: tuple[date, date] | None) -> int:
    from sqlalchemy import func, select

    from vangnet.service.models import Aanvraag

    query = select(func.count()).select_from(Aanvraag).where(Aanvraag.scheme.in_(list(schemes)))
    if between is not None:
        query = query.where(Aanvraag.reference_date.between(between[0], between[1]))
    return int(session.scalar(query) or 0)


def stored_claims(
    session: Any,
    schemes: Sequence[str],
    between: tuple[date, date] | None = None,
    *,
    batch: int = 500,
) -> Iterator[StoredClaim]:
    """The stored claims of `schemes` (reference date within `between`, both inclusive), in
    aanvraag-id order, streamed in batches from `session` (an open read transaction)."""
    result = session.execute(_query(schemes, between).execution_options(yield_per=batch))
    for row in result:
        yield StoredClaim(
            aanvraag_id=row[0],
            claim_id=row[1],
            scheme=row[2],
            reference_date=row[3],
            claim_json=bytes(row[4]),
            advice_ruleset=f"{row[5]}@{row[6]}",
            advice_outcome=row[7],
            advice_cents=int(row[8]),
            decision_json=bytes(row[9]),
            besluit_outcome=row[10],
            besluit_cents=None if row[11] is None else int(row[11]),
        )


# --- in the worker processes ------------------------------------------------------------------

_decider: Any = None
_crash_on: frozenset[str] = frozenset()


def _test_hook_allowed() -> bool:
    """The crash hook for the tests of the bisection works only under pytest and never in
    production: the command line and the pages have no way to set it."""
    return (
        os.environ.get("VANGNET_ENV", "development") != "production"
        and "PYTEST_CURRENT_TEST" in os.environ
    )


def worker_decider() -> Any:
    """The worker process's Decider (for task functions that run in a replay worker)."""
    if _decider is None:
        raise RuntimeError("no decider in this process: this runs only in a replay worker")
    return _decider


def _init_worker(crash_on: frozenset[str]) -> None:
    global _decider, _crash_on  # noqa: PLW0603 - one decider per worker process
    from vangnet.evaluate import Decider

    _decider = Decider(prime=False)
    _crash_on = crash_on if crash_on and _test_hook_allowed() else frozenset()


# one claim's answer from a worker:
# ("herberekend", inhabitants, outcome, cents, forced, ((rule, old, new), ...))
# or ("geweigerd" | "mislukt", inhabitants, message)
Answer = tuple[Any, ...]


_FINDINGS_KEY = '"findings":'
_DECODER = json.JSONDecoder()


def _old_effects(decision_json: bytes) -> dict[str, str]:
    """The effect of each finding of a stored decision. Only its `findings` member is decoded
    (the lines before it are most of the text): in JSON an unescaped `"findings":` can only be
    a key, and a decision has one such key. Anything unexpected: the whole decision decoded."""
    try:
        text = decision_json.decode("utf-8")
        at = text.find(_FINDINGS_KEY)
        if at > 0 and text.count(_FINDINGS_KEY) == 1:
            found, _ = _DECODER.raw_decode(text, at + len(_FINDINGS_KEY))
            if type(found) is list:
                return {f["rule"]: f["effect"] for f in found}
    except (ValueError, TypeError, KeyError):
        pass
    findings = json.loads(decision_json).get("findings", [])
    return {f["rule"]: f["effect"] for f in findings}


def _replay_one(claim_json: bytes, decision_json: bytes, scheme: str, version: str) -> Answer:
    from vangnet.claim import decode_json
    from vangnet.exceptions import ClaimError, EngineFailure, EvaluationError
    from vangnet.money import to_cents

    inhabitants = None
    try:
        claim = _decider.validate(decode_json(claim_json))
        if claim.municipality is not None:
            inhabitants = claim.municipality.inhabitants
        if claim.claim_id in _crash_on and _test_hook_allowed():
            os.kill(os.getpid(), signal.SIGKILL)  # as a crash of the C engine would
        decision = _decider.decide(claim, scheme, version, force=True)
    except (ClaimError, NoRulesetError) as exc:
        # the fields and what is wrong with them, never the values (they may hold claim text)
        problems = "; ".join(f"{p.field}: {p.message}" for p in exc.problems)
        return ("geweigerd", inhabitants, f"geweigerd onder de doelversie: {problems}")
    except EngineFailure:
        # the engine of this process is unusable: end the process, so that the supervisor
        # retries the chunk on a fresh one (and, if it happens again, finds this claim)
        os._exit(70)
    except EvaluationError as exc:
        return ("mislukt", inhabitants, str(exc))
    old = _old_effects(decision_json)
    new = {f.rule: f.effect for f in decision.findings}
    order = [*new, *(r for r in old if r not in new)]
    changes = tuple((r, old.get(r), new.get(r)) for r in order if old.get(r) != new.get(r))
    cents = to_cents(decision.eligible_total_eur)
    return ("herberekend", inhabitants, decision.outcome, cents, decision.forced, changes)


def replay_chunk(items: list[tuple[bytes, bytes]], scheme: str, version: str) -> list[Answer]:
    """Run in a worker: each (claim JSON, advice JSON) decided again under `scheme@version`."""
    return [_replay_one(c, d, scheme, version) for c, d in items]


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FindingChange:
    """A claim-level rule whose effect changed (None: the rule is not in that version)."""

    rule: str
    old: str | None
    new: str | None

    def text(self) -> str:
        return f"{self.rule}: {self.old or '-'} → {self.new or '-'}"


def _eur(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents).scaleb(-2)


@dataclass(frozen=True, slots=True)
class ClaimReplay:
    """One stored claim, replayed."""

    aanvraag_id: str
    claim_id: str
    scheme: str
    reference_date: date
    size_class: str
    advice_ruleset: str
    advice_outcome: str
    advice_cents: int
    besluit_outcome: str | None
    besluit_cents: int | None
    status: Status
    new_outcome: str | None = None
    new_cents: int | None = None
    forced: bool = False
    changes: tuple[FindingChange, ...] = ()
    message: str | None = None

    @property
    def flipped(self) -> bool:
        return self.status == "herberekend" and self.new_outcome != self.advice_outcome

    @property
    def delta_cents(self) -> int:
        if self.status != "herberekend" or self.new_cents is None:
            return 0
        return self.new_cents - self.advice_cents

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": "claim",
            "aanvraag_id": self.aanvraag_id,
            "claim_id": self.claim_id,
            "scheme": self.scheme,
            "reference_date": self.reference_date,
            "size_class": self.size_class,
            "status": self.status,
            "advice": {
                "ruleset": self.advice_ruleset,
                "outcome": self.advice_outcome,
                "eligible_total_eur": _eur(self.advice_cents),
            },
            "replay": None
            if self.status != "herberekend"
            else {
                "outcome": self.new_outcome,
                "eligible_total_eur": _eur(self.new_cents),
                "forced": self.forced,
                "flipped": self.flipped,
                "change_eur": _eur(self.delta_cents),
                "changed_findings": [
                    {"rule": c.rule, "old": c.old, "new": c.new} for c in self.changes
                ],
            },
            "besluit": None
            if self.besluit_outcome is None
            else {"outcome": self.besluit_outcome, "amount_eur": _eur(self.besluit_cents)},
            "message": self.message,
        }


@dataclass(slots=True)
class ClassImpact:
    """The aggregate of one size class (or of all claims)."""

    key: str
    label: str
    claims: int = 0
    replayed: int = 0
    failed: int = 0
    forced: int = 0
    flips: dict[tuple[str, str], int] = field(default_factory=dict)
    old_cents: int = 0
    new_cents: int = 0

    @property
    def flipped(self) -> int:
        return sum(self.flips.values())

    @property
    def delta_cents(self) -> int:
        return self.new_cents - self.old_cents

    def add(self, r: ClaimReplay) -> None:
        self.claims += 1
        if r.status != "herberekend":
            self.failed += 1
            return
        self.replayed += 1
        self.forced += r.forced
        self.old_cents += r.advice_cents
        self.new_cents += r.new_cents or 0
        if r.flipped:
            key = (r.advice_outcome, r.new_outcome or "")
            self.flips[key] = self.flips.get(key, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "size_class": self.key,
            "label": self.label,
            "claims": self.claims,
            "replayed": self.replayed,
            "failed": self.failed,
            "forced": self.forced,
            "flipped": self.flipped,
            "flips": [
                {"from": a, "to": b, "claims": n} for (a, b), n in sorted(self.flips.items())
            ],
            "advice_total_eur": _eur(self.old_cents),
            "replay_total_eur": _eur(self.new_cents),
            "change_eur": _eur(self.delta_cents),
        }


_OUTCOME_NL = {
    "toekennen": "toekennen",
    "gedeeltelijk": "gedeeltelijk",
    "afwijzen": "afwijzen",
    "nader_onderzoek": "nader onderzoek",
}


def outcome_text(outcome: str | None) -> str:
    return "" if outcome is None else _OUTCOME_NL.get(outcome, outcome)


@dataclass(slots=True)
class ReplayReport:
    """A replay: the target, the parameters, every claim's result (iterate over the report)
    and the aggregate by size class."""

    target: ReplayTarget
    schemes: tuple[str, ...]
    between: tuple[date, date] | None
    size_classes: SizeClasses
    results: list[ClaimReplay]
    started_at: datetime
    finished_at: datetime
    processes: int
    pool_restarts: int = 0
    _lines: list[str] | None = None
    _digest: str | None = None

    def __iter__(self) -> Iterator[ClaimReplay]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def simulation(self) -> bool:
        return self.target.status == "simulatie"

    @property
    def by_class(self) -> list[ClassImpact]:
        sc = self.size_classes
        impacts = {k: ClassImpact(k, sc.label(k)) for k in sc.keys}
        for r in self.results:
            impacts[r.size_class].add(r)
        return list(impacts.values())

    @property
    def total(self) -> ClassImpact:
        t = ClassImpact("totaal", "alle aanvragen")
        for r in self.results:
            t.add(r)
        return t

    @property
    def failed(self) -> list[ClaimReplay]:
        return [r for r in self.results if r.status != "herberekend"]

    def claim_lines(self) -> list[str]:
        """One JSON line per claim (no newline); made once."""
        if self._lines is None:
            self._lines = [dumps(r.as_dict()) for r in self.results]
        return self._lines

    @property
    def digest(self) -> str:
        """SHA-256 of the claim lines (each followed by a newline): identifies the results."""
        if self._digest is None:
            h = hashlib.sha256()
            for line in self.claim_lines():
                h.update(line.encode("utf-8"))
                h.update(b"\n")
            self._digest = h.hexdigest()
        return self._digest

    def summary(self) -> dict[str, Any]:
        return {
            "type": "summary",
            "target": {
                "ruleset": self.target.key,
                "status": self.target.status,
                "sha256": self.target.sha256,
                "simulation": self.simulation,
            },
            "schemes": list(self.schemes),
            "between": None if self.between is None else list(self.between),
            "size_classes_source": dict(self.size_classes.source),
            "by_size_class": [c.as_dict() for c in self.by_class],
            "total": self.total.as_dict(),
            "digest_sha256": self.digest,
            "started_at": _stamp(self.started_at),
            "finished_at": _stamp(self.finished_at),
            "processes": self.processes,
            "pool_restarts": self.pool_restarts,
        }

    # --- outputs ----------------------------------------------------------------------------

    def write_jsonl(self, out: IO[str]) -> None:
        """JSON Lines: one line per claim, then the summary line."""
        for line in self.claim_lines():
            out.write(line + "\n")
        out.write(dumps(self.summary()) + "\n")

    def write_xlsx(self, path: Path | IO[bytes]) -> None:
        """An Excel workbook, written in streaming mode: the claims sheet and the summary."""
        _write_xlsx(self, path)

    def text(self) -> str:
        """The summary for people, in Dutch."""
        return _summary_text(self)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def audit_details(report: ReplayReport) -> dict[str, Any]:
    """What the audit entry of a replay holds: its parameters and a digest of its results
    (no claim content)."""
    total = report.total
    return {
        "doelversie": report.target.key,
        "doelversie_sha256": report.target.sha256,
        "regelingen": list(report.schemes),
        "periode": None if report.between is None else [d.isoformat() for d in report.between],
        "aanvragen": total.claims,
        "herberekend": total.replayed,
        "mislukt": total.failed,
        "geforceerd": total.forced,
        "omgeslagen": total.flipped,
        "resultaten_sha256": report.digest,
    }


# --- running ----------------------------------------------------------------------------------


class Progress(Protocol):
    """Where a long run reports how far it is (a progress bar on a terminal)."""

    def start(self, total: int) -> None: ...

    def advance(self, done: int) -> None: ...


class EnginePool:
    """The engine processes of one run (spawned, each with its Decider); replaced when one
    of them dies."""

    def __init__(self, processes: int, crash_on: frozenset[str]) -> None:
        self.processes = processes
        self.crash_on = crash_on
        self.restarts = 0
        self._pool = self._new()

    def _new(self) -> ProcessPoolExecutor:
        # spawn: children start clean, without the parent's threads, connections or engine
        ctx = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(
            self.processes, mp_context=ctx, initializer=_init_worker, initargs=(self.crash_on,)
        )

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        return self._pool.submit(fn, *args)

    def renew(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = self._new()
        self.restarts += 1

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


Chunk = list[Any]
Work = Callable[[Chunk], tuple[Callable[..., Any], tuple[Any, ...]]]


class ChunkRunner:
    """Chunks through the pool in order, a bounded number in flight; crashed chunks retried
    alone, then bisected. `results[n]` holds what chunk n gave, in claim order."""

    def __init__(
        self,
        pool: EnginePool,
        task: Work,
        settle: Callable[[Any, Answer], Any],
        fail: Callable[[Any], Any],
        progress: Progress | None,
    ) -> None:
        self.pool = pool
        self.task = task
        self.settle = settle
        self.fail = fail
        self.progress = progress
        self.results: list[list[Any]] = []
        self._done = 0

    def _submit(self, chunk: Chunk) -> Future[Any]:
        fn, args = self.task(chunk)
        return self.pool.submit(fn, *args)

    def _emit(self, n: int, chunk: Chunk, answers: Sequence[Answer]) -> None:
        self.results[n].extend(self.settle(s, a) for s, a in zip(chunk, answers, strict=True))
        self._advance(len(chunk))

    def _advance(self, k: int) -> None:
        self._done += k
        if self.progress is not None:
            self.progress.advance(self._done)

    def run(self, chunks: Iterable[Chunk]) -> list[Any]:
        window = self.pool.processes * 3
        pending: deque[tuple[int, Chunk, Future[Any]]] = deque()
        for chunk in chunks:
            self.results.append([])
            pending.append((len(self.results) - 1, chunk, self._submit(chunk)))
            if len(pending) >= window:
                self._wait(pending)
        while pending:
            self._wait(pending)
        return [r for part in self.results for r in part]

    def _wait(self, pending: deque[tuple[int, Chunk, Future[Any]]]) -> None:
        n, chunk, future = pending.popleft()
        try:
            answers = future.result()
        except BrokenProcessPool:
            # the pool is broken: every chunk in flight went down with it, except those that
            # had finished; the crashed ones are retried alone
            suspects = [(n, chunk)]
            for m, other, f in pending:
                if isinstance(f.exception(), BrokenProcessPool):
                    suspects.append((m, other))
                else:
                    self._emit(m, other, f.result())  # a result, or its own error raised
            pending.clear()
            self.pool.renew()
            for m, suspect in suspects:
                self._retry(m, suspect)
            return
        self._emit(n, chunk, answers)

    def _alone(self, chunk: Chunk) -> Sequence[Answer] | None:
        """The chunk's answers, run with nothing else in flight; None when it crashed."""
        try:
            answers: Sequence[Answer] = self._submit(chunk).result()
            return answers
        except BrokenProcessPool:
            self.pool.renew()
            return None

    def _retry(self, n: int, chunk: Chunk) -> None:
        answers = self._alone(chunk)
        if answers is None:
            self._bisect(n, chunk)
        else:
            self._emit(n, chunk, answers)

    def _bisect(self, n: int, chunk: Chunk) -> None:
        """`chunk` crashed its worker when run alone: find the claim(s) that do."""
        if len(chunk) == 1:
            self.results[n].append(self.fail(chunk[0]))
            self._advance(1)
            return
        mid = len(chunk) // 2
        for half in (chunk[:mid], chunk[mid:]):
            answers = self._alone(half)
            if answers is None:
                self._bisect(n, half)
            else:
                self._emit(n, half, answers)


def chunks(items: Iterable[Any], size: int) -> Iterator[Chunk]:
    """`items` in lists of `size` (the last may be shorter)."""
    chunk: Chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def default_processes() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def replay_claims(
    claims: Iterable[StoredClaim],
    target: ReplayTarget,
    *,
    total: int | None = None,
    schemes: Sequence[str] = (),
    between: tuple[date, date] | None = None,
    processes: int | None = None,
    chunk_size: int = 200,
    progress: Progress | None = None,
    size_classes: SizeClasses | None = None,
    _crash_claims: frozenset[str] = frozenset(),
) -> ReplayReport:
    """Replay `claims` (already read) under `target`; see `replay`."""
    sizes = size_classes or load_size_classes()
    workers = processes or default_processes()
    started = datetime.now(UTC)

    def task(chunk: Chunk) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        items = [(s.claim_json, s.decision_json) for s in chunk]
        return replay_chunk, (items, target.scheme, target.version)

    def base(s: StoredClaim, inhabitants: int | None) -> dict[str, Any]:
        return {
            "aanvraag_id": s.aanvraag_id,
            "claim_id": s.claim_id,
            "scheme": s.scheme,
            "reference_date": s.reference_date,
            "size_class": sizes.classify(inhabitants),
            "advice_ruleset": s.advice_ruleset,
            "advice_outcome": s.advice_outcome,
            "advice_cents": s.advice_cents,
            "besluit_outcome": s.besluit_outcome,
            "besluit_cents": s.besluit_cents,
        }

    def settle(s: StoredClaim, a: Answer) -> ClaimReplay:
        if a[0] != "herberekend":
            return ClaimReplay(**base(s, a[1]), status=a[0], message=a[2])
        _, inhabitants, outcome, cents, forced, changes = a
        return ClaimReplay(
            **base(s, inhabitants),
            status="herberekend",
            new_outcome=outcome,
            new_cents=cents,
            forced=forced,
            changes=tuple(FindingChange(*c) for c in changes),
        )

    def fail(s: StoredClaim) -> ClaimReplay:
        inhabitants = _inhabitants(s.claim_json)
        return ClaimReplay(**base(s, inhabitants), status="mislukt", message=_CRASHED)

    if progress is not None and total is not None:
        progress.start(total)
    pool = EnginePool(workers, _crash_claims)
    try:
        runner = ChunkRunner(pool, task, settle, fail, progress)
        results = runner.run(chunks(claims, chunk_size))
    finally:
        pool.close()
    return ReplayReport(
        target=target,
        schemes=tuple(schemes),
        between=between,
        size_classes=sizes,
        results=results,
        started_at=started,
        finished_at=datetime.now(UTC),
        processes=workers,
        pool_restarts=pool.restarts,
    )


def _inhabitants(claim_json: bytes) -> int | None:
    """The claim's number of inhabitants, read without the engine (for a claim that crashed
    it); None when the claim gives none or cannot be read."""
    try:
        data = json.loads(claim_json)
        value = data["municipality"]["inhabitants"]
    except (ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def replay(
    db: Any,
    target: str,
    *,
    between: tuple[date, date] | None = None,
    schemes: Sequence[str] | None = None,
    processes: int | None = None,
    chunk_size: int = 200,
    progress: Progress | None = None,
    size_classes: SizeClasses | None = None,
    _crash_claims: frozenset[str] = frozenset(),
) -> ReplayReport:
    """Replay the stored claims in `db` (a SQLAlchemy `Engine`) under `target`
    (`SCHEME@VERSION`). By default the claims of every scheme of the target's family;
    `between` filters on the reference date (both inclusive). The database is only read.

    `NoRulesetError` for an unknown target or a period that ends before it starts. The
    report's results keep the order of the aanvraag ids."""
    from sqlalchemy.orm import Session

    goal = resolve_target(target)
    if between is not None and between[0] > between[1]:
        raise NoRulesetError(
            f"De periode {between[0].isoformat()} tot en met {between[1].isoformat()} eindigt"
            " voor zij begint; geef eerst de vroegste datum.",
            field="between",
            value=f"{between[0].isoformat()} {between[1].isoformat()}",
        )
    chosen = tuple(schemes) if schemes is not None else tuple(family_schemes(goal.family))
    with Session(db) as session, session.begin():
        total = _count(session, chosen, between)
        return replay_claims(
            stored_claims(session, chosen, between),
            goal,
            total=total,
            schemes=chosen,
            between=between,
            processes=processes,
            chunk_size=chunk_size,
            progress=progress,
            size_classes=size_classes,
            _crash_claims=_crash_claims,
        )


# --- the workbook -----------------------------------------------------------------------------

_CLAIM_HEADERS = (
    "Aanvraag-id",
    "Kenmerk",
    "Regeling",
    "Peildatum",
    "Gemeentegrootte",
    "Advies: regelset",
    "Advies: uitkomst",
    "Advies: bedrag",
    "Opnieuw: uitkomst",
    "Opnieuw: bedrag",
    "Verschil",
    "Omgeslagen",
    "Geforceerd",
    "Gewijzigde criteria",
    "Besluit: uitkomst",
    "Besluit: bedrag",
    "Status",
    "Toelichting",
)


def _write_xlsx(report: ReplayReport, target: Path | IO[bytes]) -> None:
    """The workbook: openpyxl (write-only) makes everything but the claim rows; those are
    written as SpreadsheetML text straight into the claims sheet of the archive (see
    `_ClaimRows`): at 100,000 claims openpyxl's per-cell objects cost more than the replay's
    own reading and bookkeeping. `_write_xlsx_reference` writes the same cells the plain way;
    a test compares the two workbooks cell by cell."""
    import io
    import zipfile

    from openpyxl.cell import WriteOnlyCell

    wb, claims = _workbook_without_claims(report)
    euro = WriteOnlyCell(claims, value=0)
    euro.number_format = _EURO
    day = WriteOnlyCell(claims, value=datetime(2000, 1, 1))
    day.number_format = _DAY
    rows = _ClaimRows(euro.style_id, day.style_id, wb.epoch)
    scratch = io.BytesIO()
    wb.save(scratch)  # registers the styles above; the claims sheet holds only its header
    sheet = "xl/worksheets/sheet1.xml"  # the first sheet made (`_workbook_without_claims`)
    written = False
    with (
        zipfile.ZipFile(scratch) as src,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out,
    ):
        for info in src.infolist():
            data = src.read(info)
            if info.filename != sheet:
                out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
                continue
            text = data.decode("utf-8")
            cut = text.index("</sheetData>")
            with out.open(sheet, "w", force_zip64=True) as f:
                f.write(text[:cut].encode("utf-8"))
                block: list[str] = []
                for n, r in enumerate(report.results, start=2):
                    block.append(rows.row(n, _claim_values(report, r)))
                    if len(block) >= 2000:
                        f.write("".join(block).encode("utf-8"))
                        block.clear()
                f.write("".join(block).encode("utf-8"))
                f.write(text[cut:].encode("utf-8"))
            written = True
        if not written:  # openpyxl named its sheets otherwise: never a workbook without rows
            raise RuntimeError(f"{sheet} not in the workbook openpyxl wrote")


def _write_xlsx_reference(report: ReplayReport, target: Path | IO[bytes]) -> None:
    """The workbook written by openpyxl alone, every claim row through its cell objects: the
    reference `_write_xlsx` is checked against."""
    wb, claims = _workbook_without_claims(report)
    row = _Row(claims, money=(7, 9, 10, 15))
    for r in report.results:
        row(_claim_values(report, r))
    wb.save(target)


_EURO = "€ #,##0.00"
_DAY = "yyyy-mm-dd"
_YES_NO = {True: "ja", False: "nee"}


class _Row:
    """Rows for one sheet: plain values where that is safe (fast), a cell with its style
    for money and dates (the style made once and shared), and text that starts with "="
    as a text cell, so that it is never read as a formula."""

    def __init__(self, ws: Any, money: Sequence[int]) -> None:
        from openpyxl.cell import WriteOnlyCell

        self.ws = ws
        self.money = frozenset(money)
        self._new = WriteOnlyCell
        euro = WriteOnlyCell(ws, value=0)
        euro.number_format = _EURO
        day = WriteOnlyCell(ws, value=datetime(2000, 1, 1))
        day.number_format = _DAY
        self._euro, self._day = cast(Any, euro)._style, cast(Any, day)._style

    def _styled(self, value: Any, style: Any) -> Any:
        cell = self._new(self.ws, value=value)
        cast(Any, cell)._style = style  # shared: a write-only cell is written at once
        return cell

    def _cell(self, i: int, v: Any) -> Any:
        if isinstance(v, str):
            if not v.startswith("="):
                return v
            cell = self._new(self.ws, value=v)
            cell.data_type = "s"
            return cell
        if v is None:
            return None
        if i in self.money:
            return self._styled(v, self._euro)
        if isinstance(v, date):
            return self._styled(v, self._day)
        return v

    def __call__(self, values: Sequence[Any]) -> None:
        out = [self._cell(i, v) for i, v in enumerate(values)]
        self.ws.append(out)


def _workbook_without_claims(report: ReplayReport) -> tuple[Any, Any]:
    """The write-only workbook with the claims sheet (frozen header row, no claim rows yet)
    and the summary sheet, complete."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    claims = wb.create_sheet("Aanvragen")
    claims.freeze_panes = "A2"
    _Row(claims, money=())(_CLAIM_HEADERS)
    summary = wb.create_sheet("Samenvatting")
    row = _Row(summary, money=(5, 6, 7))
    for line in _summary_rows(report):
        row(line)
    return wb, claims


def _claim_values(report: ReplayReport, r: ClaimReplay) -> tuple[Any, ...]:
    """One claim's row of the claims sheet (None: an empty cell)."""
    ok = r.status == "herberekend"
    return (
        r.aanvraag_id,
        r.claim_id,
        r.scheme,
        r.reference_date,
        report.size_classes.label(r.size_class),
        r.advice_ruleset,
        outcome_text(r.advice_outcome),
        _eur(r.advice_cents),
        outcome_text(r.new_outcome) if ok else None,
        _eur(r.new_cents) if ok else None,
        _eur(r.delta_cents) if ok else None,
        _YES_NO[r.flipped] if ok else None,
        _YES_NO[r.forced] if ok else None,
        "; ".join(c.text() for c in r.changes) or None,
        outcome_text(r.besluit_outcome) or None,
        _eur(r.besluit_cents),
        r.status,
        r.message,
    )


# what openpyxl refuses in a cell (`openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE`) and its cell
# types for text that names an error value
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ERROR_CODES = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"})
_COLUMNS = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


class _ClaimRows:
    """A claim row as SpreadsheetML text, cell for cell what openpyxl's write-only sheet
    writes for the values `_Row` gives it: text inline (never a formula; `xml:space` kept
    where the text has outer spaces), money and dates with their shared style, numbers as
    `"%.16g"`, dates as Excel serial days, empty cells left out. Text with a character XML
    cannot hold (openpyxl would refuse the workbook) gets U+FFFD in its place."""

    _MONEY = frozenset({7, 9, 10, 15})

    def __init__(self, euro_style: int, day_style: int, epoch: datetime) -> None:
        self.euro = f' s="{euro_style}" t="n"><v>'
        self.day = f' s="{day_style}" t="n"><v>'
        self.epoch = epoch
        self._days: dict[date, str] = {}
        self._texts: dict[str, str] = {}

    def _serial(self, day: date) -> str:
        text = self._days.get(day)
        if text is None:
            from openpyxl.utils.datetime import to_excel

            serial = cast(Any, to_excel)(day, self.epoch)
            text = self._days[day] = "%.16g" % serial  # noqa: UP031 - openpyxl's own format
        return text

    def row(self, n: int, values: Sequence[Any]) -> str:
        cells = [f'<row r="{n}">']
        append = cells.append
        for i, v in enumerate(values):
            if v is None:
                continue
            ref = f'<c r="{_COLUMNS[i]}{n}"'
            kind = type(v)
            if kind is str:
                text = self._texts.get(v) if i >= 2 else None  # the ids are unique
                if text is None:
                    text = _text_cell(v)
                    if i >= 2 and len(self._texts) < 10_000:
                        self._texts[v] = text
                append(ref + text)
            elif i in self._MONEY:
                append(ref + self.euro + ("%.16g" % v) + "</v></c>")  # noqa: UP031 - as openpyxl
            elif kind is date:
                append(ref + self.day + self._serial(v) + "</v></c>")
            elif kind is bool:
                append(ref + ' t="b"><v>' + ("1" if v else "0") + "</v></c>")
            elif kind is int or kind is Decimal:
                append(ref + ' t="n"><v>' + ("%.16g" % v) + "</v></c>")  # noqa: UP031 - as openpyxl
            else:
                raise TypeError(f"no cell for a {kind.__name__}")
        append("</row>")
        return "".join(cells)


def _text_cell(v: str) -> str:
    """What follows the reference of a text cell."""
    if not v:
        return ' t="inlineStr"></c>'
    if v in _ERROR_CODES:
        return ' t="e"><v>' + _xml_text(v) + "</v></c>"
    space = ' xml:space="preserve"' if v != v.strip() else ""
    return f' t="inlineStr"><is><t{space}>{_xml_text(v)}</t></is></c>'


def _xml_text(value: str) -> str:
    value = value[:32767]
    if _ILLEGAL_XML.search(value):
        value = _ILLEGAL_XML.sub("\ufffd", value)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value.replace("\r", "&#13;") if "\r" in value else value


def _summary_rows(report: ReplayReport) -> list[tuple[Any, ...]]:
    t = report.target
    rows: list[tuple[Any, ...]] = [
        ("Doelversie", t.key, "status: " + t.status),
        ("Regelset sha256", t.sha256),
        ("Regelingen", ", ".join(report.schemes)),
    ]
    if report.between is not None:
        first, last = report.between
        rows.append(("Peildatum", f"{first.isoformat()} tot en met {last.isoformat()}"))
    if report.simulation:
        rows.append(("Let op", "De doelversie is een simulatie: dit zijn geen besluiten."))
    rows += [
        ("Vingerafdruk resultaten (sha256)", report.digest),
        (),
        (
            "Gemeentegrootte",
            "Aanvragen",
            "Herberekend",
            "Mislukt",
            "Omgeslagen",
            "Advies totaal",
            "Opnieuw totaal",
            "Verschil",
        ),
    ]
    for c in [*report.by_class, report.total]:
        rows.append(
            (
                c.label,
                c.claims,
                c.replayed,
                c.failed,
                c.flipped,
                _eur(c.old_cents),
                _eur(c.new_cents),
                _eur(c.delta_cents),
            )
        )
    rows += [(), ("Omgeslagen uitkomsten", "Van", "Naar", "Gemeentegrootte", "Aanvragen")]
    for c in report.by_class:
        for (a, b), n in sorted(c.flips.items()):
            rows.append(("", outcome_text(a), outcome_text(b), c.label, n))
    rows.append(("Bron indeling", report.size_classes.source.get("title", "")))
    return rows


# --- the text summary -------------------------------------------------------------------------


def _summary_text(report: ReplayReport) -> str:
    t = report.target
    total = report.total
    out = []
    if report.simulation:
        out.append(
            "SIMULATIE – de doelversie is geen geldende regelgeving; dit zijn geen besluiten."
        )
    out.append(
        f"Herberekening onder {t.key} ({t.status}): {total.claims} aanvraag/aanvragen van"
        f" {', '.join(report.schemes) or '-'}"
        + (
            ""
            if report.between is None
            else f", peildatum {report.between[0].isoformat()} tot en met"
            f" {report.between[1].isoformat()}"
        )
        + "."
    )
    if total.forced:
        out.append(
            f"LET OP: bij {total.forced} aanvraag/aanvragen geldt {t.key} niet op de peildatum;"
            " de versie is daar geforceerd."
        )
    out.append(
        f"Herberekend: {total.replayed}; mislukt: {total.failed}; uitkomst omgeslagen:"
        f" {total.flipped}. Bedrag volgens advies {format_eur(_eur(total.old_cents) or 0)},"
        f" opnieuw {format_eur(_eur(total.new_cents) or 0)}, verschil"
        f" {_signed(total.delta_cents)}."
    )
    out += ["", "Per gemeentegrootte:"]
    for c in report.by_class:
        if not c.claims:
            continue
        out.append(
            f"  {c.label}: {c.claims} aanvraag/aanvragen, {c.flipped} omgeslagen,"
            f" verschil {_signed(c.delta_cents)}"
        )
        for (a, b), n in sorted(c.flips.items()):
            out.append(f"    {outcome_text(a)} → {outcome_text(b)}: {n}")
    failed = report.failed
    if failed:
        out += ["", "Niet herberekend:"]
        for r in failed[:20]:
            out.append(f"  {r.claim_id} ({r.aanvraag_id}): {r.message}")
        if len(failed) > 20:
            out.append(f"  ... en {len(failed) - 20} meer (zie JSON Lines of Excel).")
    out += ["", f"Vingerafdruk van de resultaten (sha256): {report.digest}"]
    return "\n".join(out) + "\n"


def _signed(cents: int) -> str:
    amount = Decimal(abs(cents)).scaleb(-2)
    sign = "+" if cents > 0 else "-" if cents < 0 else ""
    return sign + format_eur(amount)
