"""Demo data for a development or test installation: `seed_demo(settings)`.

The data is a file, `forms/demo/demo.yaml`: fictitious municipalities (marked "(demo)", with
CBS codes that belong to no municipality) and claims, each with the steps that bring it to
its status. Seeding applies pending migrations and then goes through exactly what the API
does: the claim is validated, a simulation is refused, the engine workers evaluate it
(`vangnet.service.intake.evaluate`), and the store keeps it (`Store.submit`,
`Store.transition`); a supplement is evaluated again. A besluit, a correction, an objection
and a decision on an objection go through `vangnet.service.deciding`, as their resources do:
the body checked against the advice, the letter made in an engine worker and stored as PDF
with its sha256.

Idempotent: every demo claim is submitted with an Idempotency-Key (`idempotency_prefix` +
its key), so a second run finds it and adds nothing; the steps a claim already shows are not
taken again, so an interrupted run finishes where it stopped. What a claim shows is its
history (every transition, the first besluit included) followed by its besluiten: each
replacing besluit (a correction, a decision on an objection) and each objection registered,
in their order. A claim that was moved on by hand (what it shows no longer follows the file)
is left alone.

Who acts is a demo account: seeding first creates the demo organisations and accounts
(`Accounts.seed_demo_accounts`, `forms/demo/accounts.yaml`), then submits each claim as the
aanvrager of its organisation (which becomes its owner) and takes the deciding organisation's
steps as its beoordelaar (forms/organisaties.yaml), so every step is authorised and audited
as through the API. The report lists the demo accounts with their passwords, to print: they
are public and exist only in demo mode. A demo claim stored before accounts existed (without
an owner) is given its organisations first (`Store.assign_organisations`).

Refused when `VANGNET_ENV=production`: demo claims never enter a real register. Refused
outside demo mode (VANGNET_DEMO=1): without the demo accounts nobody could see the claims.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.engine import make_url

from vangnet import yamlfile
from vangnet.claim import Claim, claim_sha256
from vangnet.evaluate import Decider
from vangnet.exceptions import ClaimError, NoRulesetError, VangnetError
from vangnet.money import format_eur
from vangnet.paths import FORMS_DIR
from vangnet.service import crypto, deciding
from vangnet.service.accounts import Accounts, DemoAccount
from vangnet.service.audit import AuditLog
from vangnet.service.authz import decider_for
from vangnet.service.brief import letter_date
from vangnet.service.db import create_db_engine, migrate
from vangnet.service.identity import Identity
from vangnet.service.intake import evaluate, refuse_simulation
from vangnet.service.lifecycle import TRANSITIONS, Status, today_nl
from vangnet.service.problems import ApiProblem
from vangnet.service.schemas import AanvullingsverzoekIn, ToelichtingIn
from vangnet.service.schemas_besluit import Outcome
from vangnet.service.settings import Settings
from vangnet.service.store import IdempotencyConflict, Store, StoreError, TransitionRefused
from vangnet.workers import EngineWorkers

__all__ = [
    "DEMO_FILE",
    "DemoClaim",
    "DemoData",
    "DemoError",
    "DemoRefused",
    "SeedReport",
    "claim_versions",
    "load_demo",
    "refuse_production",
    "seed_demo",
]

DEMO_FILE = FORMS_DIR / "demo" / "demo.yaml"

# The steps a demo claim can take, by the name of their resource: the claim's transitions
# (POST /v1/aanvragen/{id}/<action>, `besluit` among them), then what is done with its
# current besluit (POST /v1/besluiten/{id}/<action>).
Action = Literal[
    "in-behandeling",
    "aanvullingsverzoeken",
    "aanvullingen",
    "intrekking",
    "besluit",
    "correcties",
    "bezwaren",
    "beslissingen-op-bezwaar",
]
_DECIDING = {"besluit", *deciding.REPLACEMENTS}  # steps with a besluit's body
_ON_BESLUIT = {"bezwaren", *deciding.REPLACEMENTS}  # steps on the current besluit

_DEMO_CODE = re.compile(r"^GM99\d\d$")  # CBS numbers no municipality this high
_PSEUDONYM = re.compile(r"^[A-Z]{2}-D\d{2}$")  # role prefix + "-D" + number, never a name


class DemoError(VangnetError):
    """The demo data could not be loaded; the message says why, in Dutch."""


class DemoRefused(DemoError):
    """Demo data is never loaded into a production database."""


def refuse_production(env: str) -> None:
    """`DemoRefused` when `env` is production."""
    if env == "production":
        raise DemoRefused(
            "vangnet laadt geen demogegevens: VANGNET_ENV=production. Demo-aanvragen horen"
            " nooit in een echt register; gebruik VANGNET_ENV=development of test."
        )


# --- the file ---------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Municipality(_Model):
    """A fictitious municipality and its figures for one budget year."""

    name: str = Field(min_length=1)
    code: str
    inhabitants: int = Field(gt=0)
    total_expenditure_eur: int = Field(gt=0)
    security_budget_eur: int = Field(ge=0)
    budget_year: int
    note: str

    @model_validator(mode="after")
    def _marked_as_demo(self) -> Municipality:
        if "(demo)" not in self.name:
            raise ValueError(f"{self.name}: de naam van een demogemeente eindigt op (demo)")
        if not _DEMO_CODE.match(self.code):
            raise ValueError(
                f"{self.code}: een demogemeente heeft een CBS-code GM9900-GM9999, die bij geen"
                " echte gemeente hoort"
            )
        return self

    def figures(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """The claim's `municipality` block; `overrides` may lower what is left of the
        budget line this year."""
        unknown = set(overrides) - {"security_budget_eur"}
        if unknown:
            raise ValueError(
                f"municipality: alleen security_budget_eur mag per aanvraag anders zijn,"
                f" niet {', '.join(sorted(unknown))}"
            )
        left = overrides.get("security_budget_eur", self.security_budget_eur)
        if not isinstance(left, int) or not 0 <= left <= self.security_budget_eur:
            raise ValueError(
                f"municipality.security_budget_eur: wat over is van het budget ligt tussen 0"
                f" en {self.security_budget_eur}"
            )
        return {
            "name": self.name,
            "code": self.code,
            "inhabitants": self.inhabitants,
            "total_expenditure_eur": self.total_expenditure_eur,
            "security_budget_eur": left,
        }


class Step(_Model):
    """One step after submission: a transition, or a step on the current besluit."""

    action: Action
    reason: str | None = None
    changes: dict[str, Any] | None = None
    # a besluit, a correction or a decision on an objection: the body of its resource
    outcome: Outcome | None = None
    amount_eur: Decimal | None = None
    motivation: str | None = None

    def token(self) -> str:
        """What the stored claim shows once the step is taken: the status a transition
        leads to, the kind of a replacing besluit, or `bezwaar`."""
        if self.action == "bezwaren":
            return "bezwaar"
        if self.action in deciding.REPLACEMENTS:
            return deciding.REPLACEMENTS[self.action]
        return TRANSITIONS[self.action].target

    def body(self) -> dict[str, Any]:
        """The request body of a step with a besluit."""
        body: dict[str, Any] = {"outcome": self.outcome, "amount_eur": self.amount_eur}
        if self.motivation is not None:
            body["motivation"] = self.motivation
        return body


class DemoClaim(_Model):
    """A demo claim: the claim, the steps after submission, the status they lead to."""

    key: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    status: Status
    explanation: str = Field(min_length=1)
    gemeente: str | None = None
    # without `gemeente`: the demo organisation that submits it
    organisatie: str | None = Field(default=None, pattern=r"^(GM\d{4}|PV\d{2}|WS\d{4}|BZK)$")
    claim: dict[str, Any]
    steps: tuple[Step, ...] = ()


class DemoData(_Model):
    """The whole demo file."""

    version: int
    written_on: date
    idempotency_prefix: str = Field(pattern=r"^[\x21-\x7e]{1,64}$")
    municipalities: dict[str, Municipality]
    claims: tuple[DemoClaim, ...] = Field(min_length=1)

    def key(self, entry: DemoClaim) -> str:
        """The claim's Idempotency-Key."""
        return f"{self.idempotency_prefix}-{entry.key}"

    def owner(self, entry: DemoClaim) -> str:
        """The organisation that submits the claim: its municipality, or `organisatie`."""
        if entry.gemeente is not None:
            return self.municipalities[entry.gemeente].code
        assert entry.organisatie is not None  # noqa: S101 - _check requires one of the two
        return entry.organisatie


def _plain(value: Any) -> Any:
    """YAML values as the claim decoder gives them: dates as ISO text, numbers exact."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `changes`: objects merge key by key; lists and values are replaced."""
    out = dict(base)
    for k, v in changes.items():
        old = out.get(k)
        out[k] = _merge(old, v) if isinstance(old, dict) and isinstance(v, dict) else v
    return out


def claim_versions(demo: DemoData, entry: DemoClaim) -> list[dict[str, Any]]:
    """The claim as submitted, then as it stands after each supplement (`aanvullingen`)."""
    claim = dict(entry.claim)
    if entry.gemeente is not None:
        town = demo.municipalities[entry.gemeente]
        claim["applicant"] = {"type": "gemeente", "name": f"Gemeente {town.name}"}
        claim["municipality"] = town.figures(claim.get("municipality", {}))
    versions = [claim]
    for step in entry.steps:
        if step.changes is not None:
            versions.append(_merge(versions[-1], step.changes))
    return versions


def _check(demo: DemoData) -> None:
    """What the models cannot say alone; `ValueError` naming the claim."""
    seen: set[str] = set()
    for entry in demo.claims:
        where = f"claims[{entry.key}]"
        if entry.key in seen:
            raise ValueError(f"{where}: de sleutel komt twee keer voor")
        seen.add(entry.key)
        if (entry.gemeente is None) == (entry.organisatie is None):
            raise ValueError(f"{where}: geef `gemeente` of `organisatie` (precies één)")
        if entry.gemeente is not None:
            if entry.gemeente not in demo.municipalities:
                raise ValueError(f"{where}: onbekende gemeente {entry.gemeente!r}")
            if "applicant" in entry.claim:
                raise ValueError(f"{where}: met `gemeente` volgt applicant uit de gemeente")
        holder = entry.claim.get("office_holder", {})
        names = [holder.get("reference")]
        if entry.claim.get("applicant", {}).get("type") == "ambtsdrager":
            names.append(entry.claim["applicant"].get("name"))
        for name in names:
            if name is not None and not _PSEUDONYM.match(str(name)):
                raise ValueError(f"{where}: {name!r} is geen pseudoniem zoals RA-D01")
        status: str = "ingediend"
        objected = False  # an objection against the current besluit is registered
        for n, step in enumerate(entry.steps):
            _check_step(f"{where}.steps[{n}]", step, status, objected)
            if step.action in _ON_BESLUIT:
                objected = step.action == "bezwaren"
            else:
                status = TRANSITIONS[step.action].target
        if status != entry.status:
            raise ValueError(f"{where}: de stappen eindigen in {status}, niet in {entry.status}")
        claim_versions(demo, entry)  # the municipality overrides are checked here


def _check_step(where: str, step: Step, status: str, objected: bool) -> None:
    """One step, taken from `status`; `ValueError` naming it."""
    if step.action in _ON_BESLUIT:
        if status != "besloten":
            raise ValueError(f"{where}: {step.action} kan pas na een besluit, niet vanuit {status}")
        if step.action == "beslissingen-op-bezwaar" and not objected:
            raise ValueError(
                f"{where}: een beslissing op bezwaar volgt op een bezwaar (bezwaren) tegen het"
                " geldende besluit"
            )
    else:
        move = TRANSITIONS[step.action]
        if status not in move.sources:
            raise ValueError(f"{where}: {step.action} kan niet vanuit {status}")
        if move.new_version != (step.changes is not None):
            raise ValueError(
                f"{where}: alleen een aanvulling (aanvullingen) heeft, en moet hebben, `changes`"
            )
    if step.action != "aanvullingen" and step.changes is not None:
        raise ValueError(f"{where}: alleen een aanvulling (aanvullingen) heeft `changes`")
    if step.action == "aanvullingsverzoeken" and not step.reason:
        raise ValueError(f"{where}: een aanvullingsverzoek heeft een reason")
    decides = step.action in _DECIDING
    if decides and (step.outcome is None or step.amount_eur is None):
        raise ValueError(f"{where}: {step.action} heeft een outcome en een amount_eur")
    if not decides and (step.outcome, step.amount_eur, step.motivation) != (None, None, None):
        raise ValueError(
            f"{where}: alleen een besluit, correctie of beslissing op bezwaar heeft outcome,"
            " amount_eur en motivation"
        )
    if step.reason is not None and (decides or step.action == "bezwaren"):
        raise ValueError(f"{where}: {step.action} heeft geen reason (wel een motivation)")


def load_demo(path: Path = DEMO_FILE) -> DemoData:
    """The demo file, checked; `DemoError` naming the file and what is wrong."""
    try:
        raw = yamlfile.safe_load(path.read_text(encoding="utf-8"))
        demo = DemoData.model_validate(_plain(raw))
        _check(demo)
    except OSError as exc:
        raise DemoError(f"{path}: kan niet worden gelezen ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise DemoError(f"{path}: geen geldige YAML ({exc})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise DemoError(f"{path}: {loc}: {first['msg']}") from None
    except ValueError as exc:
        raise DemoError(f"{path}: {exc}") from None
    return demo


# --- seeding ----------------------------------------------------------------------------------


@dataclass
class SeedReport:
    """What a seeding run did."""

    database: str
    submitted: list[str] = field(default_factory=list)  # claim ids submitted now
    steps: int = 0  # steps taken now
    left_alone: list[str] = field(default_factory=list)  # moved on by hand; not touched
    claims: list[tuple[str, str, str]] = field(default_factory=list)  # (claim id, status, outcome)
    besluiten: dict[str, str] = field(default_factory=dict)  # claim id -> the besluit in force
    accounts: list[DemoAccount] = field(default_factory=list)  # the demo accounts, to print

    @property
    def changed(self) -> bool:
        return bool(self.submitted or self.steps)

    def text(self) -> str:
        """For people, in Dutch."""
        if self.changed:
            head = (
                f"Demogegevens geladen in {self.database}: {len(self.submitted)} aanvraag/"
                f"aanvragen ingediend, {self.steps} stap(pen) gezet."
            )
        else:
            head = f"Demogegevens stonden al in {self.database}: niets toegevoegd."
        lines = [head]
        width = max((len(c) for c, _, _ in self.claims), default=0)
        for c, s, o in self.claims:
            line = f"  {c.ljust(width)}  {s:<19}  advies: {o}"
            if c in self.besluiten:
                line = f"{line:<62}  besluit: {self.besluiten[c]}"
            lines.append(line)
        if self.left_alone:
            lines.append(
                "Met de hand verder gebracht en niet aangeraakt: " + ", ".join(self.left_alone)
            )
        if self.accounts:
            lines.append(
                "Demo-accounts (alleen in demomodus; de wachtwoorden zijn openbaar, gebruik ze"
                " nooit voor echte gegevens):"
            )
            name = max(len(a.gebruikersnaam) for a in self.accounts)
            password = max(len(a.wachtwoord) for a in self.accounts)
            for a in self.accounts:
                lines.append(
                    f"  {a.gebruikersnaam.ljust(name)}  wachtwoord: {a.wachtwoord.ljust(password)}"
                    f"  rol: {a.rol:<14}  organisatie: {a.organisatie_id}"
                )
        return "\n".join(lines) + "\n"


def _where(settings: Settings) -> str:
    url = make_url(settings.db_url)
    if url.get_backend_name() == "sqlite":
        return f"SQLite {url.database}"
    return "PostgreSQL (VANGNET_DATABASE_URL)"  # never the URL: it may hold a password


def _problem_text(exc: ApiProblem) -> str:
    parts = [exc.detail] + [f"{p.field}: {p.message}" for p in exc.problems or ()]
    return " ".join(parts)


class _LazyWorkers:
    """Engine workers, started only when a claim needs evaluating (a second run needs none)."""

    def __init__(self, given: EngineWorkers | None) -> None:
        self._given = given
        self._own: EngineWorkers | None = None

    def get(self) -> EngineWorkers:
        if self._given is not None:
            return self._given
        if self._own is None:
            self._own = EngineWorkers(1)
        return self._own

    def close(self) -> None:
        if self._own is not None:
            self._own.close()


@dataclass(frozen=True, slots=True)
class _Actors:
    """Who takes a demo claim's steps: its organisation's aanvrager, and the beoordelaar of
    the organisation that decides it."""

    applicant: Identity
    assessor: Identity


class _Seeder:
    def __init__(
        self,
        demo: DemoData,
        store: Store,
        validator: Decider,
        workers: _LazyWorkers,
        identities: dict[tuple[str, str], Identity],
    ) -> None:
        self.demo = demo
        self.store = store
        self.validator = validator
        self.workers = workers
        # (organisation, role) -> the demo account that acts
        self.identities = identities

    def _as(self, entry: DemoClaim, organisatie: str | None, rol: str) -> Identity:
        identity = self.identities.get((organisatie or "", rol))
        if identity is None:
            raise DemoError(
                f"demo-aanvraag {entry.key}: er is geen demo-account met de rol {rol} bij"
                f" organisatie {organisatie} (forms/demo/accounts.yaml)"
            )
        return identity

    def _claim(self, entry: DemoClaim, data: dict[str, Any]) -> Claim:
        """Validated as the API validates, a simulation refused."""
        try:
            claim = self.validator.validate(data)
            refuse_simulation(claim, self.validator)
        except (ClaimError, NoRulesetError) as exc:
            raise DemoError(f"demo-aanvraag {entry.key} is ongeldig: {exc}") from None
        except ApiProblem as exc:
            raise DemoError(f"demo-aanvraag {entry.key}: {_problem_text(exc)}") from None
        return claim

    async def _evaluate(self, entry: DemoClaim, data: dict[str, Any], claim: Claim) -> Any:
        try:
            return await evaluate(data, claim, self.workers.get())
        except ApiProblem as exc:
            raise DemoError(f"demo-aanvraag {entry.key}: {_problem_text(exc)}") from None

    async def seed(self, report: SeedReport) -> None:
        for entry in self.demo.claims:
            await self._one(entry, report)

    async def _one(self, entry: DemoClaim, report: SeedReport) -> None:
        versions = claim_versions(self.demo, entry)
        claim = self._claim(entry, versions[0])
        key = self.demo.key(entry)
        owner = self.demo.owner(entry)
        applicant = self._as(entry, owner, "aanvrager")
        ruleset, _ = self.validator.choose(claim)
        decider = decider_for(ruleset.spec.deciding_body, owner)
        actors = _Actors(applicant, self._as(entry, decider, "beoordelaar"))
        try:
            self.store.assign_organisations(
                key, claim_sha256(claim), owner=owner, decider=decider, identity=applicant
            )
            stored = self.store.replay(key, claim_sha256(claim), owner=owner)
            if stored is None:
                evaluated = await self._evaluate(entry, versions[0], claim)
                stored, replayed = self.store.submit(
                    evaluated, identity=applicant, decider=decider, idempotency_key=key
                )
                if not replayed:
                    report.submitted.append(stored["claim_id"])
        except IdempotencyConflict:
            raise DemoError(
                f"demo-aanvraag {entry.key} staat al in de database, maar anders dan in het"
                f" demobestand nu. Begin met een lege database (verwijder de map van"
                f" VANGNET_DATA_DIR of de database van VANGNET_DATABASE_URL) en laad opnieuw."
            ) from None
        # the steps the claim already shows
        done = self._shown(stored)
        if done != [s.token() for s in entry.steps][: len(done)]:
            report.left_alone.append(stored["claim_id"])
        else:
            version = 1 + sum(1 for s in entry.steps[: len(done)] if s.changes is not None)
            besluiten = stored["besluiten"]
            current = besluiten[-1]["id"] if besluiten else None  # the besluit in force
            for step in entry.steps[len(done) :]:
                if step.changes is not None:
                    stored = await self._supplement(entry, actors, stored["id"], versions[version])
                    version += 1
                elif step.action in _DECIDING or step.action == "bezwaren":
                    current = await self._on_besluit(entry, actors, stored["id"], current, step)
                else:
                    stored = self._transition(entry, actors, stored["id"], step)
                report.steps += 1
            stored = self.store.get(stored["id"])
        report.claims.append((stored["claim_id"], stored["status"], stored["outcome"]))
        if stored["besluiten"]:
            last = stored["besluiten"][-1]
            text = f"{last['outcome']} {format_eur(last['amount_eur'])}"
            if last["kind"] != "besluit":
                text += f" ({last['kind'].replace('_', ' ')})"
            report.besluiten[stored["claim_id"]] = text

    def _shown(self, stored: dict[str, Any]) -> list[str]:
        """What the claim shows, as `Step.token` names it: its history after the submission
        (the first besluit is its step to `besloten`), then each later besluit by its kind,
        and each objection after the besluit it is against."""
        shown = [h["to_status"] for h in stored["history"][1:]]
        for summary in stored["besluiten"]:
            if summary["kind"] != "besluit":
                shown.append(summary["kind"])
            shown += ["bezwaar"] * len(self.store.besluit(summary["id"])["bezwaren"])
        return shown

    async def _on_besluit(
        self, entry: DemoClaim, actors: _Actors, aanvraag_id: str, current: str | None, step: Step
    ) -> str:
        """A besluit, a correction, an objection or a decision on an objection, through what
        their resources use (`vangnet.service.deciding`); the id of the besluit in force."""
        try:
            if step.action == "besluit":
                made = await deciding.decide(
                    self.store, self.workers.get(), aanvraag_id, step.body(), actors.assessor
                )
                return str(made["id"])
            if current is None:
                raise DemoError(f"demo-aanvraag {entry.key}: {step.action} zonder besluit")
            if step.action == "bezwaren":
                # received today: on or after the besluit's date, never in the future
                today = letter_date(datetime.now(UTC)).isoformat()
                body = {"received_on": today}
                await deciding.register_bezwaar(self.store, current, body, actors.assessor)
                return current
            kind = deciding.REPLACEMENTS[step.action]
            made = await deciding.replace(
                self.store, self.workers.get(), current, kind, step.body(), identity=actors.assessor
            )
            return str(made["id"])
        except ApiProblem as exc:
            raise DemoError(
                f"demo-aanvraag {entry.key}: {step.action} lukte niet: {_problem_text(exc)}"
            ) from None
        except StoreError as exc:
            raise DemoError(
                f"demo-aanvraag {entry.key}: {step.action} lukte niet ({exc})"
            ) from None

    def _transition(
        self, entry: DemoClaim, actors: _Actors, aanvraag_id: str, step: Step
    ) -> dict[str, Any]:
        # the bodies the API reads for these resources, with their limits
        body: ToelichtingIn | AanvullingsverzoekIn
        if step.action == "aanvullingsverzoeken":
            body = AanvullingsverzoekIn.model_validate({"reason": step.reason})
        else:
            body = ToelichtingIn.model_validate({"reason": step.reason})
        # the applicant withdraws; the deciding organisation takes the rest
        who = actors.applicant if step.action == "intrekking" else actors.assessor
        # an information request gets its last day as the API gives it (the default term)
        asks = step.action == "aanvullingsverzoeken"
        due = deciding.supplement_due(None, today_nl()) if asks else None
        try:
            return self.store.transition(
                aanvraag_id, step.action, identity=who, reason=body.reason, due_on=due
            )
        except StoreError as exc:
            raise DemoError(
                f"demo-aanvraag {entry.key}: {step.action} lukte niet ({exc})"
            ) from None

    async def _supplement(
        self, entry: DemoClaim, actors: _Actors, aanvraag_id: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        """As POST /v1/aanvragen/{id}/aanvullingen: read, evaluate, then store if unchanged."""
        claim = self._claim(entry, data)
        try:
            seen = self.store.snapshot(aanvraag_id)
            if seen.status not in TRANSITIONS["aanvullingen"].sources:
                raise TransitionRefused(seen.status, "aanvullingen")
            if claim.scheme != seen.scheme:
                raise DemoError(f"demo-aanvraag {entry.key}: een aanvulling houdt de regeling")
            evaluated = await self._evaluate(entry, data, claim)
            return self.store.transition(
                aanvraag_id,
                "aanvullingen",
                identity=actors.applicant,
                evaluated=evaluated,
                expected_lock=seen.lock_version,
            )
        except StoreError as exc:
            raise DemoError(f"demo-aanvraag {entry.key}: aanvullingen lukte niet ({exc})") from None


@contextmanager
def _workers(given: EngineWorkers | None) -> Iterator[_LazyWorkers]:
    lazy = _LazyWorkers(given)
    try:
        yield lazy
    finally:
        lazy.close()


def seed_demo(
    settings: Settings,
    *,
    workers: EngineWorkers | None = None,
    validator: Decider | None = None,
    path: Path = DEMO_FILE,
) -> SeedReport:
    """Apply pending migrations, create the demo organisations and accounts, and load the demo
    data once; `DemoRefused` in production, `DemoError` outside demo mode or when the data
    cannot be loaded. `workers` and `validator` may be given (tests share them); otherwise one
    engine process is started, and only when a claim needs it."""
    refuse_production(settings.env)
    if not settings.demo:
        raise DemoError(
            "Demogegevens horen bij demomodus: zet VANGNET_DEMO=1 (make run doet dat). Zonder"
            " de demo-accounts kan niemand de demo-aanvragen zien."
        )
    demo = load_demo(path)
    engine = create_db_engine(settings.db_url)
    try:
        crypto.configure(settings)
        migrate(engine)
        audit = AuditLog.from_settings(settings)
        accounts = Accounts(engine, settings, audit=audit)
        store = Store(engine, audit)
        report = SeedReport(_where(settings))
        report.accounts = accounts.seed_demo_accounts()
        identities = {}
        for seeded in report.accounts:
            info = accounts.account_by_name(seeded.gebruikersnaam)
            key = (info.organisatie_id, info.rol)
            if info.actief and key not in identities:
                identities[key] = Identity(
                    info.id, info.organisatie_id, info.rol, info.pseudoniem, "cli", "cli"
                )
        with _workers(workers) as lazy:
            seeder = _Seeder(demo, store, validator or Decider(prime=False), lazy, identities)
            asyncio.run(seeder.seed(report))
        return report
    finally:
        engine.dispose()
