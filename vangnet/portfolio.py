"""A synthetic portfolio of claims, for demos, load tests and impact analyses.

`generate_portfolio(n, seed)` makes `n` invented claims in the interchange format v1, pure and
reproducible: the same seed gives the same claims, and the first k claims of a larger
portfolio are the k claims of a smaller one. The municipalities are invented too (numbered
"Synthetische gemeente NNNN (portfolio)", CBS codes from GM8001, which no municipality has),
with a skewed spread of sizes like the Dutch one and budgets of EUR 3,000-5,000 per inhabitant.
Every number that shapes the data is in `forms/impact/portfolio.yaml`, with where it comes
from; none of it is a statistic of real claims.

`load_portfolio(settings, n, seed)` puts the claims in the database as submissions: each is
validated and evaluated by the engine (in worker processes, crashes retried and bisected as in
`vangnet.replay`) and stored with its advice by `Store.submit_many`, exactly as `Store.submit`
stores one, the owner being its municipality's CBS code (an `organisatie` row is made for each
invented municipality; the decider as `authz.decider_for` says). The claims go in batches:
each batch is one transaction, with one audit entry for the batch (not one per claim: the
seed, the count, the first and last claim id and a digest of the claims), so an interrupted
load leaves whole batches. Loading again with the same seed adds nothing twice (each claim has
an Idempotency-Key). Refused when VANGNET_ENV=production.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vangnet import yamlfile
from vangnet.catalogue import Catalogue, CatalogueItem, CatalogueSet, load_catalogues
from vangnet.exceptions import DataError, VangnetError
from vangnet.replay import IMPACT_DIR, Answer, ChunkRunner, EnginePool, Progress, chunks
from vangnet.replay import default_processes as _default_processes

__all__ = [
    "PORTFOLIO_FILE",
    "Municipality",
    "PortfolioClaim",
    "PortfolioConfig",
    "PortfolioError",
    "PortfolioReport",
    "evaluate_chunk",
    "generate_portfolio",
    "load_portfolio",
    "load_portfolio_config",
    "municipalities",
]

PORTFOLIO_FILE = IMPACT_DIR / "portfolio.yaml"
_CENT = Decimal("0.01")


class PortfolioError(VangnetError):
    """The portfolio could not be made or loaded; the message says why, in Dutch."""


# --- the configuration ------------------------------------------------------------------------


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Range(_M):
    low: int = Field(alias="min", ge=0)
    high: int = Field(alias="max", ge=0)


class _DecimalRange(_M):
    low: Decimal = Field(alias="min", gt=0)
    high: Decimal = Field(alias="max", gt=0)


class _Dates(_M):
    start: date = Field(alias="from")
    end: date = Field(alias="to")


class _Inhabitants(_M):
    median: int = Field(gt=0)
    sigma: float = Field(gt=0)  # a shape parameter of invented data, never money
    low: int = Field(alias="min", gt=0)
    high: int = Field(alias="max", gt=0)


class _Seats(_M):
    up_to: int | None
    seats: int = Field(gt=0)


class _SecurityBudget(_M):
    share: float = Field(ge=0, le=1)
    max_eur: int = Field(gt=0)


class _Municipalities(_M):
    count: int = Field(gt=0, le=1999)
    first_code: int = Field(ge=2001, le=9899)
    name: str
    inhabitants: _Inhabitants
    expenditure_per_inhabitant_eur: _Range
    security_budget: _SecurityBudget
    council_seats: list[_Seats] = Field(min_length=1)


class _Shared(_M):
    share: float = Field(ge=0, le=1)
    days_before: int = Field(ge=0)


class _Triggers(_M):
    political_discussion: float = Field(ge=0, le=1)
    deters_reporting: float = Field(ge=0, le=1)
    motivation_share: float = Field(ge=0, le=1)
    motivation: str = Field(min_length=1)


class _Measures(_M):
    count: _Range
    unspecified_share: float = Field(ge=0, le=1)
    unspecified_description: str = Field(min_length=1)
    category_weights: dict[str, float]
    quantity: dict[str, _Range]
    price_factor: _DecimalRange
    price_without_reference_eur: _Range
    advised_share: float = Field(ge=0, le=1)
    dated_share: float = Field(ge=0, le=1)
    days_around_reference: int = Field(ge=0)
    already_reimbursed_share: float = Field(ge=0, le=1)


class PortfolioConfig(_M):
    """`forms/impact/portfolio.yaml`: what shapes the invented claims."""

    scheme: str
    claim_id_prefix: str = Field(pattern=r"^[A-Za-z0-9]{1,8}$")
    reference_dates: _Dates
    municipalities: _Municipalities
    applicant_types: dict[str, float]
    roles: dict[str, float]
    pseudonym_prefix: dict[str, str]
    threat_status: dict[str, float]
    threat_assessed_by: dict[str, float]
    threat_assessed_on: _Shared
    advice_by: dict[str, float]
    home_pkvw_certified: dict[str, float]
    triggers: _Triggers
    measures: _Measures


def load_portfolio_config(path: Path = PORTFOLIO_FILE) -> PortfolioConfig:
    """The portfolio file, checked; `DataError` naming the file and the field."""
    try:
        raw = yamlfile.safe_load(path.read_text(encoding="utf-8"))
        config = PortfolioConfig.model_validate(raw)
    except OSError as exc:
        raise DataError(f"{path}: kan niet worden gelezen ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: geen geldige YAML ({exc})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise DataError(f"{path}: {loc}: {first['msg']}") from None
    missing = set(config.roles) - set(config.pseudonym_prefix)
    if missing:
        raise DataError(f"{path}: pseudonym_prefix: geen voorvoegsel voor {sorted(missing)}")
    if config.reference_dates.start > config.reference_dates.end:
        raise DataError(f"{path}: reference_dates: from ligt na to")
    if config.municipalities.council_seats[-1].up_to is not None:
        raise DataError(f"{path}: municipalities.council_seats: de laatste rij heeft up_to: null")
    return config


# --- municipalities ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Municipality:
    """An invented municipality."""

    code: str  # GMnnnn, a code no real municipality has
    name: str
    inhabitants: int
    total_expenditure_eur: int
    security_budget_eur: int  # still left this year on a budget line; 0: none
    seats: int  # council seats (the weight of its claims)


def _seats(config: PortfolioConfig, inhabitants: int) -> int:
    for row in config.municipalities.council_seats:
        if row.up_to is None or inhabitants <= row.up_to:
            return row.seats
    raise AssertionError("the last row is open")  # pragma: no cover - checked on load


def municipalities(seed: int, config: PortfolioConfig | None = None) -> list[Municipality]:
    """The invented municipalities of a portfolio with this seed."""
    config = config or load_portfolio_config()
    m = config.municipalities
    # reproducible invented data, not a secret
    rng = random.Random(f"vangnet-portfolio:{seed}:gemeenten")  # noqa: S311
    out = []
    for k in range(m.count):
        number = m.first_code + k
        size = round(math.exp(rng.gauss(math.log(m.inhabitants.median), m.inhabitants.sigma)))
        inhabitants = min(max(size, m.inhabitants.low), m.inhabitants.high)
        per = rng.randint(
            m.expenditure_per_inhabitant_eur.low, m.expenditure_per_inhabitant_eur.high
        )
        budget = 0
        if rng.random() < m.security_budget.share:
            budget = rng.randint(0, m.security_budget.max_eur)
        out.append(
            Municipality(
                code=f"GM{number:04d}",
                name=m.name.format(number=f"{number:04d}"),
                inhabitants=inhabitants,
                total_expenditure_eur=inhabitants * per,
                security_budget_eur=budget,
                seats=_seats(config, inhabitants),
            )
        )
    return out


# --- claims -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PortfolioClaim:
    """One invented claim, the CBS code of the municipality that owns it, and the key that
    makes loading it idempotent."""

    owner: str
    idempotency_key: str
    claim: dict[str, Any]


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


class _Generator:
    def __init__(self, seed: int, config: PortfolioConfig, catalogues: CatalogueSet) -> None:
        self.seed = seed
        self.config = config
        self.catalogues = catalogues
        self.towns = municipalities(seed, config)
        self.weights = [t.seats for t in self.towns]
        self.rng = random.Random(f"vangnet-portfolio:{seed}:aanvragen")  # noqa: S311
        dates = config.reference_dates
        self.first_day = dates.start
        self.days = (dates.end - dates.start).days
        self._items: dict[date, tuple[list[CatalogueItem], list[float]]] = {}

    def _catalogue_items(self, catalogue: Catalogue) -> tuple[list[CatalogueItem], list[float]]:
        cached = self._items.get(catalogue.valid_from)
        if cached is None:
            weights = self.config.measures.category_weights
            items = [i for i in catalogue.items.values() if weights.get(i.category, 0) > 0]
            by_category: dict[str, int] = {}
            for i in items:
                by_category[i.category] = by_category.get(i.category, 0) + 1
            # each category gets its weight, shared by its items
            cached = (items, [weights[i.category] / by_category[i.category] for i in items])
            self._items[catalogue.valid_from] = cached
        return cached

    def _money(self, low: Decimal, high: Decimal) -> Decimal:
        cents = self.rng.randint(int(low * 100), int(high * 100))
        return Decimal(cents).scaleb(-2)

    def _day_near(self, day: date, days: int) -> str:
        return (day + timedelta(days=self.rng.randint(-days, days))).isoformat()

    def _measure(
        self, items: list[CatalogueItem], weights: list[float], day: date
    ) -> dict[str, Any]:
        rng, m = self.rng, self.config.measures
        measure: dict[str, Any]
        if rng.random() < m.unspecified_share:
            quantity = 1
            price = self._money(
                Decimal(m.price_without_reference_eur.low),
                Decimal(m.price_without_reference_eur.high),
            )
            measure = {"description": m.unspecified_description}
        else:
            item = rng.choices(items, weights=weights)[0]
            span = m.quantity.get(item.unit)
            quantity = 1 if span is None else rng.randint(span.low, span.high)
            ref = item.reference_unit_price_eur
            if ref is None:
                price = self._money(
                    Decimal(m.price_without_reference_eur.low),
                    Decimal(m.price_without_reference_eur.high),
                )
            else:
                factor = self._money(m.price_factor.low, m.price_factor.high)
                price = (ref * factor).quantize(_CENT, rounding=ROUND_HALF_UP)
            measure = {"code": item.code, "description": item.name_nl}
        measure |= {"quantity": quantity, "unit_price_eur": price}
        if rng.random() < m.dated_share:
            measure["date"] = self._day_near(day, m.days_around_reference)
        measure["advised"] = rng.random() < m.advised_share
        if rng.random() < m.already_reimbursed_share:
            measure["already_reimbursed_eur"] = (quantity * price / 2).quantize(
                _CENT, rounding=ROUND_HALF_UP
            )
        return measure

    def claim(self, index: int) -> PortfolioClaim:
        rng, c = self.rng, self.config
        town = rng.choices(self.towns, weights=self.weights)[0]
        day = self.first_day + timedelta(days=rng.randint(0, self.days))
        catalogue = self.catalogues.in_force(day)
        if catalogue is None:
            raise PortfolioError(
                f"forms/impact/portfolio.yaml: geen catalogus van kracht op {day.isoformat()};"
                " kies reference_dates binnen de catalogusversies"
            )
        items, weights = self._catalogue_items(catalogue)
        applicant = _pick(rng, c.applicant_types)
        role = _pick(rng, c.roles)
        pseudonym = f"{c.pseudonym_prefix[role]}-S{index + 1:06d}"
        claim_id = f"{c.claim_id_prefix}-{self.seed}-{index + 1:06d}"
        threat: dict[str, Any] = {
            "status": _pick(rng, c.threat_status),
            "assessed_by": _pick(rng, c.threat_assessed_by),
        }
        if rng.random() < c.threat_assessed_on.share:
            back = rng.randint(0, c.threat_assessed_on.days_before)
            threat["assessed_on"] = (day - timedelta(days=back)).isoformat()
        certified = _pick(rng, c.home_pkvw_certified)
        t = c.triggers
        political = rng.random() < t.political_discussion
        deters = rng.random() < t.deters_reporting
        triggers: dict[str, Any] = {"political_discussion": political, "deters_reporting": deters}
        if (political or deters) and rng.random() < t.motivation_share:
            triggers["motivation"] = t.motivation
        municipality: dict[str, Any] = {
            "name": town.name,
            "code": town.code,
            "inhabitants": town.inhabitants,
            "total_expenditure_eur": town.total_expenditure_eur,
            "security_budget_eur": town.security_budget_eur,
        }
        count = rng.randint(c.measures.count.low, c.measures.count.high)
        claim = {
            "claim_id": claim_id,
            "scheme": c.scheme,
            "reference_date": day.isoformat(),
            "applicant": {
                "type": applicant,
                "name": town.name if applicant == "gemeente" else pseudonym,
            },
            "municipality": municipality,
            "office_holder": {"role": role, "reference": pseudonym},
            "threat": threat,
            "advice": {"by": _pick(rng, c.advice_by), "date": self._day_near(day, 14)},
            "home": {"pkvw_certified": {"true": True, "false": False}.get(certified)},
            "triggers": triggers,
            "measures": [self._measure(items, weights, day) for _ in range(count)],
        }
        key = f"vangnet-portfolio-{self.seed}-{index + 1}"
        return PortfolioClaim(town.code, key, claim)


def generate_portfolio(
    n: int,
    seed: int = 0,
    *,
    config: PortfolioConfig | None = None,
    catalogues: CatalogueSet | None = None,
) -> Iterator[PortfolioClaim]:
    """`n` invented claims, reproducible from `seed`; no database, no engine."""
    gen = _Generator(seed, config or load_portfolio_config(), catalogues or load_catalogues())
    for index in range(n):
        yield gen.claim(index)


# --- evaluating (in the replay workers) -------------------------------------------------------


def evaluate_chunk(claims: list[dict[str, Any]]) -> list[Answer]:
    """Run in a replay worker: each claim validated and decided as a submission is, as
    ("ok", canonical claim bytes, its sha256, reference date, decision dict), or ("geweigerd",
    message) for a claim the service would refuse (a simulation, no version in force)."""
    from vangnet.claim import canonical_claim
    from vangnet.exceptions import ClaimError, NoRulesetError
    from vangnet.replay import worker_decider

    decider = worker_decider()
    out: list[Answer] = []
    for data in claims:
        try:
            claim = decider.validate(data)
            decision = decider.decide(claim)
        except (ClaimError, NoRulesetError) as exc:
            problems = "; ".join(f"{p.field}: {p.message}" for p in exc.problems)
            out.append(("geweigerd", problems))
            continue
        if decision.simulation:
            out.append(("geweigerd", f"scheme: {claim.scheme} is een simulatie"))
            continue
        canonical = canonical_claim(claim)
        digest = hashlib.sha256(canonical).hexdigest()
        if digest != decision.receipt.claim_sha256:
            out.append(("geweigerd", "de vingerafdruk van de aanvraag klopt niet"))
            continue
        out.append(("ok", canonical, digest, claim.reference_date, decision.as_dict()))
    return out


# --- loading ----------------------------------------------------------------------------------


@dataclass
class PortfolioReport:
    """What a load did."""

    database: str
    seed: int
    requested: int
    stored: int = 0
    already: int = 0  # stored before under the same key (same seed)
    refused: list[str] = field(default_factory=list)  # claim ids; should stay empty
    outcomes: dict[str, int] = field(default_factory=dict)
    municipalities: int = 0

    def text(self) -> str:
        """For people, in Dutch."""
        lines = [
            f"Synthetische portefeuille (seed {self.seed}) in {self.database}:"
            f" {self.stored} aanvraag/aanvragen opgeslagen, {self.already} stond(en) er al"
            f" (van {self.requested}); {self.municipalities} verzonnen gemeenten (GM-codes die"
            " geen echte gemeente heeft).",
            "Alle aanvragen en gemeenten zijn verzonnen; de eigenaar van elke aanvraag is de"
            " CBS-code van haar gemeente.",
        ]
        if self.outcomes:
            parts = ", ".join(f"{k}: {v}" for k, v in sorted(self.outcomes.items()))
            lines.append(f"Adviezen: {parts}.")
        if self.refused:
            lines.append(
                f"Niet opgeslagen (geweigerd of de regelengine viel uit): {len(self.refused)},"
                f" bijvoorbeeld {', '.join(self.refused[:5])}."
            )
        return "\n".join(lines) + "\n"


def _ensure_municipalities(session: Any, towns: Sequence[Municipality], now: datetime) -> None:
    from sqlalchemy import select

    from vangnet.service.models import Organisatie

    codes = [t.code for t in towns]
    known = set(session.scalars(select(Organisatie.id).where(Organisatie.id.in_(codes))))
    session.add_all(
        Organisatie(id=t.code, naam=t.name, soort="gemeente", created_at=now)
        for t in towns
        if t.code not in known
    )


def _new_keys(session: Any, batch: Sequence[PortfolioClaim]) -> list[PortfolioClaim]:
    """The claims of `batch` not stored before (by owner and Idempotency-Key)."""
    from sqlalchemy import select, tuple_

    from vangnet.service.models import Aanvraag

    pairs = [(p.owner, p.idempotency_key) for p in batch]
    rows = session.execute(
        select(Aanvraag.owner_id, Aanvraag.idempotency_key).where(
            tuple_(Aanvraag.owner_id, Aanvraag.idempotency_key).in_(pairs)
        )
    )
    found = {(owner, key) for owner, key in rows}
    return [p for p in batch if (p.owner, p.idempotency_key) not in found]


def _new_claim(p: PortfolioClaim, answer: Answer, decider: str | None) -> Any:
    """The claim as `Store.submit_many` stores it (a `NewClaim`): owner its municipality,
    decider as `authz.decider_for` says, and its Idempotency-Key."""
    from vangnet.service.store import Evaluated, NewClaim

    _, canonical, digest, reference_date, decision = answer
    evaluated = Evaluated(
        claim_json=canonical,
        claim_sha256=digest,
        scheme=p.claim["scheme"],
        reference_date=reference_date,
        decision=decision,
    )
    return NewClaim(evaluated, p.owner, decider, p.idempotency_key)


def _where(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite {parsed.database}"
    return "PostgreSQL (VANGNET_DATABASE_URL)"  # never the URL: it may hold a password


@dataclass(frozen=True, slots=True)
class _Loader:
    writing: Any  # the engine, with writing transactions (BEGIN IMMEDIATE on SQLite)
    pool: EnginePool
    store: Any  # vangnet.service.store.Store
    deciding_bodies: Mapping[tuple[str, str], str]  # (scheme, version) -> deciding_body
    seed: int


def load_portfolio(
    settings: Any,
    n: int,
    seed: int = 0,
    *,
    batch_size: int = 1000,
    processes: int | None = None,
    progress: Progress | None = None,
    config: PortfolioConfig | None = None,
) -> PortfolioReport:
    """Generate `n` claims from `seed`, evaluate them and store them in the database of
    `settings` (migrated first), one transaction per batch, each batch with its entry in the
    audit log. `DemoRefused` in production."""
    from sqlalchemy.orm import Session

    from vangnet.ruleset import load_rulesets
    from vangnet.service import crypto
    from vangnet.service.audit import AuditLog
    from vangnet.service.db import WRITE, create_db_engine, migrate
    from vangnet.service.demo import refuse_production
    from vangnet.service.store import Store

    refuse_production(settings.env)
    config = config or load_portfolio_config()
    if n < 1:
        raise PortfolioError("--n: geef een aantal van 1 of meer")
    crypto.configure(settings)
    engine = create_db_engine(settings.db_url)
    report = PortfolioReport(_where(settings.db_url), seed, n)
    bodies = {
        (rs.id, rs.version): rs.spec.deciding_body for vs in load_rulesets().values() for rs in vs
    }
    try:
        migrate(engine)
        writing = engine.execution_options(**WRITE)
        towns = municipalities(seed, config)
        report.municipalities = len(towns)
        with Session(writing) as session, session.begin():
            _ensure_municipalities(session, towns, datetime.now(UTC))
        if progress is not None:
            progress.start(n)
        pool = EnginePool(processes or _default_processes(), frozenset())
        store = Store(engine, AuditLog.from_settings(settings))
        loader = _Loader(writing, pool, store, bodies, seed)
        try:
            done = 0
            for batch in chunks(generate_portfolio(n, seed, config=config), batch_size):
                _load_batch(loader, batch, report)
                done += len(batch)
                if progress is not None:
                    progress.advance(done)
        finally:
            pool.close()
    finally:
        engine.dispose()
    return report


def _load_batch(loader: _Loader, batch: list[PortfolioClaim], report: PortfolioReport) -> None:
    from sqlalchemy.orm import Session

    from vangnet.service.audit import SYSTEEM, AuditEvent
    from vangnet.service.authz import decider_for

    with Session(loader.writing) as session:
        fresh = _new_keys(session, batch)
        session.rollback()
    report.already += len(batch) - len(fresh)
    if not fresh:
        return

    def task(chunk: list[PortfolioClaim]) -> tuple[Any, tuple[Any, ...]]:
        return evaluate_chunk, ([p.claim for p in chunk],)

    def settle(p: PortfolioClaim, answer: Answer) -> tuple[PortfolioClaim, Answer | None]:
        return p, answer

    def fail(p: PortfolioClaim) -> tuple[PortfolioClaim, Answer | None]:
        return p, None

    size = max(1, min(100, len(fresh) // (loader.pool.processes * 2) or 1))
    evaluated: Iterable[tuple[PortfolioClaim, Answer | None]] = ChunkRunner(
        loader.pool, task, settle, fail, None
    ).run(chunks(fresh, size))
    claims: list[Any] = []
    for p, answer in evaluated:
        if answer is None or answer[0] != "ok":
            report.refused.append(p.claim["claim_id"])
            continue
        decision = answer[4]
        body = loader.deciding_bodies[(decision["ruleset"]["id"], decision["ruleset"]["version"])]
        claims.append(_new_claim(p, answer, decider_for(body, p.owner)))
    if not claims:
        return
    event = AuditEvent(
        actor=SYSTEEM,
        action="demo.portefeuille_laden",
        result="gelukt",
        origin="cli",
        details={"seed": loader.seed},
    )
    # one batch, one transaction: every claim of it with its advice and the batch's audit
    # entry, or none of it
    ids = loader.store.submit_many(claims, event=event)
    for claim, made in zip(claims, ids, strict=True):
        if made is None:  # stored meanwhile under the same key
            report.already += 1
            continue
        report.stored += 1
        outcome = claim.evaluated.decision["outcome"]
        report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
