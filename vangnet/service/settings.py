"""One `Settings` object, read once from the environment, failing fast on unsafe values.

VANGNET_ENV           development (default) | test | production
VANGNET_DATA_DIR      where the SQLite file and stored files live (default ./data)
VANGNET_DATABASE_URL  a SQLAlchemy URL: sqlite:///PATH or postgresql+psycopg://… (postgresql://
                      means psycopg 3 too); default SQLite in the data directory
VANGNET_SECRET_KEY    required in production (sessions and tokens sign with it)
VANGNET_PUBLIC_URL    the https address the API is published under (OpenAPI `servers`)
VANGNET_ENGINE_WORKERS  engine processes (default 1)
VANGNET_EVALUATIONS_PER_MINUTE  rate limit per client on POST /v1/evaluaties (default 120)
VANGNET_DEMO          1: demo mode (the demo accounts exist and `make run` prints them)
VANGNET_AUDIT_KEY     the key of the audit log's keyed hashes (at least 32 characters);
                      required in production
VANGNET_AUDIT_KEYS_PREVIOUS  the audit keys VANGNET_AUDIT_KEY replaced, separated by spaces,
                      oldest first; they only verify the entries they made (docs/audit.md)
VANGNET_ENCRYPTION_KEYS  the keys for encryption at rest: `ID:BASE64,ID:BASE64`, 32-byte
                      AES keys, the first encrypts, all decrypt; required in production
VANGNET_PSEUDONYM_KEY  the key of the keyed hashes that replace pseudonyms for auditors (at
                      least 32 characters); required in production
VANGNET_SESSION_HOURS  how long a web session lives without use (default 8)
VANGNET_TOKEN_DAYS    how long a new API token is valid (default 90)
VANGNET_RETENTION_YEARS  how long a claim is kept after its last decision or withdrawal
                      (default: forms/retention.yaml)

Outside production, a missing key is made once and kept in `DATA_DIR/secrets/` (mode 0600), so
that development and tests need no set-up; `Settings.secret(name)` reads it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

__all__ = ["Settings", "SettingsError", "database_url"]

Env = Literal["development", "test", "production"]


class SettingsError(ValueError):
    """The environment does not describe a safe configuration."""


def database_url(raw: str) -> str:
    """`raw` with the psycopg 3 driver named for PostgreSQL; `SettingsError` for a database
    vangnet does not support. The message never repeats the URL (it may hold a password)."""
    if not raw:
        return ""
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg://" + raw.split("://", 1)[1]
    if scheme in ("postgresql+psycopg", "sqlite"):
        return raw
    raise SettingsError(
        "VANGNET_DATABASE_URL: gebruik sqlite:///PAD of postgresql+psycopg://GEBRUIKER@HOST/DB"
    )


@dataclass(frozen=True, slots=True)
class Settings:
    env: Env = "development"
    data_dir: Path = Path("data")
    database_url: str = ""
    secret_key: str = ""
    public_url: str = "https://localhost:8000"
    engine_workers: int = 1
    evaluations_per_minute: int = 120
    demo: bool = False
    audit_key: str = ""
    audit_keys_previous: str = ""
    encryption_keys: str = ""
    pseudonym_key: str = ""
    session_hours: int = 8
    token_days: int = 90
    retention_years: int | None = None

    def secret(self, name: str) -> bytes:
        """A development secret `name` (32 random bytes), made once under the data directory;
        never used in production, where every key comes from the environment."""
        if self.env == "production":
            raise SettingsError(f"{name}: in productie komt elke sleutel uit de omgeving")
        folder = self.data_dir / "secrets"
        path = folder / f"{name}.key"
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process made it first
            else:
                with os.fdopen(fd, "wb") as out:
                    out.write(secrets.token_bytes(32))
        return path.read_bytes()

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "vangnet.sqlite3"

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL of the database: VANGNET_DATABASE_URL, or the SQLite file."""
        return database_url(self.database_url) or f"sqlite:///{self.sqlite_path}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings; raise `SettingsError` naming the variable that is wrong."""
        env_vars = os.environ if environ is None else environ
        env = env_vars.get("VANGNET_ENV", "development")
        if env not in ("development", "test", "production"):
            raise SettingsError(f"VANGNET_ENV={env!r}: gebruik development, test of production")

        def positive(name: str, default: int) -> int:
            raw = env_vars.get(name, str(default))
            if not raw.isdigit() or int(raw) < 1:
                raise SettingsError(f"{name}={raw!r}: moet een geheel getal van 1 of meer zijn")
            return int(raw)

        secret = env_vars.get("VANGNET_SECRET_KEY", "")
        if env == "production" and len(secret) < 32:
            raise SettingsError(
                "VANGNET_SECRET_KEY ontbreekt of is korter dan 32 tekens; in productie start"
                " vangnet niet zonder geheime sleutel uit de omgeving"
            )
        for name in ("VANGNET_AUDIT_KEY", "VANGNET_ENCRYPTION_KEYS", "VANGNET_PSEUDONYM_KEY"):
            if env == "production" and not env_vars.get(name):
                raise SettingsError(f"{name} ontbreekt; in productie start vangnet niet zonder")
        for name in ("VANGNET_AUDIT_KEY", "VANGNET_PSEUDONYM_KEY"):
            if 0 < len(env_vars.get(name, "")) < 32:
                raise SettingsError(f"{name}: moet minstens 32 tekens lang zijn")
        for number, old in enumerate(env_vars.get("VANGNET_AUDIT_KEYS_PREVIOUS", "").split(), 1):
            if len(old) < 32:
                raise SettingsError(
                    f"VANGNET_AUDIT_KEYS_PREVIOUS: sleutel {number} is korter dan 32 tekens;"
                    " noem de vorige sleutels van de auditlog volledig, gescheiden door spaties"
                )
        retention = env_vars.get("VANGNET_RETENTION_YEARS")
        public_url = env_vars.get("VANGNET_PUBLIC_URL", "https://localhost:8000").rstrip("/")
        if not public_url.startswith("https://"):
            raise SettingsError(f"VANGNET_PUBLIC_URL={public_url!r}: moet met https:// beginnen")
        return cls(
            env=cast(Env, env),
            data_dir=Path(env_vars.get("VANGNET_DATA_DIR", "data")),
            database_url=database_url(env_vars.get("VANGNET_DATABASE_URL", "")),
            secret_key=secret,
            public_url=public_url,
            engine_workers=positive("VANGNET_ENGINE_WORKERS", 1),
            evaluations_per_minute=positive("VANGNET_EVALUATIONS_PER_MINUTE", 120),
            demo=env_vars.get("VANGNET_DEMO", "") in ("1", "true", "ja"),
            audit_key=env_vars.get("VANGNET_AUDIT_KEY", ""),
            audit_keys_previous=env_vars.get("VANGNET_AUDIT_KEYS_PREVIOUS", ""),
            pseudonym_key=env_vars.get("VANGNET_PSEUDONYM_KEY", ""),
            encryption_keys=env_vars.get("VANGNET_ENCRYPTION_KEYS", ""),
            session_hours=positive("VANGNET_SESSION_HOURS", 8),
            token_days=positive("VANGNET_TOKEN_DAYS", 90),
            retention_years=None if retention is None else positive("VANGNET_RETENTION_YEARS", 7),
        )
