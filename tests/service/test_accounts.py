"""Accounts, logins, sessions and tokens (`vangnet.service.accounts`), on SQLite and PostgreSQL.

Two `Accounts` on one database stand for two workers; disposing the engine and making new ones
stands for a restart. A movable clock stands in for waiting.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from argon2 import PasswordHasher
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from vangnet.paths import FORMS_DIR
from vangnet.service.accounts import (
    COOKIE_NAME,
    DEMO_ACCOUNTS_FILE,
    Accounts,
    AlreadyExists,
    DemoRefused,
    InvalidInput,
    LoginRefused,
    LoginThrottled,
    NotFound,
    Refused,
    ThrottlePolicy,
    check_csrf,
    clear_cookie,
    load_demo_accounts,
    session_cookie,
)
from vangnet.service.audit import AuditLog
from vangnet.service.db import create_db_engine, migrate
from vangnet.service.identity import Identity
from vangnet.service.models import Account, ApiToken, Inlogpoging, Sessie
from vangnet.service.settings import Settings

# cheap argon2id parameters for tests; one test checks the real defaults
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "een-lang-wachtwoord"  # noqa: S105 - a test password


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kwargs: float) -> None:
        self.at += timedelta(**kwargs)


class AuditSpy:
    """The real audit log under a test key, and what it holds."""

    def __init__(self, engine: Engine) -> None:
        self.log = AuditLog(b"k" * 32)
        self.engine = engine

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.log.entries(self.engine, limit=1000)]

    def actions(self) -> list[tuple[str, str]]:
        return [(e["action"], e["result"]) for e in self.entries]


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings(env="test", data_dir=tmp_path / "data", session_hours=8, token_days=90)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def spy(engine: Engine) -> AuditSpy:
    return AuditSpy(engine)


def _accounts(engine: Engine, settings: Settings, clock: Clock, **kwargs: Any) -> Accounts:
    kwargs.setdefault("hasher", FAST)
    return Accounts(engine, settings, clock=clock, **kwargs)


@pytest.fixture
def accounts(engine: Engine, settings: Settings, clock: Clock, spy: AuditSpy) -> Accounts:
    a = _accounts(engine, settings, clock, audit=spy.log)
    a.add_organisation("BZK", "Ministerie van BZK", "bzk")
    a.add_organisation("GM0363", "Amsterdam", "gemeente")
    return a


def _member(accounts: Accounts, name: str = "Jan.Jansen", rol: str = "beoordelaar") -> str:
    return accounts.add_account(name, "GM0363", rol, PASSWORD).id


# --- organisations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("org_id", "soort"),
    [("GM0363", "gemeente"), ("PV27", "provincie"), ("WS0155", "waterschap"), ("BZK", "bzk")],
)
def test_organisation_ids_of_each_kind(
    engine: Engine, settings: Settings, clock: Clock, org_id: str, soort: str
) -> None:
    a = _accounts(engine, settings, clock)
    added = a.add_organisation(org_id.lower(), f"Organisatie {org_id}", soort)
    assert added.id == org_id
    assert a.organisation(org_id).soort == soort
    assert [o.id for o in a.list_organisations()] == [org_id]


@pytest.mark.parametrize(
    ("org_id", "soort", "field", "words"),
    [
        ("GM363", "gemeente", "id", "GM en vier cijfers"),
        ("PV027", "provincie", "id", "PV en twee cijfers"),
        ("WS15", "waterschap", "id", "WS en vier cijfers"),
        ("MINBZK", "bzk", "id", "precies BZK"),
        ("GM0363", "stadsdeel", "soort", "gemeente, provincie, waterschap of bzk"),
    ],
)
def test_bad_organisation_ids_are_refused_in_dutch(
    accounts: Accounts, org_id: str, soort: str, field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        accounts.add_organisation(org_id, "Iets", soort)
    assert refused.value.field == field
    assert words in refused.value.message


def test_an_organisation_id_is_registered_once(accounts: Accounts) -> None:
    with pytest.raises(AlreadyExists, match="GM0363"):
        accounts.add_organisation("GM0363", "Nog eens", "gemeente")
    with pytest.raises(InvalidInput, match="naam: mag niet leeg zijn"):
        accounts.add_organisation("GM0344", "  ", "gemeente")
    with pytest.raises(NotFound):
        accounts.organisation("GM9999")


# --- accounts and passwords ---------------------------------------------------------------------


def test_passwords_are_stored_as_argon2id_only(
    engine: Engine, settings: Settings, clock: Clock
) -> None:
    # the real parameters (RFC 9106, low memory): argon2id, 64 MiB, 3 passes, 4 lanes
    a = _accounts(engine, settings, clock, hasher=PasswordHasher())
    a.add_organisation("GM0363", "Amsterdam", "gemeente")
    info = a.add_account("piet", "GM0363", "aanvrager", PASSWORD)
    with Session(engine) as session:
        stored = session.scalars(select(Account.wachtwoord_hash)).one()
    assert stored is not None
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in stored
    assert info.heeft_wachtwoord
    assert a.login("piet", PASSWORD, "10.0.0.1").identity.account_id == info.id


def test_weaker_hashes_are_upgraded_at_login(
    engine: Engine, settings: Settings, clock: Clock
) -> None:
    weak = _accounts(engine, settings, clock)
    weak.add_organisation("GM0363", "Amsterdam", "gemeente")
    weak.add_account("piet", "GM0363", "aanvrager", PASSWORD)
    strong = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    _accounts(engine, settings, clock, hasher=strong).login("piet", PASSWORD, "10.0.0.1")
    with Session(engine) as session:
        stored = session.scalars(select(Account.wachtwoord_hash)).one()
    assert stored is not None
    assert stored.startswith("$argon2id$v=19$m=16,t=2,p=1$")


def test_a_non_argon2id_hasher_is_refused(engine: Engine, settings: Settings) -> None:
    from argon2 import Type

    with pytest.raises(ValueError, match="argon2id"):
        Accounts(engine, settings, hasher=PasswordHasher(type=Type.I))


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("kort-11-tek", "minstens 12 tekens"),
        ("x" * 257, "hoogstens 256 tekens"),
        (" " * 14, "niet alleen uit spaties"),
    ],
)
def test_the_password_policy(accounts: Accounts, password: str, words: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        accounts.add_account("piet", "GM0363", "aanvrager", password)
    assert refused.value.field == "wachtwoord"
    assert refused.value.value is None  # a password is never echoed
    assert words in refused.value.message


def test_new_accounts(accounts: Accounts) -> None:
    info = accounts.add_account("  Jan.Jansen@Amsterdam.nl ", "GM0363", "beoordelaar", None)
    assert info.gebruikersnaam == "jan.jansen@amsterdam.nl"
    assert re.fullmatch(r"beoordelaar-[0-9a-f]{6}", info.pseudoniem)
    assert info.actief and not info.heeft_wachtwoord and info.disabled_at is None
    other = accounts.add_account("kees", "BZK", "auditor", PASSWORD)
    assert other.pseudoniem != info.pseudoniem
    assert [a.id for a in accounts.list_accounts("GM0363")] == [info.id]
    assert {a.id for a in accounts.list_accounts()} == {info.id, other.id}
    assert accounts.account(info.id) == info
    assert accounts.account_by_name("JAN.JANSEN@amsterdam.nl") == info


@pytest.mark.parametrize(
    ("name", "org", "rol", "error", "field"),
    [
        ("jan", "GM0363", "baas", InvalidInput, "rol"),
        ("jan", "GM9999", "aanvrager", InvalidInput, "organisatie"),
        ("j", "GM0363", "aanvrager", InvalidInput, "gebruikersnaam"),
        ("jan jansen", "GM0363", "aanvrager", InvalidInput, "gebruikersnaam"),
        ("JAN", "GM0363", "aanvrager", AlreadyExists, None),
    ],
)
def test_bad_accounts_are_refused(  # noqa: PLR0917 - parametrised
    accounts: Accounts, name: str, org: str, rol: str, error: type[Exception], field: str | None
) -> None:
    accounts.add_account("jan", "GM0363", "aanvrager", None)
    with pytest.raises(error) as refused:
        accounts.add_account(name, org, rol, PASSWORD)
    if field is not None:
        assert isinstance(refused.value, InvalidInput)
        assert refused.value.field == field
    assert len(accounts.list_accounts()) == 1


def test_the_last_administrator_cannot_be_disabled(accounts: Accounts) -> None:
    first = accounts.add_account("beheer1", "BZK", "beheerder", PASSWORD)
    with pytest.raises(Refused, match="laatste actieve beheerder"):
        accounts.disable_id(first.id)
    accounts.add_account("beheer2", "BZK", "beheerder", PASSWORD)
    assert not accounts.disable_id(first.id).actief
    with pytest.raises(NotFound):
        accounts.disable("niemand")


# --- login and throttling -----------------------------------------------------------------------


def test_login_opens_a_session(accounts: Accounts, clock: Clock) -> None:
    account_id = _member(accounts)
    new = accounts.login("JAN.JANSEN ", PASSWORD, "10.0.0.1")
    assert new.identity == Identity(
        account_id, "GM0363", "beoordelaar", new.identity.pseudoniem, "10.0.0.1", "sessie",
        new.csrf_token,
    )  # fmt: skip
    assert new.expires_at == clock.at + timedelta(hours=12)
    assert len(new.token) >= 43 and len(new.csrf_token) >= 43
    assert accounts.session_identity(new.token, "10.0.0.2") == Identity(
        account_id, "GM0363", "beoordelaar", new.identity.pseudoniem, "10.0.0.2", "sessie",
        new.csrf_token,
    )  # fmt: skip


def test_a_refusal_does_not_tell_whether_the_name_exists(
    accounts: Accounts, engine: Engine, spy: AuditSpy
) -> None:
    account_id = _member(accounts)
    accounts.add_account("zonder", "GM0363", "aanvrager", None)
    messages = set()
    for name, password in [
        ("jan.jansen", "verkeerd-wachtwoord"),
        ("niemand", PASSWORD),
        ("zonder", PASSWORD),  # an account without a password (API only)
        ("", PASSWORD),
    ]:
        with pytest.raises(LoginRefused) as refused:
            accounts.login(name, password, "10.0.0.1")
        messages.add(str(refused.value))
    assert messages == {"De gebruikersnaam of het wachtwoord klopt niet."}
    logins = [e for e in spy.entries if e["action"] == "inloggen"]
    assert [e["result"] for e in logins] == ["geweigerd"] * 4
    assert logins[0]["actor"] == account_id
    assert logins[1]["actor"] == "anoniem"
    for entry in spy.entries:
        shown = repr(entry)
        assert "jan.jansen" not in shown and "niemand" not in shown and PASSWORD not in shown
    with Session(engine) as session:
        assert session.scalar(select(Sessie.id)) is None


def test_a_disabled_account_cannot_log_in(accounts: Accounts) -> None:
    _member(accounts)
    accounts.disable("jan.jansen")
    with pytest.raises(LoginRefused):
        accounts.login("jan.jansen", PASSWORD, "10.0.0.1")


def test_throttling_holds_across_two_workers_and_a_restart(
    database_url: str, settings: Settings, clock: Clock
) -> None:
    engines = [create_db_engine(database_url) for _ in range(2)]
    migrate(engines[0])
    one, two = (_accounts(e, settings, clock) for e in engines)
    one.add_organisation("GM0363", "Amsterdam", "gemeente")
    one.add_account("jan", "GM0363", "aanvrager", PASSWORD)
    for n in range(5):  # five failures, spread over both workers
        with pytest.raises(LoginRefused):
            (one if n % 2 else two).login("jan", "verkeerd-wachtwoord", f"10.0.0.{n}")
        clock.advance(seconds=10)
    # the right password is refused too now, by either worker
    for worker in (one, two):
        with pytest.raises(LoginThrottled) as throttled:
            worker.login("JAN", PASSWORD, "10.9.9.9")
        assert throttled.value.retry_after_seconds == 15 * 60 - 50
        assert "Probeer het over 15 minuten opnieuw" in str(throttled.value)
    # a restart: new engines, new Accounts; the attempts are in the database
    for e in engines:
        e.dispose()
    engines = [create_db_engine(database_url) for _ in range(2)]
    one, two = (_accounts(e, settings, clock) for e in engines)
    with pytest.raises(LoginThrottled):
        two.login("jan", PASSWORD, "10.9.9.9")
    # once the first failure leaves the window, one more try is allowed
    clock.advance(seconds=15 * 60 - 50)
    assert one.login("jan", PASSWORD, "10.9.9.9").identity.rol == "aanvrager"
    for e in engines:
        e.dispose()


def test_a_success_clears_the_count_for_the_name(accounts: Accounts) -> None:
    _member(accounts)
    for _ in range(4):
        with pytest.raises(LoginRefused):
            accounts.login("jan.jansen", "verkeerd-wachtwoord", "10.0.0.1")
    accounts.login("jan.jansen", PASSWORD, "10.0.0.1")
    for _ in range(4):
        with pytest.raises(LoginRefused):
            accounts.login("jan.jansen", "verkeerd-wachtwoord", "10.0.0.1")
    accounts.login("jan.jansen", PASSWORD, "10.0.0.1")


def test_throttling_per_origin(
    engine: Engine, settings: Settings, clock: Clock, spy: AuditSpy
) -> None:
    a = _accounts(engine, settings, clock, audit=spy.log, throttle=ThrottlePolicy(per_origin=3))
    a.add_organisation("GM0363", "Amsterdam", "gemeente")
    a.add_account("jan", "GM0363", "aanvrager", PASSWORD)
    for name in ("a1", "a2", "a3"):
        with pytest.raises(LoginRefused):
            a.login(name, "verkeerd-wachtwoord", "192.0.2.7")
    with pytest.raises(LoginThrottled):
        a.login("jan", PASSWORD, "192.0.2.7")
    assert spy.actions()[-1] == ("inloggen", "geweigerd")
    assert spy.entries[-1]["details"] == {"reden": "te_veel_pogingen"}
    # another origin is not held up
    assert a.login("jan", PASSWORD, "192.0.2.8").identity.account_id is not None


def test_attempts_are_kept_as_hashes_and_purged(
    accounts: Accounts, engine: Engine, clock: Clock
) -> None:
    with pytest.raises(LoginRefused):
        accounts.login("geheim.persoon", "verkeerd-wachtwoord", "10.0.0.1")
    with Session(engine) as session:
        keys = list(session.scalars(select(Inlogpoging.sleutel)))
    assert len(keys) == 2 and all(re.fullmatch(r"[0-9a-f]{64}", k) for k in keys)
    clock.advance(days=2)
    with pytest.raises(LoginRefused):
        accounts.login("iemand", "verkeerd-wachtwoord", "10.0.0.2")
    with Session(engine) as session:
        assert not set(keys) & set(session.scalars(select(Inlogpoging.sleutel)))


# --- sessions -----------------------------------------------------------------------------------


def test_sessions_expire_without_use_and_slide_with_use(accounts: Accounts, clock: Clock) -> None:
    _member(accounts)
    token = accounts.login("jan.jansen", PASSWORD, "10.0.0.1").token
    # used every 5 hours, it outlives the 8 idle hours, but not its 12 hours at most
    clock.advance(hours=5)
    assert accounts.session_identity(token, "10.0.0.1") is not None
    clock.advance(hours=5)
    assert accounts.session_identity(token, "10.0.0.1") is not None
    clock.advance(hours=2)
    assert accounts.session_identity(token, "10.0.0.1") is None
    # unused for 8 hours, it ends
    other = accounts.login("jan.jansen", PASSWORD, "10.0.0.1").token
    clock.advance(hours=8)
    assert accounts.session_identity(other, "10.0.0.1") is None


def test_a_session_is_touched_at_most_once_a_minute(
    accounts: Accounts, engine: Engine, clock: Clock
) -> None:
    _member(accounts)
    token = accounts.login("jan.jansen", PASSWORD, "10.0.0.1").token
    start = clock.at

    def seen() -> datetime:
        with Session(engine) as session:
            return session.scalars(select(Sessie.last_seen_at)).one()

    clock.advance(seconds=30)
    accounts.session_identity(token, "10.0.0.1")
    assert seen() == start
    clock.advance(seconds=31)
    accounts.session_identity(token, "10.0.0.1")
    assert seen() == clock.at
    with Session(engine) as session:
        assert session.scalars(select(Sessie.expires_at)).one() == clock.at + timedelta(hours=8)


def test_logout_revocation_and_disabling_end_sessions_in_every_worker(
    accounts: Accounts, engine: Engine, settings: Settings, clock: Clock, spy: AuditSpy
) -> None:
    account_id = _member(accounts)
    other_worker = _accounts(engine, settings, clock)
    tokens = [accounts.login("jan.jansen", PASSWORD, "10.0.0.1").token for _ in range(4)]
    assert other_worker.session_identity(tokens[0], "10.0.0.1") is not None
    assert accounts.logout(tokens[0]) is True
    assert accounts.logout(tokens[0]) is False
    assert other_worker.session_identity(tokens[0], "10.0.0.1") is None
    assert other_worker.session_identity(tokens[1], "10.0.0.1") is not None
    assert accounts.revoke_sessions(account_id) == 3
    assert other_worker.session_identity(tokens[1], "10.0.0.1") is None
    fresh = accounts.login("jan.jansen", PASSWORD, "10.0.0.1").token
    accounts.set_password("jan.jansen", "een-ander-wachtwoord")
    assert other_worker.session_identity(fresh, "10.0.0.1") is None
    fresh = accounts.login("jan.jansen", "een-ander-wachtwoord", "10.0.0.1").token
    accounts.disable("jan.jansen")
    assert other_worker.session_identity(fresh, "10.0.0.1") is None
    assert ("account.uitschakelen", "gelukt") in spy.actions()
    assert accounts.session_identity("onzin", "10.0.0.1") is None
    assert accounts.session_identity(None, "10.0.0.1") is None


def test_the_database_keeps_only_hashes_of_session_tokens(
    accounts: Accounts, engine: Engine
) -> None:
    _member(accounts)
    new = accounts.login("jan.jansen", PASSWORD, "10.0.0.1")
    with Session(engine) as session:
        (sid,) = session.scalars(select(Sessie.id))
    assert new.token not in sid and re.fullmatch(r"[0-9a-f]{64}", sid)


def test_csrf_and_cookies(accounts: Accounts) -> None:
    _member(accounts)
    new = accounts.login("jan.jansen", PASSWORD, "10.0.0.1")
    identity = accounts.session_identity(new.token, "10.0.0.1")
    assert identity is not None
    assert check_csrf(identity, new.csrf_token)
    assert not check_csrf(identity, new.csrf_token[:-1] + "x")
    assert not check_csrf(identity, None)
    assert not check_csrf(identity, "")
    assert not check_csrf(Identity.anonymous_from("10.0.0.1"), "iets")
    cookie = session_cookie(new.token, new.expires_at, now=new.expires_at - timedelta(hours=1))
    assert cookie == (
        f"{COOKIE_NAME}={new.token}; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Strict"
    )
    assert clear_cookie().startswith("vangnet_sessie=; Max-Age=0;")
    assert "HttpOnly; Secure; SameSite=Strict" in clear_cookie()


# --- API tokens ---------------------------------------------------------------------------------


def test_tokens_are_shown_once_and_stored_as_sha256(
    accounts: Accounts, engine: Engine, clock: Clock, spy: AuditSpy
) -> None:
    account_id = _member(accounts)
    info, raw = accounts.issue_token(account_id, "koppeling zaaksysteem")
    assert raw.startswith("vn_") and len(raw) >= 46
    assert info.expires_at == clock.at + timedelta(days=90)
    assert info.status(clock.at) == "geldig"
    with engine.connect() as connection:
        dump = repr(connection.execute(text("SELECT * FROM api_token")).all())
    assert raw not in dump and raw[3:] not in dump
    identity = accounts.token_identity(raw, "10.0.0.1")
    assert identity is not None
    assert (identity.account_id, identity.via, identity.csrf_token) == (account_id, "token", None)
    assert accounts.list_tokens(account_id) == [accounts.token(info.id, account_id)]
    assert accounts.list_tokens(account_id)[0].last_used_at == clock.at
    assert ("token.uitgeven", "gelukt") in spy.actions()
    for wrong in (None, "", raw[:-1], "Bearer " + raw, raw[3:]):
        assert accounts.token_identity(wrong, "10.0.0.1") is None


def test_tokens_expire(accounts: Accounts, clock: Clock) -> None:
    account_id = _member(accounts)
    info, raw = accounts.issue_token(account_id, "kort", days=1)
    clock.advance(hours=23)
    assert accounts.token_identity(raw, "10.0.0.1") is not None
    clock.advance(hours=1)
    assert accounts.token_identity(raw, "10.0.0.1") is None
    assert accounts.token(info.id, None).status(clock.at) == "verlopen"
    with pytest.raises(InvalidInput, match="dagen: moet een geheel getal van 1 tot en met 366"):
        accounts.issue_token(account_id, "te lang", days=367)
    with pytest.raises(InvalidInput, match="naam: mag niet leeg zijn"):
        accounts.issue_token(account_id, " ")


def test_revoking_tokens(
    accounts: Accounts, engine: Engine, settings: Settings, clock: Clock
) -> None:
    own = _member(accounts)
    other = _member(accounts, "kees")
    info, raw = accounts.issue_token(own, "mijn token")
    other_worker = _accounts(engine, settings, clock)
    # somebody else's token: unknown to them, unless they administer
    with pytest.raises(NotFound):
        accounts.revoke_token(info.id, other)
    with pytest.raises(NotFound):
        accounts.token(info.id, other)
    assert other_worker.token_identity(raw, "10.0.0.1") is not None
    revoked = accounts.revoke_token(info.id, own)
    assert revoked.revoked_at == clock.at and revoked.status(clock.at) == "ingetrokken"
    assert other_worker.token_identity(raw, "10.0.0.1") is None
    assert accounts.revoke_token(info.id, own).revoked_at == revoked.revoked_at
    info2, raw2 = accounts.issue_token(own, "tweede")
    accounts.revoke_token(info2.id, other, admin=True)
    assert other_worker.token_identity(raw2, "10.0.0.1") is None


def test_disabling_an_account_revokes_its_tokens(accounts: Accounts, engine: Engine) -> None:
    account_id = _member(accounts)
    _, raw = accounts.issue_token(account_id, "koppeling")
    accounts.disable_id(account_id)
    assert accounts.token_identity(raw, "10.0.0.1") is None
    with Session(engine) as session:
        assert session.scalars(select(ApiToken.revoked_at)).one() is not None
    with pytest.raises(Refused, match="uitgeschakeld"):
        accounts.issue_token(account_id, "nog een")


# --- demo accounts ------------------------------------------------------------------------------


def test_demo_accounts_only_in_demo_mode(
    engine: Engine, settings: Settings, clock: Clock, tmp_path: Any
) -> None:
    with pytest.raises(DemoRefused):
        _accounts(engine, settings, clock).seed_demo_accounts()
    production = Settings(env="production", demo=True, data_dir=tmp_path)
    with pytest.raises(DemoRefused):
        _accounts(engine, production, clock).seed_demo_accounts()
    assert _accounts(engine, settings, clock).list_accounts() == []


def test_demo_accounts_are_seeded_once_and_can_log_in(
    engine: Engine, tmp_path: Any, clock: Clock
) -> None:
    demo = Settings(env="test", demo=True, data_dir=tmp_path)
    a = _accounts(engine, demo, clock)
    seeded = a.seed_demo_accounts()
    assert all(d.nieuw for d in seeded)
    assert {d.rol for d in seeded} == {
        "aanvrager", "beoordelaar", "regelbeheerder", "auditor", "beheerder"
    }  # fmt: skip
    again = a.seed_demo_accounts()
    assert not any(d.nieuw for d in again)
    assert [d.gebruikersnaam for d in again] == [d.gebruikersnaam for d in seeded]
    for d in seeded:
        identity = a.login(d.gebruikersnaam, d.wachtwoord, "127.0.0.1").identity
        assert (identity.rol, identity.organisatie_id) == (d.rol, d.organisatie_id)


def test_the_demo_municipalities_are_those_of_the_demo_claims() -> None:
    orgs, accounts = load_demo_accounts(DEMO_ACCOUNTS_FILE)
    claims = yaml.safe_load((FORMS_DIR / "demo" / "demo.yaml").read_text(encoding="utf-8"))
    municipalities = {(m["code"], m["name"]) for m in claims["municipalities"].values()}
    assert {(o[0], o[1]) for o in orgs if o[2] == "gemeente"} == municipalities
    # BZK decides vangnet claims (forms/organisaties.yaml)
    deciding = yaml.safe_load((FORMS_DIR / "organisaties.yaml").read_text(encoding="utf-8"))
    assert deciding["deciding_bodies"]["minister_bzk"]["organisatie"] in {o[0] for o in orgs}
    regelbeheerders = [a for a in accounts if a[2] == "regelbeheerder"]
    assert len(regelbeheerders) >= 2  # four eyes


def test_a_broken_demo_file_is_named(tmp_path: Any) -> None:
    from vangnet.service.accounts import AccountsError

    bad = tmp_path / "accounts.yaml"
    bad.write_text(
        "version: 1\nwritten_on: 2026-12-01\norganisations:\n"
        "  - {id: GM0363, naam: Amsterdam, soort: gemeente}\naccounts: []\n"
    )
    with pytest.raises(AccountsError, match=r"accounts.yaml: organisatie 1: .*\(demo\)"):
        load_demo_accounts(bad)


# --- the audit log ------------------------------------------------------------------------------


def test_every_change_and_login_is_in_the_audit_log(
    accounts: Accounts, engine: Engine, spy: AuditSpy
) -> None:
    admin = Identity("beheer-id", "BZK", "beheerder", "beheerder-000000", "10.1.1.1", "token")
    account_id = accounts.add_account("jan", "GM0363", "aanvrager", PASSWORD, by=admin).id
    with pytest.raises(AlreadyExists):  # refused: nothing written, nothing logged
        accounts.add_account("jan", "GM0363", "aanvrager", PASSWORD, by=admin)
    with pytest.raises(LoginRefused):
        accounts.login("jan", "verkeerd-wachtwoord", "10.2.2.2")
    new = accounts.login("jan", PASSWORD, "10.2.2.2")
    token, _ = accounts.issue_token(account_id, "koppeling", by=new.identity)
    accounts.revoke_token(token.id, "beheer-id", admin=True, by=admin)
    accounts.logout(new.token, origin="10.2.2.2")
    accounts.disable_id(account_id, by=admin)
    entries = spy.entries
    assert [(e["action"], e["result"], e["actor"], e["origin"]) for e in entries] == [
        ("organisatie.toevoegen", "gelukt", "systeem", "cli"),
        ("organisatie.toevoegen", "gelukt", "systeem", "cli"),
        ("account.toevoegen", "gelukt", "beheer-id", "10.1.1.1"),
        ("inloggen", "geweigerd", account_id, "10.2.2.2"),
        ("inloggen", "gelukt", account_id, "10.2.2.2"),
        ("token.uitgeven", "gelukt", account_id, "10.2.2.2"),
        ("token.intrekken", "gelukt", "beheer-id", "10.1.1.1"),
        ("uitloggen", "gelukt", account_id, "10.2.2.2"),
        ("account.uitschakelen", "gelukt", "beheer-id", "10.1.1.1"),
    ]
    assert entries[2]["object_id"] == account_id
    assert entries[3]["details"] == {"reden": "wachtwoord"}
    assert entries[-1]["details"] == {"sessies_ingetrokken": 0, "tokens_ingetrokken": 0}
    assert "jan" not in repr(entries).replace(account_id, "")
    assert spy.log.verify(engine).ok


def test_concurrent_guesses_in_two_workers_cannot_pass_the_limit(
    database_url: str, settings: Settings, clock: Clock
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    engines = [create_db_engine(database_url) for _ in range(2)]
    migrate(engines[0])
    workers = [_accounts(e, settings, clock) for e in engines]
    workers[0].add_organisation("GM0363", "Amsterdam", "gemeente")
    workers[0].add_account("jan", "GM0363", "aanvrager", PASSWORD)

    def guess(n: int) -> str:
        try:
            workers[n % 2].login("jan", f"gok-nummer-{n:04d}", f"10.0.1.{n}")
        except LoginRefused:
            return "geweigerd"
        except LoginThrottled:
            return "vertraagd"
        return "binnen"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(guess, range(16)))
    assert outcomes.count("geweigerd") == 5  # the password was checked 5 times, no more
    assert outcomes.count("vertraagd") == 11
    for e in engines:
        e.dispose()


def test_revocations_survive_a_restart(database_url: str, settings: Settings, clock: Clock) -> None:
    engine = create_db_engine(database_url)
    migrate(engine)
    a = _accounts(engine, settings, clock)
    a.add_organisation("GM0363", "Amsterdam", "gemeente")
    account_id = a.add_account("jan", "GM0363", "aanvrager", PASSWORD).id
    ended, kept = (a.login("jan", PASSWORD, "10.0.0.1").token for _ in range(2))
    (revoked, _), (_, raw) = (a.issue_token(account_id, n) for n in ("weg", "blijft"))
    a.logout(ended)
    a.revoke_token(revoked.id, account_id)
    engine.dispose()
    engine = create_db_engine(database_url)
    b = _accounts(engine, settings, clock)
    assert b.session_identity(ended, "10.0.0.1") is None
    assert b.session_identity(kept, "10.0.0.1") is not None
    assert {t.naam: t.status(clock.at) for t in b.list_tokens(account_id)} == {
        "weg": "ingetrokken",
        "blijft": "geldig",
    }
    assert b.token_identity(raw, "10.0.0.1") is not None
    engine.dispose()


def test_impossible_names_and_ids_are_unknown(accounts: Accounts) -> None:
    # PostgreSQL refuses NUL in text outright: such input must never reach a query
    account_id = _member(accounts, "jan")
    odd = "jan\x00"
    with pytest.raises(LoginRefused):
        accounts.login(odd, PASSWORD, "10.0.0.1")
    for call in (
        lambda: accounts.account(odd),
        lambda: accounts.account_by_name(odd),
        lambda: accounts.disable(odd),
        lambda: accounts.disable_id(odd),
        lambda: accounts.set_password(odd, PASSWORD),
        lambda: accounts.issue_token(odd, "x"),
        lambda: accounts.token(odd, None),
        lambda: accounts.revoke_token(odd, account_id, admin=True),
        lambda: accounts.organisation(odd),
    ):
        with pytest.raises(NotFound):
            call()
    with pytest.raises(InvalidInput) as refused:
        accounts.add_account("kees", "GM\x00", "aanvrager", None)
    assert refused.value.field == "organisatie"
    assert accounts.list_accounts(odd) == []
    assert accounts.account(account_id).actief
