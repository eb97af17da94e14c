"""Retention: how long a final claim is kept, and the purge of what is due.

The term is data (`forms/retention.yaml`, with its source; VANGNET_RETENTION_YEARS overrides
it). A claim's `retain_until` is set when it reaches a final state and moves on with every
later final act: the letter date of a new besluit (the first, a correction, a decision on an
objection), the day an objection is registered, the day of a withdrawal — always the later
date, never an earlier one. The store does not do this itself: a SQLAlchemy `after_flush`
listener, registered when this module is imported (`vangnet.service.crypto.configure` imports
it), sees the new besluit, bezwaar and `ingetrokken` transitions of a flush and updates the
claim's row in the same transaction (a Core UPDATE: the claim's `lock_version` is untouched, a
late date changes nothing a client reads).

`purge(engine, settings)` removes every claim whose `retain_until` lies before today (UTC, the
date the database triggers compare with) with everything under it: versions, advices,
history, besluiten with their letters, objections and attachments. One transaction per claim:
it locks the claim, checks again that it is due, deletes bottom-up inside `crypto.permit
(connection, "opschonen")` (the triggers of migration 0005 let a DELETE on besluit, bezwaar and
bijlage through only then, and only for a claim whose `retain_until` has passed), and appends
one entry `bewaartermijn.opschonen` to the audit log with the counts removed: the purge is on
record, the audit log itself is never purged and its chain stays whole. A claim whose current
besluit has an objection without a decision on it is kept (the procedure is still open) and
reported. A dry run reports what would go and changes nothing.

Nothing here logs: the report holds ids, dates and counts only.
"""

from __future__ import annotations

import calendar
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import Connection, Engine, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from vangnet import yamlfile
from vangnet.exceptions import DataError
from vangnet.paths import FORMS_DIR
from vangnet.service.crypto import permit
from vangnet.service.db import WRITE
from vangnet.service.models import (
    Aanvraag,
    AanvraagVersie,
    Advies,
    Besluit,
    Bezwaar,
    Bijlage,
    Statusovergang,
)
from vangnet.service.settings import Settings

__all__ = [
    "FINAL",
    "RETENTION_FILE",
    "PurgeReport",
    "Purged",
    "RetentionPolicy",
    "configure",
    "load_policy",
    "purge",
    "retain_until",
    "term_years",
]

RETENTION_FILE = FORMS_DIR / "retention.yaml"
FINAL = ("besloten", "ingetrokken")
_NL = ZoneInfo("Europe/Amsterdam")


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """The default term and where it comes from (`basis`: a source, or `beleidskeuze`)."""

    default_years: int
    basis: str


def load_policy(path: Path = RETENTION_FILE) -> RetentionPolicy:
    """The policy in `path`; `DataError` naming the file and the field that is wrong."""
    try:
        data = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"{path.name}: niet te lezen ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path.name}: verwacht een YAML-object")
    years = data.get("default_years")
    if not isinstance(years, int) or isinstance(years, bool) or not 1 <= years <= 100:
        raise DataError(f"{path.name}: default_years moet een geheel getal van 1 tot 100 zijn")
    basis = data.get("basis")
    if not isinstance(basis, str) or not basis.strip():
        raise DataError(f"{path.name}: basis ontbreekt (een bron, of 'beleidskeuze')")
    return RetentionPolicy(years, basis.strip())


def term_years(settings: Settings) -> int:
    """VANGNET_RETENTION_YEARS, or the default of forms/retention.yaml."""
    if settings.retention_years is not None:
        return settings.retention_years
    return load_policy().default_years


def retain_until(final_day: date, years: int) -> date:
    """`final_day` plus `years` years (29 February becomes 28 February in a common year)."""
    year = final_day.year + years
    day = min(final_day.day, calendar.monthrange(year, final_day.month)[1])
    return final_day.replace(year=year, day=day)


_lock = threading.Lock()
_years: int | None = None


def configure(settings: Settings) -> None:
    """Set this process's retention term (called by `vangnet.service.crypto.configure`)."""
    global _years  # noqa: PLW0603 - one term per process, like the key ring
    years = term_years(settings)
    with _lock:
        _years = years


def _term() -> int:
    years = _years
    if years is None:
        configure(Settings.from_env())
        years = _years
    assert years is not None  # noqa: S101 - configure sets it
    return years


def _nl_date(moment: datetime) -> date:
    return moment.astimezone(_NL).date()


# --- setting retain_until ----------------------------------------------------------------


def _final_acts(session: Session) -> dict[str, date]:
    """The claims that a flush brought a final act, with the day of their latest act."""
    acts: dict[str, date] = {}
    connection = session.connection()
    for obj in session.new:
        claim: str | None
        if isinstance(obj, Besluit):
            claim, day = obj.aanvraag_id, obj.letter_date
        elif isinstance(obj, Bezwaar):
            claim = connection.scalar(
                select(Besluit.aanvraag_id).where(Besluit.id == obj.besluit_id)
            )
            day = _nl_date(obj.registered_at)
        elif isinstance(obj, Statusovergang) and obj.to_status == "ingetrokken":
            claim, day = obj.aanvraag_id, _nl_date(obj.at)
        else:
            continue
        if claim is not None:
            acts[claim] = max(acts.get(claim, day), day)
    return acts


def _after_flush(session: Session, _context: Any) -> None:
    acts = _final_acts(session)
    if not acts:
        return
    years = _term()
    # on the Connection, not the Session: a plain UPDATE, no lock_version check or bump
    connection = session.connection()
    for claim, day in acts.items():
        until = retain_until(day, years)
        connection.execute(
            update(Aanvraag)
            .where(Aanvraag.id == claim)
            .where(or_(Aanvraag.retain_until.is_(None), Aanvraag.retain_until < until))
            .values(retain_until=until)
        )


def _install() -> None:
    from sqlalchemy import event

    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


_install()


# --- the purge ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Purged:
    """A claim removed (or, in a dry run, to be removed): what went, by table."""

    aanvraag_id: str
    status: str
    retain_until: date
    counts: dict[str, int]


@dataclass(slots=True)
class PurgeReport:
    today: date
    dry_run: bool
    purged: list[Purged] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)  # (id, reason in Dutch)

    def text(self) -> str:
        """The report in Dutch, for people: ids, dates and counts only."""
        count = len(self.purged)
        claims = f"{count} {'aanvraag' if count == 1 else 'aanvragen'}"
        lines = [
            f"Bewaartermijn verstreken vóór {self.today.isoformat()}: "
            + (
                f"{claims} te verwijderen (proefdraai: er is niets veranderd)"
                if self.dry_run
                else f"{claims} verwijderd"
            )
        ]
        for p in self.purged:
            parts = ", ".join(f"{n} {t}" for t, n in p.counts.items() if n)
            lines.append(
                f"  {p.aanvraag_id}  {p.status}, bewaren tot {p.retain_until.isoformat()}: {parts}"
            )
        for aanvraag_id, reason in self.kept:
            lines.append(f"  {aanvraag_id}  bewaard: {reason}")
        return "\n".join(lines) + "\n"


def _due(today: date) -> Any:
    return select(Aanvraag.id).where(Aanvraag.retain_until < today, Aanvraag.status.in_(FINAL))


def _open_objection(aanvraag_id: str) -> Any:
    """Whether the claim's current besluit has an objection with no decision on it."""
    newer = aliased(Besluit)
    return exists(
        select(Bezwaar.id)
        .join(Besluit, Besluit.id == Bezwaar.besluit_id)
        .where(Besluit.aanvraag_id == aanvraag_id)
        .where(~exists(select(newer.id).where(newer.replaces_id == Besluit.id)))
    )


def _counts(connection: Connection, aanvraag_id: str) -> dict[str, int]:
    versions = select(AanvraagVersie.id).where(AanvraagVersie.aanvraag_id == aanvraag_id)
    besluiten = select(Besluit.id).where(Besluit.aanvraag_id == aanvraag_id)
    queries = {
        "aanvraag_versie": versions,
        "advies": select(Advies.id).where(Advies.claim_version_id.in_(versions)),
        "statusovergang": select(Statusovergang.id).where(
            Statusovergang.aanvraag_id == aanvraag_id
        ),
        "besluit": besluiten,
        "bezwaar": select(Bezwaar.id).where(Bezwaar.besluit_id.in_(besluiten)),
        "bijlage": select(Bijlage.id).where(Bijlage.aanvraag_id == aanvraag_id),
    }
    return {
        name: int(connection.scalar(select(func.count()).select_from(q.subquery())) or 0)
        for name, q in queries.items()
    }


def _delete(connection: Connection, aanvraag_id: str) -> None:
    """Remove the claim bottom-up (the caller holds the `opschonen` permit)."""
    versions = select(AanvraagVersie.id).where(AanvraagVersie.aanvraag_id == aanvraag_id)
    besluiten = list(
        connection.scalars(
            select(Besluit.id)
            .where(Besluit.aanvraag_id == aanvraag_id)
            .order_by(Besluit.number.desc())
        )
    )
    if besluiten:
        connection.execute(delete(Bezwaar).where(Bezwaar.besluit_id.in_(besluiten)))
    for besluit_id in besluiten:  # the newest first: it names the one it replaces
        connection.execute(delete(Besluit).where(Besluit.id == besluit_id))
    connection.execute(delete(Bijlage).where(Bijlage.aanvraag_id == aanvraag_id))
    connection.execute(delete(Statusovergang).where(Statusovergang.aanvraag_id == aanvraag_id))
    connection.execute(delete(Advies).where(Advies.claim_version_id.in_(versions)))
    connection.execute(delete(AanvraagVersie).where(AanvraagVersie.aanvraag_id == aanvraag_id))
    connection.execute(delete(Aanvraag).where(Aanvraag.id == aanvraag_id))


def purge(
    engine: Engine,
    settings: Settings,
    *,
    dry_run: bool = False,
    today: date | None = None,
    origin: str = "cli",
) -> PurgeReport:
    """Remove every claim that is due (see the module's docstring); the report."""
    from vangnet.service.audit import SYSTEEM, AuditEvent, AuditLog

    today = today or datetime.now(UTC).date()
    report = PurgeReport(today=today, dry_run=dry_run)
    audit = None if dry_run else AuditLog.from_settings(settings)
    with engine.connect() as connection, connection.begin():
        candidates = list(
            connection.scalars(_due(today).order_by(Aanvraag.retain_until, Aanvraag.id))
        )
    for aanvraag_id in candidates:
        options = {} if dry_run else WRITE
        with engine.connect().execution_options(**options) as connection, connection.begin():
            query = select(Aanvraag.status, Aanvraag.retain_until).where(
                Aanvraag.id == aanvraag_id, Aanvraag.id.in_(_due(today))
            )
            row = connection.execute(query if dry_run else query.with_for_update()).first()
            if row is None:  # changed or removed since the list was read
                continue
            if connection.scalar(select(_open_objection(aanvraag_id))):
                report.kept.append((aanvraag_id, "bezwaar zonder beslissing op bezwaar"))
                continue
            counts = _counts(connection, aanvraag_id)
            if not dry_run:
                with permit(connection, "opschonen"):
                    _delete(connection, aanvraag_id)
                assert audit is not None  # noqa: S101 - set when not dry_run
                audit.append(
                    connection,
                    AuditEvent(
                        actor=SYSTEEM,
                        action="bewaartermijn.opschonen",
                        result="gelukt",
                        origin=origin,
                        object_type="aanvraag",
                        object_id=aanvraag_id,
                        details={
                            "status": row.status,
                            "retain_until": row.retain_until.isoformat(),
                            "verwijderd": {"aanvraag": 1, **counts},
                        },
                    ),
                )
            report.purged.append(Purged(aanvraag_id, row.status, row.retain_until, counts))
    return report
