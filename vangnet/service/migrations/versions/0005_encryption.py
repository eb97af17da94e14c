"""Encryption at rest; re-encryption and the retention purge through the immutability guards.

1. What was stored in plaintext is encrypted (vangnet.service.crypto: AES-256-GCM envelopes
   under the process's first key, bound to table and column): aanvraag_versie.claim_json,
   advies.decision_json, statusovergang.reason, besluit.motivation, besluit.letter_context,
   besluit.letter_pdf, bijlage.content. Text columns stay TEXT (the envelope in base64), so
   only bijlage is rebuilt on SQLite. The column types then read envelopes only. Running this
   on a database with rows needs the encryption keys of the process (VANGNET_ENCRYPTION_KEYS,
   or outside production the development key); on an empty database it needs none.
2. bijlage's `length(content) = size` becomes `length(content) >= size + 33` (the envelope's
   least overhead). On SQLite the table is rebuilt (batch mode), which drops its triggers;
   they are made again below.
3. The guards of besluit, bezwaar and bijlage (migrations 0002, 0003) are replaced. Still
   refused: every UPDATE and DELETE, except
   - an UPDATE of besluit or bijlage that changes nothing but the ciphertext columns, while
     the flag `herversleutelen` is set (`vangnet keys rotate`);
   - a DELETE of a besluit, bezwaar or bijlage whose claim's `retain_until` lies before today
     (UTC), while the flag `opschonen` is set (`vangnet retention purge`).
   The flag: on PostgreSQL the transaction-local setting `vangnet.<flag>` = 'aan'; on SQLite
   the function `vangnet_vlag('<flag>')`, which vangnet registers on its own connections
   (vangnet.service.crypto.permit). On PostgreSQL one function, `vangnet_bewaard()`, guards
   all three tables; its trigger arguments name the ciphertext columns, and every other
   column (a column added later included) must stay the same. On SQLite the triggers list
   the columns that must stay: a later migration that adds a column to besluit or bijlage
   must make these triggers again.
   auditregel keeps its guard: the audit log is never changed, re-encrypted or purged.

Downgrade decrypts (the keys are needed for that too) and restores the old guards.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import base64

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# the values as they were when this migration was written (a migration never imports them)
# (table, column, stored as "bytes" or base64 "text")
ENCRYPTED = (
    ("aanvraag_versie", "claim_json", "bytes"),
    ("advies", "decision_json", "bytes"),
    ("statusovergang", "reason", "text"),
    ("besluit", "motivation", "text"),
    ("besluit", "letter_context", "bytes"),
    ("besluit", "letter_pdf", "bytes"),
    ("bijlage", "content", "bytes"),
)
OVERHEAD = 33
SOORTEN = "'offerte', 'factuur', 'dreigingsinschatting', 'beveiligingsadvies', 'overig'"
MEDIA_TYPES = "'application/pdf', 'image/png', 'image/jpeg'"
MAX_BYTES = 10_000_000
# the columns that re-encryption must leave as they are (SQLite; PostgreSQL compares all but
# the ciphertext columns)
STAYS = {
    "besluit": (
        "id", "aanvraag_id", "number", "kind", "advies_id", "outcome", "amount_cents",
        "attachments", "decided_by", "decided_at", "replaces_id", "letter_date", "letter_sha256",
    ),
    "bijlage": ("id", "aanvraag_id", "soort", "media_type", "size", "sha256", "created_at"),
}  # fmt: skip
CIPHER = {"besluit": ("motivation", "letter_context", "letter_pdf"), "bijlage": ("content",)}
GUARDED = ("besluit", "bezwaar", "bijlage")


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


# --- the data ----------------------------------------------------------------------------


def _transform(encrypting: bool) -> None:
    """Encrypt (or, going down, decrypt) every stored value of the encrypted columns, one row
    at a time (an attachment may be 10 MB)."""
    connection = op.get_bind()
    for table, column, kind in ENCRYPTED:
        ids = list(
            connection.execute(
                # table and column come from ENCRYPTED above, never from input
                sa.text(f"SELECT id FROM {table} WHERE {column} IS NOT NULL ORDER BY id")  # noqa: S608
            ).scalars()
        )
        if not ids:
            continue
        # the key ring only when there is something to encrypt: an empty database needs none
        from vangnet.service.crypto import current

        ring = current()
        context = f"{table}.{column}"
        for id_ in ids:
            value = connection.execute(
                sa.text(f"SELECT {column} FROM {table} WHERE id = :id"),  # noqa: S608
                {"id": id_},
            ).scalar_one()
            new: bytes | str
            if kind == "text" and encrypting:
                envelope = ring.encrypt(str(value).encode("utf-8"), context)
                new = base64.b64encode(envelope).decode("ascii")
            elif kind == "text":
                new = ring.decrypt(base64.b64decode(str(value)), context).decode("utf-8")
            elif encrypting:
                new = ring.encrypt(bytes(value), context)
            else:
                new = ring.decrypt(bytes(value), context)
            connection.execute(
                sa.text(f"UPDATE {table} SET {column} = :v WHERE id = :id"),  # noqa: S608
                {"v": new, "id": id_},
            )


def _bijlage(check: str) -> sa.Table:
    """The bijlage table with content check `check` (for SQLite's batch rebuild)."""
    return sa.Table(
        "bijlage",
        sa.MetaData(),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("aanvraag_id", sa.String(32), nullable=False),
        sa.Column("soort", sa.String(32), nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bijlage"),
        sa.ForeignKeyConstraint(
            ["aanvraag_id"], ["aanvraag.id"], name="fk_bijlage_aanvraag_id_aanvraag"
        ),
        sa.UniqueConstraint("aanvraag_id", "sha256", name="uq_bijlage_aanvraag_id_sha256"),
        sa.CheckConstraint(f"soort IN ({SOORTEN})", name="ck_bijlage_soort"),
        sa.CheckConstraint(f"media_type IN ({MEDIA_TYPES})", name="ck_bijlage_media_type"),
        sa.CheckConstraint(f"size >= 1 AND size <= {MAX_BYTES}", name="ck_bijlage_size"),
        sa.CheckConstraint(check, name="ck_bijlage_content"),
        sa.CheckConstraint("length(sha256) = 64", name="ck_bijlage_sha256"),
        sa.Index("ix_bijlage_aanvraag_id", "aanvraag_id"),
    )


def _convert(encrypting: bool, check: str) -> None:
    """Transform the data and give bijlage its content check `check`."""
    if _postgresql():
        op.drop_constraint("ck_bijlage_content", "bijlage", type_="check")
        _transform(encrypting)
        op.create_check_constraint("ck_bijlage_content", "bijlage", check)
        return
    # SQLite: the old check would refuse the new bytes; it is off for this transaction's
    # updates, and the rebuild (INSERT ... SELECT) checks every row against the new one
    op.execute("PRAGMA ignore_check_constraints = ON")
    try:
        _transform(encrypting)
    finally:
        op.execute("PRAGMA ignore_check_constraints = OFF")
    with op.batch_alter_table("bijlage", recreate="always", copy_from=_bijlage(check)):
        pass


# --- the guards --------------------------------------------------------------------------

_PG_FUNCTION = """
CREATE FUNCTION vangnet_bewaard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  claim text;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF TG_NARGS > 0
       AND current_setting('vangnet.herversleutelen', true) = 'aan'
       AND (to_jsonb(NEW) - TG_ARGV) = (to_jsonb(OLD) - TG_ARGV) THEN
      RETURN NEW;
    END IF;
  ELSIF TG_OP = 'DELETE' AND current_setting('vangnet.opschonen', true) = 'aan' THEN
    IF TG_TABLE_NAME = 'bezwaar' THEN
      SELECT b.aanvraag_id INTO claim FROM besluit b WHERE b.id = OLD.besluit_id;
    ELSE
      claim := OLD.aanvraag_id;
    END IF;
    IF EXISTS (SELECT 1 FROM aanvraag a WHERE a.id = claim
               AND a.retain_until < (now() AT TIME ZONE 'UTC')::date) THEN
      RETURN OLD;
    END IF;
  END IF;
  RAISE EXCEPTION '% is onveranderlijk: % kan niet', TG_TABLE_NAME, TG_OP;
END $$
"""


def _sqlite_guard(table: str, verb: str, allowed: str | None) -> str:
    when = "" if allowed is None else f" WHEN NOT ({allowed})"
    return (
        f"CREATE TRIGGER {table}_geen_{verb.lower()} BEFORE {verb} ON {table}{when} BEGIN"
        f" SELECT RAISE(ABORT, '{table} is onveranderlijk: {verb} kan niet'); END"
    )


def _sqlite_due(claim: str) -> str:
    return (
        "vangnet_vlag('opschonen') AND EXISTS (SELECT 1 FROM aanvraag a"  # noqa: S608
        f" WHERE a.id = {claim} AND a.retain_until < date('now'))"
    )


def _new_guards() -> list[str]:
    if _postgresql():
        statements = [_PG_FUNCTION]
        for table in GUARDED:
            args = ", ".join(f"'{c}'" for c in CIPHER.get(table, ()))
            statements.append(
                f"CREATE TRIGGER {table}_onveranderlijk BEFORE UPDATE OR DELETE ON {table}"
                f" FOR EACH ROW EXECUTE FUNCTION vangnet_bewaard({args})"
            )
        return statements
    statements = []
    for table in GUARDED:
        if table in STAYS:
            same = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in STAYS[table])
            statements.append(
                _sqlite_guard(table, "UPDATE", f"vangnet_vlag('herversleutelen') AND {same}")
            )
        else:
            statements.append(_sqlite_guard(table, "UPDATE", None))
        claim = (
            "(SELECT b.aanvraag_id FROM besluit b WHERE b.id = OLD.besluit_id)"
            if table == "bezwaar"
            else "OLD.aanvraag_id"
        )
        statements.append(_sqlite_guard(table, "DELETE", _sqlite_due(claim)))
    return statements


def _old_guards() -> list[str]:
    if _postgresql():
        return [
            f"CREATE TRIGGER {table}_onveranderlijk BEFORE UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION vangnet_onveranderlijk()"
            for table in GUARDED
        ]
    return [_sqlite_guard(t, verb, None) for t in GUARDED for verb in ("UPDATE", "DELETE")]


def _drop_guards() -> None:
    for table in GUARDED:
        if _postgresql():
            op.execute(f"DROP TRIGGER IF EXISTS {table}_onveranderlijk ON {table}")
        else:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_geen_{verb}")


def upgrade() -> None:
    _drop_guards()
    _convert(True, f"length(content) >= size + {OVERHEAD}")
    for statement in _new_guards():
        op.execute(statement)


def downgrade() -> None:
    _drop_guards()
    if _postgresql():
        op.execute("DROP FUNCTION vangnet_bewaard()")
    _convert(False, "length(content) = size")
    for statement in _old_guards():
        op.execute(statement)
