"""Organisations, accounts, logins, web sessions and API tokens: who may use vangnet, and how
they prove it.

Everything lives in the database, not in a process, so that it holds across workers and
restarts: a login attempt is a row (`inlogpoging`), a session is a row (`sessie`, the cookie
holds a random token, the table only its sha256), an API token is a row (`api_token`, shown
once, stored as its sha256). Two `Accounts` on one database (two workers) see the same
throttle, the same revocations.

Passwords are hashed with argon2id (argon2-cffi's `PasswordHasher`, RFC 9106 parameters); an
unknown user name is checked against a dummy hash, so that the answer takes as long and says
the same (`LoginRefused`). Throttling counts failed attempts per user name (its sha256) and
per origin; an attempt is written as failed *before* the password is checked and marked
`gelukt` afterwards, so that concurrent guesses in several workers cannot slip past the limit.

Who may do what is decided elsewhere (`vangnet.service.authz`); this module only knows who is
who. Nothing here logs: user names and passwords never reach a log. What changes is recorded in
the audit log (when one is given), in the same transaction as the change; the actor is an
account id or `anoniem`, never the user name someone typed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from vangnet import yamlfile
from vangnet.paths import FORMS_DIR
from vangnet.service.audit import AuditEvent, AuditLog, Result
from vangnet.service.db import WRITE
from vangnet.service.identity import ANONIEM, SYSTEEM, Identity
from vangnet.service.models import (
    ORGANISATIE_SOORTEN,
    ROLLEN,
    Account,
    ApiToken,
    Inlogpoging,
    Organisatie,
    Sessie,
)
from vangnet.service.settings import Settings

__all__ = [
    "COOKIE_NAME",
    "DEMO_ACCOUNTS_FILE",
    "PASSWORD_MIN_LENGTH",
    "TOKEN_PREFIX",
    "AccountInfo",
    "Accounts",
    "AccountsError",
    "AlreadyExists",
    "ApiTokenInfo",
    "DemoAccount",
    "DemoRefused",
    "InvalidInput",
    "LoginRefused",
    "LoginThrottled",
    "NewSession",
    "NotFound",
    "OrganisationInfo",
    "Refused",
    "ThrottlePolicy",
    "check_csrf",
    "clear_cookie",
    "session_cookie",
]

COOKIE_NAME = "vangnet_sessie"
TOKEN_PREFIX = "vn_"  # noqa: S105 - a prefix, not a secret
DEMO_ACCOUNTS_FILE = FORMS_DIR / "demo" / "accounts.yaml"

# Password policy: length is what protects (NIST SP 800-63B, 5.1.1.2); no composition rules.
# The upper bound keeps one hash from costing a worker more than it should.
PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 256

# A web session ends after `Settings.session_hours` without use, and in any case this long
# after it began (a working day), unless session_hours is longer still.
SESSION_MAX_AGE = timedelta(hours=12)
# last_seen_at (and the sliding expiry) of a session, last_used_at of a token: written at most
# this often, so that reading a page does not write to the database every time
TOUCH_INTERVAL = timedelta(minutes=1)
# the longest an API token may be valid (or Settings.token_days, when that is longer)
TOKEN_MAX_DAYS = 366
# how long login attempts are kept (only the throttle window is ever read)
ATTEMPTS_KEPT = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """How many failed logins are allowed before vangnet waits. These numbers are a choice,
    not law: they stop guessing (5 tries per name per quarter of an hour, OWASP's advice is of
    this order) without locking out a colleague who mistyped; the per-origin limit is higher
    because many people may log in from one office network."""

    window: timedelta = timedelta(minutes=15)
    per_name: int = 5
    per_origin: int = 50


# --- errors -------------------------------------------------------------------------------------


class AccountsError(Exception):
    """Base of this module's refusals; `str()` is a Dutch message for people."""


class InvalidInput(AccountsError):
    """A value is not valid: names the field, the value (when it may be shown) and why."""

    def __init__(self, field: str, value: str | None, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.value = value
        self.message = message


class AlreadyExists(AccountsError):
    """An organisation or account with this id or name exists already."""


class NotFound(AccountsError):
    """No such organisation, account or token (for this account)."""


class Refused(AccountsError):
    """The change is not possible (for example: disabling the last administrator)."""


class LoginRefused(AccountsError):
    """The user name and password do not match an active account. One message for every
    reason, so that it does not tell whether the name exists."""

    def __init__(self) -> None:
        super().__init__("De gebruikersnaam of het wachtwoord klopt niet.")


class LoginThrottled(AccountsError):
    """Too many failed attempts: try again after `retry_after_seconds`."""

    def __init__(self, retry_after_seconds: int) -> None:
        minutes = max(1, -(-retry_after_seconds // 60))
        super().__init__(
            "Er is te vaak een verkeerd wachtwoord gebruikt. Probeer het over"
            f" {minutes} {'minuut' if minutes == 1 else 'minuten'} opnieuw."
        )
        self.retry_after_seconds = retry_after_seconds


class DemoRefused(AccountsError):
    """Demo accounts are made only in demo mode, never in production."""


# --- what callers get ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrganisationInfo:
    id: str
    naam: str
    soort: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """An account as shown to administrators (never its password hash)."""

    id: str
    gebruikersnaam: str
    organisatie_id: str
    rol: str
    pseudoniem: str
    actief: bool
    heeft_wachtwoord: bool
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True, slots=True)
class ApiTokenInfo:
    """An API token as listed (never the token itself, which is shown once)."""

    id: str
    account_id: str
    naam: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "ingetrokken"
        return "verlopen" if self.expires_at <= now else "geldig"


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just made by a login: `token` goes in the cookie (and nowhere else),
    `csrf_token` in the forms; `expires_at` is the latest the session can live (use it for the
    cookie); it ends sooner when it is not used for `Settings.session_hours`."""

    token: str
    csrf_token: str
    expires_at: datetime
    identity: Identity


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """A demo account with its known password, to print for the people trying vangnet."""

    gebruikersnaam: str
    wachtwoord: str
    rol: str
    organisatie_id: str
    nieuw: bool


# --- cookies and CSRF ---------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def session_cookie(token: str, expires_at: datetime, *, now: datetime | None = None) -> str:
    """The `Set-Cookie` value for a new session: only over HTTPS, not readable by scripts, not
    sent with requests from other sites."""
    seconds = max(0, int((expires_at - (now or _now())).total_seconds()))
    return f"{COOKIE_NAME}={token}; Max-Age={seconds}; Path=/; HttpOnly; Secure; SameSite=Strict"


def clear_cookie() -> str:
    """The `Set-Cookie` value that removes the session cookie (logging out)."""
    return f"{COOKIE_NAME}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Strict"


def check_csrf(identity: Identity, submitted: str | None) -> bool:
    """Whether `submitted` (a form's hidden field) is this session's CSRF token; constant time.
    False for a token or anonymous identity: only sessions have one."""
    expected = identity.csrf_token
    if not expected or not submitted:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), submitted.encode("utf-8"))


# --- validation ---------------------------------------------------------------------------------

_ID_PATTERNS = {
    "gemeente": (re.compile(r"GM\d{4}"), "GM en vier cijfers (de CBS-code), bijvoorbeeld GM0363"),
    "provincie": (re.compile(r"PV\d{2}"), "PV en twee cijfers, bijvoorbeeld PV27"),
    "waterschap": (re.compile(r"WS\d{4}"), "WS en vier cijfers, bijvoorbeeld WS0155"),
    "bzk": (re.compile(r"BZK"), "precies BZK"),
}
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{1,99}")
# an id as vangnet makes them (uuid hex, GM0363, BZK): anything else cannot exist, and is not
# sent to the database at all (PostgreSQL refuses some characters, such as NUL, outright)
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _one_of(values: tuple[str, ...]) -> str:
    return ", ".join(values[:-1]) + " of " + values[-1]


def normalise_username(raw: str) -> str:
    """The user name as stored: trimmed, lower case; `InvalidInput` when it is not valid."""
    name = raw.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise InvalidInput(
            "gebruikersnaam",
            raw[:100],
            "gebruik 2 tot 100 tekens: letters, cijfers en . _ @ -, beginnend met een letter"
            " of cijfer",
        )
    return name


def check_password(password: str) -> None:
    """`InvalidInput` unless the password meets the policy (length only)."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise InvalidInput(
            "wachtwoord", None, f"moet minstens {PASSWORD_MIN_LENGTH} tekens lang zijn"
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidInput(
            "wachtwoord", None, f"mag hoogstens {PASSWORD_MAX_LENGTH} tekens lang zijn"
        )
    if not password.strip():
        raise InvalidInput("wachtwoord", None, "mag niet alleen uit spaties bestaan")


def _check_rol(rol: str) -> None:
    if rol not in ROLLEN:
        raise InvalidInput("rol", rol[:40], f"kies {_one_of(ROLLEN)}")


def _text(field: str, raw: str, limit: int) -> str:
    value = raw.strip()
    if not value:
        raise InvalidInput(field, None, "mag niet leeg zijn")
    if len(value) > limit:
        raise InvalidInput(field, value[:80], f"mag hoogstens {limit} tekens bevatten")
    if _CONTROL.search(value):
        raise InvalidInput(field, None, "mag geen regeleinden of stuurtekens bevatten")
    return value


def check_organisation_id(organisatie_id: str, soort: str) -> None:
    """`InvalidInput` unless `organisatie_id` has the form of its `soort`."""
    if soort not in ORGANISATIE_SOORTEN:
        raise InvalidInput("soort", soort[:40], f"kies {_one_of(ORGANISATIE_SOORTEN)}")
    pattern, form = _ID_PATTERNS[soort]
    if not pattern.fullmatch(organisatie_id):
        raise InvalidInput("id", organisatie_id[:40], f"een {soort} heeft als id {form}")


def _lookup_name(raw: str) -> str | None:
    """The user name to look up, or None for one that cannot exist."""
    name = raw.strip().lower()
    return name if _USERNAME.fullmatch(name) else None


def _check_id(value: str | None, what: str) -> str:
    """`value`, or `NotFound` when it cannot be an id."""
    if value is None or not _ID.fullmatch(value):
        raise NotFound(f"Er is geen {what} met deze id.")
    return value


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _name_key(gebruikersnaam: str) -> str:
    return _sha256("gebruikersnaam:" + gebruikersnaam.strip().lower())


def _origin_key(origin: str) -> str:
    return _sha256("herkomst:" + origin)


def _origin(origin: str) -> str:
    # the audit log's column holds 64 characters; an IPv6 address with zone fits
    return origin[:64] or "onbekend"


# --- the demo accounts file ---------------------------------------------------------------------


class _DemoOrganisation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    naam: str
    soort: str


class _DemoAccountSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gebruikersnaam: str
    organisatie: str
    rol: str
    wachtwoord: str = Field(min_length=PASSWORD_MIN_LENGTH)


class _DemoFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    written_on: date
    organisations: list[_DemoOrganisation]
    accounts: list[_DemoAccountSpec]


def load_demo_accounts(
    path: Path = DEMO_ACCOUNTS_FILE,
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str, str]]]:
    """The demo organisations (id, naam, soort) and accounts (gebruikersnaam, organisatie,
    rol, wachtwoord) in `path`, each checked as `add_organisation` and `add_account` check
    them; `AccountsError` naming the file and the entry otherwise."""
    try:
        data = _DemoFile.model_validate(yamlfile.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise AccountsError(f"{path.name}: geen geldig bestand met demo-accounts ({exc})") from None
    orgs = []
    for n, org in enumerate(data.organisations, 1):
        try:
            check_organisation_id(org.id, org.soort)
            naam = _text("naam", org.naam, 200)
        except InvalidInput as exc:
            raise AccountsError(f"{path.name}: organisatie {n}: {exc}") from None
        if "(demo)" not in naam:
            raise AccountsError(f"{path.name}: organisatie {n}: de naam moet (demo) bevatten")
        orgs.append((org.id, naam, org.soort))
    known = {o[0] for o in orgs}
    accounts = []
    for n, acc in enumerate(data.accounts, 1):
        try:
            name = normalise_username(acc.gebruikersnaam)
            _check_rol(acc.rol)
            check_password(acc.wachtwoord)
        except InvalidInput as exc:
            raise AccountsError(f"{path.name}: account {n}: {exc}") from None
        if acc.organisatie not in known:
            raise AccountsError(
                f"{path.name}: account {n}: organisatie {acc.organisatie} staat niet in de lijst"
            )
        if not name.startswith("demo-"):
            raise AccountsError(f"{path.name}: account {n}: de naam moet met demo- beginnen")
        accounts.append((name, acc.organisatie, acc.rol, acc.wachtwoord))
    return orgs, accounts


# --- the registry -------------------------------------------------------------------------------


def _org_info(o: Organisatie) -> OrganisationInfo:
    return OrganisationInfo(o.id, o.naam, o.soort, o.created_at)


def _account_info(a: Account) -> AccountInfo:
    return AccountInfo(
        id=a.id,
        gebruikersnaam=a.gebruikersnaam,
        organisatie_id=a.organisatie_id,
        rol=a.rol,
        pseudoniem=a.pseudoniem,
        actief=a.actief,
        heeft_wachtwoord=a.wachtwoord_hash is not None,
        created_at=a.created_at,
        disabled_at=a.disabled_at,
    )


def _token_info(t: ApiToken) -> ApiTokenInfo:
    return ApiTokenInfo(
        t.id, t.account_id, t.naam, t.created_at, t.expires_at, t.revoked_at, t.last_used_at
    )


def _identity(a: Account, origin: str, via: Any, csrf: str | None = None) -> Identity:
    return Identity(a.id, a.organisatie_id, a.rol, a.pseudoniem, origin, via, csrf)


# a PostgreSQL advisory lock id for login throttling ("logi"); SQLite takes its write lock
_LOGIN_LOCK = 0x6C6F6769


class Accounts:
    """Organisations, accounts, sessions and tokens in one database.

    `audit`: the audit log; every change and every login (success or failure) is appended in
    the transaction of the change. Without it nothing is recorded (tests of this module).
    `hasher`: the argon2id hasher (tests may pass cheaper parameters; the type is always
    argon2id). `throttle`: the login limits. `clock`: the time (tests move it)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        audit: AuditLog | None = None,
        hasher: PasswordHasher | None = None,
        throttle: ThrottlePolicy | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.audit = audit
        self.hasher = hasher or PasswordHasher()
        if self.hasher.type is not Type.ID:
            raise ValueError("vangnet hashes passwords with argon2id only")
        self.throttle = throttle or ThrottlePolicy()
        self._clock = clock or _now
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(engine.execution_options(**WRITE), expire_on_commit=False)
        self._dummy: str | None = None

    # --- plumbing -------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self._clock()

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        with self._write() as session, session.begin():
            yield session

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    def _record(
        self,
        session: Session,
        by: Identity | None,
        action: str,
        target: tuple[str, str | None],
        details: Mapping[str, Any] | None = None,
        *,
        result: Result = "gelukt",
        actor: str | None = None,
        origin: str | None = None,
    ) -> None:
        """One audit entry in `session`'s transaction: `by` acted (None: the command line,
        actor `systeem`) on `target` (object type, object id)."""
        if self.audit is None:
            return
        object_type, object_id = target
        self.audit.append(
            session,
            AuditEvent(
                actor=actor or (by.actor if by is not None else SYSTEEM),
                action=action,
                result=result,
                origin=_origin(origin or (by.origin if by is not None else "cli")),
                object_type=object_type,
                object_id=object_id,
                details=dict(details or {}),
            ),
        )

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    def _verify(self, stored: str | None, password: str) -> bool:
        """Whether `password` matches `stored`; with no hash, as slow as a real check."""
        try:
            return self.hasher.verify(stored or self._dummy_hash(), password) and bool(stored)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    # --- organisations --------------------------------------------------------------------------

    def add_organisation(
        self, organisatie_id: str, naam: str, soort: str, *, by: Identity | None = None
    ) -> OrganisationInfo:
        """Register an organisation; `InvalidInput` for a bad id, name or soort,
        `AlreadyExists` when the id is taken."""
        organisatie_id = organisatie_id.strip().upper()
        check_organisation_id(organisatie_id, soort)
        naam = _text("naam", naam, 200)
        try:
            with self._writing() as session:
                if session.get(Organisatie, organisatie_id) is not None:
                    raise AlreadyExists(f"Er is al een organisatie {organisatie_id}.")
                org = Organisatie(id=organisatie_id, naam=naam, soort=soort, created_at=self.now())
                session.add(org)
                session.flush()
                self._record(
                    session,
                    by,
                    "organisatie.toevoegen",
                    ("organisatie", organisatie_id),
                    {"soort": soort},
                )
                return _org_info(org)
        except IntegrityError:
            raise AlreadyExists(f"Er is al een organisatie {organisatie_id}.") from None

    def organisation(self, organisatie_id: str) -> OrganisationInfo:
        if not _ID.fullmatch(organisatie_id):
            raise NotFound("Er is geen organisatie met deze id.")
        with self._reading() as session:
            org = session.get(Organisatie, organisatie_id)
            if org is None:
                raise NotFound(f"Er is geen organisatie {organisatie_id}.")
            return _org_info(org)

    def list_organisations(self) -> list[OrganisationInfo]:
        with self._reading() as session:
            return [
                _org_info(o) for o in session.scalars(select(Organisatie).order_by(Organisatie.id))
            ]

    # --- accounts -------------------------------------------------------------------------------

    def add_account(
        self,
        gebruikersnaam: str,
        organisatie_id: str,
        rol: str,
        password: str | None,
        *,
        by: Identity | None = None,
    ) -> AccountInfo:
        """A new active account with a generated pseudonym (`beoordelaar-7f3a9c`); without a
        password it can use API tokens only. `InvalidInput`, `NotFound` (organisation),
        `AlreadyExists` (user name)."""
        name = normalise_username(gebruikersnaam)
        _check_rol(rol)
        if password is not None:
            check_password(password)
        hashed = None if password is None else self.hasher.hash(password)
        try:
            with self._writing() as session:
                known = _ID.fullmatch(organisatie_id) is not None
                if not known or session.get(Organisatie, organisatie_id) is None:
                    raise InvalidInput(
                        "organisatie", organisatie_id[:40], "is geen bekende organisatie"
                    )
                taken = select(Account.id).where(Account.gebruikersnaam == name)
                if session.scalar(taken) is not None:
                    raise AlreadyExists("Er is al een account met deze gebruikersnaam.")
                account = Account(
                    id=uuid.uuid4().hex,
                    gebruikersnaam=name,
                    organisatie_id=organisatie_id,
                    rol=rol,
                    pseudoniem=self._new_pseudonym(session, rol),
                    wachtwoord_hash=hashed,
                    actief=True,
                    created_at=self.now(),
                    disabled_at=None,
                )
                session.add(account)
                session.flush()
                self._record(
                    session,
                    by,
                    "account.toevoegen",
                    ("account", account.id),
                    {"rol": rol, "organisatie": organisatie_id, "wachtwoord": password is not None},
                )
                return _account_info(account)
        except IntegrityError:
            raise AlreadyExists("Er is al een account met deze gebruikersnaam.") from None

    @staticmethod
    def _new_pseudonym(session: Session, rol: str) -> str:
        for _ in range(20):
            candidate = f"{rol}-{secrets.token_hex(3)}"
            if session.scalar(select(Account.id).where(Account.pseudoniem == candidate)) is None:
                return candidate
        return f"{rol}-{secrets.token_hex(8)}"  # 2^64: no longer a practical collision

    def account(self, account_id: str) -> AccountInfo:
        _check_id(account_id, "account")
        with self._reading() as session:
            account = session.get(Account, account_id)
            if account is None:
                raise NotFound("Er is geen account met deze id.")
            return _account_info(account)

    def account_by_name(self, gebruikersnaam: str) -> AccountInfo:
        name = _lookup_name(gebruikersnaam)
        if name is None:
            raise NotFound("Er is geen account met deze gebruikersnaam.")
        with self._reading() as session:
            account = session.scalars(select(Account).where(Account.gebruikersnaam == name)).first()
            if account is None:
                raise NotFound("Er is geen account met deze gebruikersnaam.")
            return _account_info(account)

    def list_accounts(self, organisatie_id: str | None = None) -> list[AccountInfo]:
        query = select(Account).order_by(Account.organisatie_id, Account.gebruikersnaam)
        if organisatie_id is not None:
            if not _ID.fullmatch(organisatie_id):
                return []
            query = query.where(Account.organisatie_id == organisatie_id)
        with self._reading() as session:
            return [_account_info(a) for a in session.scalars(query)]

    def disable(self, gebruikersnaam: str, *, by: Identity | None = None) -> AccountInfo:
        """Disable the account with this user name (see `disable_id`)."""
        name = _lookup_name(gebruikersnaam)
        if name is None:
            raise NotFound("Er is geen account met deze gebruikersnaam.")
        return self._disable(Account.gebruikersnaam == name, by)

    def disable_id(self, account_id: str, *, by: Identity | None = None) -> AccountInfo:
        """Disable the account: it can no longer log in, and its sessions and tokens are
        revoked in the same transaction. Disabling a disabled account changes nothing.
        `Refused` for the last active beheerder (nobody could manage accounts any more)."""
        return self._disable(Account.id == _check_id(account_id, "account"), by)

    def _disable(self, where: Any, by: Identity | None) -> AccountInfo:
        with self._writing() as session:
            account = session.scalars(select(Account).where(where)).first()
            if account is None:
                raise NotFound("Er is geen account met deze gebruikersnaam of id.")
            if not account.actief:
                return _account_info(account)
            if account.rol == "beheerder":
                others = select(func.count()).where(
                    Account.rol == "beheerder", Account.actief.is_(True), Account.id != account.id
                )
                if not session.scalar(others):
                    raise Refused(
                        "Dit is de laatste actieve beheerder; maak eerst een andere beheerder aan."
                    )
            now = self.now()
            account.actief = False
            account.disabled_at = now
            sessions, tokens = self._revoke_all(session, account.id, now)
            self._record(
                session,
                by,
                "account.uitschakelen",
                ("account", account.id),
                {"sessies_ingetrokken": sessions, "tokens_ingetrokken": tokens},
            )
            return _account_info(account)

    @staticmethod
    def _revoke_all(session: Session, account_id: str, now: datetime) -> tuple[int, int]:
        sessions = session.execute(
            update(Sessie)
            .where(Sessie.account_id == account_id, Sessie.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        tokens = session.execute(
            update(ApiToken)
            .where(ApiToken.account_id == account_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return sessions.rowcount, tokens.rowcount  # type: ignore[attr-defined]

    def set_password(
        self, gebruikersnaam: str, password: str, *, by: Identity | None = None
    ) -> AccountInfo:
        """Give the account a new password; its sessions are revoked (whoever had the old
        one is logged out)."""
        check_password(password)
        hashed = self.hasher.hash(password)
        name = _lookup_name(gebruikersnaam)
        if name is None:
            raise NotFound("Er is geen account met deze gebruikersnaam.")
        with self._writing() as session:
            account = session.scalars(select(Account).where(Account.gebruikersnaam == name)).first()
            if account is None:
                raise NotFound("Er is geen account met deze gebruikersnaam.")
            account.wachtwoord_hash = hashed
            now = self.now()
            revoked = session.execute(
                update(Sessie)
                .where(Sessie.account_id == account.id, Sessie.revoked_at.is_(None))
                .values(revoked_at=now)
            ).rowcount  # type: ignore[attr-defined]
            self._record(
                session,
                by,
                "account.wachtwoord_wijzigen",
                ("account", account.id),
                {"sessies_ingetrokken": revoked},
            )
            return _account_info(account)

    # --- login ----------------------------------------------------------------------------------

    def _lock_logins(self, session: Session) -> None:
        # SQLite: the transaction began with BEGIN IMMEDIATE and holds the write lock
        if session.get_bind().dialect.name == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(_LOGIN_LOCK)))

    def _wait(self, session: Session, key: str, limit: int, now: datetime, *, reset: bool) -> int:
        """Seconds until `key` may try again (0: now). `reset`: a success clears the count."""
        since = now - self.throttle.window
        if reset:
            last_ok = session.scalar(
                select(func.max(Inlogpoging.at)).where(
                    Inlogpoging.sleutel == key, Inlogpoging.gelukt.is_(True)
                )
            )
            if last_ok is not None and last_ok > since:
                since = last_ok
        failures = list(
            session.scalars(
                select(Inlogpoging.at)
                .where(
                    Inlogpoging.sleutel == key,
                    Inlogpoging.gelukt.is_(False),
                    Inlogpoging.at > since,
                )
                .order_by(Inlogpoging.at.desc())
                .limit(limit)
            )
        )
        if len(failures) < limit:
            return 0
        # the oldest of the last `limit` failures must leave the window
        free_at = failures[-1] + self.throttle.window
        return max(1, -(-int((free_at - now).total_seconds() * 1000) // 1000))

    def login(self, gebruikersnaam: str, password: str, origin: str) -> NewSession:
        """Check the password and open a session; `LoginThrottled` after too many failures
        (per name, per origin), `LoginRefused` for anything else that is wrong."""
        name = gebruikersnaam.strip().lower()[:200]
        origin = _origin(origin)
        name_key, origin_key = _name_key(name), _origin_key(origin)
        now = self.now()
        attempt_ids: list[int] = []
        stored: str | None = None
        active = False
        # 1. the throttle, and the attempt written as failed, before the (slow) check
        with self._writing() as session:
            self._lock_logins(session)
            session.execute(delete(Inlogpoging).where(Inlogpoging.at < now - ATTEMPTS_KEPT))
            lookup = _lookup_name(name)
            account = (
                None
                if lookup is None
                else session.scalars(
                    select(Account).where(Account.gebruikersnaam == lookup)
                ).first()
            )
            account_id = account.id if account is not None else None
            wait = max(
                self._wait(session, name_key, self.throttle.per_name, now, reset=True),
                self._wait(session, origin_key, self.throttle.per_origin, now, reset=False),
            )
            if wait:
                self._record(
                    session,
                    None,
                    "inloggen",
                    ("account", account_id),
                    {"reden": "te_veel_pogingen"},
                    actor=account_id or ANONIEM,
                    origin=origin,
                    result="geweigerd",
                )
            else:
                attempts = [
                    Inlogpoging(sleutel=key, at=now, gelukt=False) for key in (name_key, origin_key)
                ]
                session.add_all(attempts)
                session.flush()
                attempt_ids = [a.id for a in attempts]
                stored = account.wachtwoord_hash if account is not None else None
                active = account is not None and account.actief
        if wait:
            raise LoginThrottled(wait)
        # 2. the check, outside any transaction (argon2 takes a while, on purpose)
        ok = self._verify(stored, password) and active
        # 3. the outcome
        with self._writing() as session:
            account = session.get(Account, account_id) if account_id is not None else None
            if not ok or account is None or not account.actief:
                reason = (
                    "onbekend"
                    if account is None
                    else ("uitgeschakeld" if not account.actief else "wachtwoord")
                )
                self._record(
                    session,
                    None,
                    "inloggen",
                    ("account", account_id),
                    {"reden": reason},
                    actor=account_id or ANONIEM,
                    origin=origin,
                    result="geweigerd",
                )
                new = None
            else:
                session.execute(
                    update(Inlogpoging).where(Inlogpoging.id.in_(attempt_ids)).values(gelukt=True)
                )
                if stored is not None and self.hasher.check_needs_rehash(stored):
                    account.wachtwoord_hash = self.hasher.hash(password)
                new = self._open_session(session, account, origin)
                self._record(
                    session,
                    None,
                    "inloggen",
                    ("account", account.id),
                    {},
                    actor=account.id,
                    origin=origin,
                )
        if new is None:
            raise LoginRefused
        return new

    def _open_session(self, session: Session, account: Account, origin: str) -> NewSession:
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self.now()
        idle = timedelta(hours=self.settings.session_hours)
        session.add(
            Sessie(
                id=_sha256(token),
                account_id=account.id,
                csrf_token=csrf,
                created_at=now,
                expires_at=now + idle,
                last_seen_at=now,
                revoked_at=None,
            )
        )
        latest = now + max(idle, SESSION_MAX_AGE)
        return NewSession(token, csrf, latest, _identity(account, origin, "sessie", csrf))

    # --- sessions -------------------------------------------------------------------------------

    def _session_end(self, s: Sessie) -> datetime:
        idle = timedelta(hours=self.settings.session_hours)
        return min(s.expires_at, s.created_at + max(idle, SESSION_MAX_AGE))

    def session_identity(self, token: str | None, origin: str) -> Identity | None:
        """Who holds this session cookie; None when the session is unknown, expired or
        revoked, or its account is disabled. Using a session extends it (at most once a
        minute), never beyond its maximum age."""
        if not token or len(token) > 200:
            return None
        now = self.now()
        key = _sha256(token)
        with self._reading() as session:
            row = session.execute(
                select(Sessie, Account)
                .join(Account, Account.id == Sessie.account_id)
                .where(Sessie.id == key)
            ).first()
            if row is None:
                return None
            s, account = row
            if s.revoked_at is not None or not account.actief or self._session_end(s) <= now:
                return None
            identity = _identity(account, _origin(origin), "sessie", s.csrf_token)
            stale = now - s.last_seen_at >= TOUCH_INTERVAL
        if stale:
            idle = timedelta(hours=self.settings.session_hours)
            with self._writing() as session:
                session.execute(
                    update(Sessie)
                    .where(Sessie.id == key, Sessie.revoked_at.is_(None))
                    .values(last_seen_at=now, expires_at=now + idle)
                )
        return identity

    def logout(self, token: str | None, *, origin: str = "onbekend") -> bool:
        """End the session of this cookie; whether there was one to end."""
        if not token or len(token) > 200:
            return False
        with self._writing() as session:
            s = session.get(Sessie, _sha256(token))
            if s is None or s.revoked_at is not None:
                return False
            s.revoked_at = self.now()
            self._record(
                session,
                None,
                "uitloggen",
                ("account", s.account_id),
                {},
                actor=s.account_id,
                origin=origin,
            )
            return True

    def revoke_sessions(self, account_id: str, *, by: Identity | None = None) -> int:
        """End every open session of the account; how many there were."""
        with self._writing() as session:
            count = session.execute(
                update(Sessie)
                .where(Sessie.account_id == account_id, Sessie.revoked_at.is_(None))
                .values(revoked_at=self.now())
            ).rowcount  # type: ignore[attr-defined]
            self._record(
                session,
                by,
                "sessies.intrekken",
                ("account", account_id),
                {"aantal": count},
            )
            return int(count)

    # --- API tokens -----------------------------------------------------------------------------

    def issue_token(
        self,
        account_id: str,
        naam: str,
        days: int | None = None,
        *,
        by: Identity | None = None,
    ) -> tuple[ApiTokenInfo, str]:
        """A new API token for the account: (what is listed, the token itself). The token is
        returned here once and stored only as its sha256."""
        naam = _text("naam", naam, 100)
        limit = max(TOKEN_MAX_DAYS, self.settings.token_days)
        days = self.settings.token_days if days is None else days
        if not 1 <= days <= limit:
            raise InvalidInput(
                "dagen", str(days), f"moet een geheel getal van 1 tot en met {limit} zijn"
            )
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        _check_id(account_id, "account")
        with self._writing() as session:
            account = session.get(Account, account_id)
            if account is None:
                raise NotFound("Er is geen account met deze id.")
            if not account.actief:
                raise Refused("Dit account is uitgeschakeld en krijgt geen nieuwe tokens.")
            now = self.now()
            token = ApiToken(
                id=uuid.uuid4().hex,
                account_id=account_id,
                token_sha256=_sha256(raw),
                naam=naam,
                created_at=now,
                expires_at=now + timedelta(days=days),
                revoked_at=None,
                last_used_at=None,
            )
            session.add(token)
            session.flush()
            self._record(
                session,
                by,
                "token.uitgeven",
                ("api_token", token.id),
                {"account": account_id, "dagen": days},
            )
            return _token_info(token), raw

    def token_identity(self, raw: str | None, origin: str) -> Identity | None:
        """Who holds this bearer token; None when it is unknown, expired or revoked, or its
        account is disabled. Records its use (at most once a minute)."""
        if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
            return None
        now = self.now()
        key = _sha256(raw)
        with self._reading() as session:
            row = session.execute(
                select(ApiToken, Account)
                .join(Account, Account.id == ApiToken.account_id)
                .where(ApiToken.token_sha256 == key)
            ).first()
            if row is None:
                return None
            token, account = row
            if token.revoked_at is not None or token.expires_at <= now or not account.actief:
                return None
            identity = _identity(account, _origin(origin), "token")
            stale = token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL
            token_id = token.id
        if stale:
            with self._writing() as session:
                session.execute(
                    update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
                )
        return identity

    def token(self, token_id: str, account_id: str | None) -> ApiTokenInfo:
        """One token; `account_id` None: anyone's (an administrator), else only that
        account's (`NotFound` otherwise, so nobody learns another's token ids)."""
        _check_id(token_id, "token")
        with self._reading() as session:
            token = session.get(ApiToken, token_id)
            if token is None or (account_id is not None and token.account_id != account_id):
                raise NotFound("Er is geen token met deze id.")
            return _token_info(token)

    def list_tokens(self, account_id: str) -> list[ApiTokenInfo]:
        """The account's tokens, newest first (revoked and expired ones too)."""
        query = (
            select(ApiToken)
            .where(ApiToken.account_id == account_id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id)
        )
        with self._reading() as session:
            return [_token_info(t) for t in session.scalars(query)]

    def revoke_token(
        self,
        token_id: str,
        by_account_id: str,
        admin: bool = False,
        *,
        by: Identity | None = None,
    ) -> ApiTokenInfo:
        """Revoke a token: one's own, or (`admin`) anyone's. `NotFound` for another's token
        without `admin`. Revoking a revoked token changes nothing."""
        _check_id(token_id, "token")
        with self._writing() as session:
            token = session.get(ApiToken, token_id)
            if token is None or (not admin and token.account_id != by_account_id):
                raise NotFound("Er is geen token met deze id.")
            if token.revoked_at is None:
                token.revoked_at = self.now()
                self._record(
                    session,
                    by,
                    "token.intrekken",
                    ("api_token", token.id),
                    {"account": token.account_id, "door_beheerder": admin},
                    actor=by.actor if by is not None else by_account_id,
                )
            return _token_info(token)

    # --- demo -----------------------------------------------------------------------------------

    def seed_demo_accounts(self, path: Path = DEMO_ACCOUNTS_FILE) -> list[DemoAccount]:
        """Create the demo organisations and accounts of `path` that do not exist yet, and
        return every demo account with its known password (to print). Only in demo mode,
        never in production (`DemoRefused`). An existing account is left as it is."""
        if not self.settings.demo or self.settings.env == "production":
            raise DemoRefused(
                "Demo-accounts bestaan alleen in demomodus (VANGNET_DEMO=1), nooit in productie."
            )
        orgs, accounts = load_demo_accounts(path)
        with self._reading() as session:
            have_orgs = set(session.scalars(select(Organisatie.id)))
            have_names = set(session.scalars(select(Account.gebruikersnaam)))
        for org_id, naam, soort in orgs:
            if org_id not in have_orgs:
                # AlreadyExists: another process seeded it at the same moment
                with suppress(AlreadyExists):
                    self.add_organisation(org_id, naam, soort)
        seeded = []
        for name, org_id, rol, password in accounts:
            new = name not in have_names
            if new:
                try:
                    self.add_account(name, org_id, rol, password)
                except AlreadyExists:
                    new = False
            seeded.append(DemoAccount(name, password, rol, org_id, new))
        return seeded
