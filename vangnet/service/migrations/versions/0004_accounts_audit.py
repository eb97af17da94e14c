"""Organisations, accounts, sessions, API tokens, login throttling and the audit log; the
deciding organisation and the retention date of a claim.

`auditregel` is append-only: a trigger refuses every UPDATE and DELETE, on SQLite and on
PostgreSQL (the function `vangnet_onveranderlijk()` of migration 0002). Appends are serialised
by the writer (`vangnet.service.audit`), not by the schema; `seq` is assigned by that writer
(the previous entry's `seq` + 1), so that a gap is visible.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# the values as they were when this migration was written (a migration never imports them)
SOORTEN = "'gemeente', 'provincie', 'waterschap', 'bzk'"
ROLLEN = "'aanvrager', 'beoordelaar', 'regelbeheerder', 'auditor', 'beheerder'"
RESULTATEN = "'gelukt', 'geweigerd', 'mislukt'"
CONCEPT_SOORTEN = "'regelset', 'catalogus'"
CONCEPT_STATUSSEN = "'concept', 'goedgekeurd', 'gepubliceerd', 'afgewezen'"


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "organisatie",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("naam", sa.String(200), nullable=False),
        sa.Column("soort", sa.String(16), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_organisatie"),
        sa.CheckConstraint(f"soort IN ({SOORTEN})", name="ck_organisatie_soort"),
    )
    op.create_table(
        "account",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("gebruikersnaam", sa.String(100), nullable=False),
        sa.Column("organisatie_id", sa.String(16), nullable=False),
        sa.Column("rol", sa.String(32), nullable=False),
        sa.Column("pseudoniem", sa.String(64), nullable=False),
        sa.Column("wachtwoord_hash", sa.String(200), nullable=True),
        sa.Column("actief", sa.Boolean(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("disabled_at", _timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_account"),
        sa.ForeignKeyConstraint(
            ["organisatie_id"], ["organisatie.id"], name="fk_account_organisatie_id_organisatie"
        ),
        sa.UniqueConstraint("gebruikersnaam", name="uq_account_gebruikersnaam"),
        sa.UniqueConstraint("pseudoniem", name="uq_account_pseudoniem"),
        sa.CheckConstraint(f"rol IN ({ROLLEN})", name="ck_account_rol"),
    )
    op.create_index("ix_account_organisatie_id", "account", ["organisatie_id"])
    op.create_table(
        "sessie",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("expires_at", _timestamp(), nullable=False),
        sa.Column("last_seen_at", _timestamp(), nullable=False),
        sa.Column("revoked_at", _timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sessie"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name="fk_sessie_account_id_account"
        ),
    )
    op.create_index("ix_sessie_account_id", "sessie", ["account_id"])
    op.create_table(
        "api_token",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("naam", sa.String(100), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("expires_at", _timestamp(), nullable=False),
        sa.Column("revoked_at", _timestamp(), nullable=True),
        sa.Column("last_used_at", _timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_token"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name="fk_api_token_account_id_account"
        ),
        sa.UniqueConstraint("token_sha256", name="uq_api_token_token_sha256"),
    )
    op.create_index("ix_api_token_account_id", "api_token", ["account_id"])
    op.create_table(
        "inlogpoging",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("sleutel", sa.String(64), nullable=False),
        sa.Column("at", _timestamp(), nullable=False),
        sa.Column("gelukt", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_inlogpoging"),
    )
    op.create_index("ix_inlogpoging_sleutel", "inlogpoging", ["sleutel"])
    op.create_index("ix_inlogpoging_at", "inlogpoging", ["at"])
    op.create_table(
        "auditregel",
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("at", _timestamp(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=True),
        sa.Column("object_id", sa.String(64), nullable=True),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_auditregel"),
        sa.CheckConstraint(f"result IN ({RESULTATEN})", name="ck_auditregel_result"),
        sa.CheckConstraint("seq >= 1", name="ck_auditregel_seq"),
    )
    op.create_index("ix_auditregel_actor", "auditregel", ["actor"])
    op.create_index("ix_auditregel_object_id", "auditregel", ["object_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER auditregel_onveranderlijk BEFORE UPDATE OR DELETE ON auditregel"
            " FOR EACH ROW EXECUTE FUNCTION vangnet_onveranderlijk()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER auditregel_geen_{verb.lower()} BEFORE {verb} ON auditregel"
                f" BEGIN SELECT RAISE(ABORT, 'auditregel is onveranderlijk: {verb} kan niet');"
                " END"
            )
    op.create_table(
        "regelset_concept",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("soort", sa.String(16), nullable=False),
        sa.Column("scheme", sa.String(64), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("changelog", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("author_id", sa.String(32), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("approved_by", sa.String(32), nullable=True),
        sa.Column("approved_at", _timestamp(), nullable=True),
        sa.Column("published_at", _timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_regelset_concept"),
        sa.ForeignKeyConstraint(
            ["author_id"], ["account.id"], name="fk_regelset_concept_author_id_account"
        ),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["account.id"], name="fk_regelset_concept_approved_by_account"
        ),
        sa.UniqueConstraint(
            "soort", "scheme", "version", name="uq_regelset_concept_soort_scheme_version"
        ),
        sa.CheckConstraint(f"soort IN ({CONCEPT_SOORTEN})", name="ck_regelset_concept_soort"),
        sa.CheckConstraint(f"status IN ({CONCEPT_STATUSSEN})", name="ck_regelset_concept_status"),
        sa.CheckConstraint(
            "approved_by IS NULL OR approved_by <> author_id", name="ck_regelset_concept_vier_ogen"
        ),
    )
    # a published version never changes, and no draft is ever deleted
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION vangnet_gepubliceerd() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN"
            " IF TG_OP = 'DELETE' OR OLD.status = 'gepubliceerd' THEN"
            "  RAISE EXCEPTION '%: gepubliceerd of verwijderen kan niet', TG_TABLE_NAME;"
            " END IF;"
            " RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER regelset_concept_vast BEFORE UPDATE OR DELETE ON regelset_concept"
            " FOR EACH ROW EXECUTE FUNCTION vangnet_gepubliceerd()"
        )
    else:
        op.execute(
            "CREATE TRIGGER regelset_concept_geen_update BEFORE UPDATE ON regelset_concept"
            " WHEN OLD.status = 'gepubliceerd' BEGIN"
            " SELECT RAISE(ABORT, 'regelset_concept is gepubliceerd: UPDATE kan niet'); END"
        )
        op.execute(
            "CREATE TRIGGER regelset_concept_geen_delete BEFORE DELETE ON regelset_concept BEGIN"
            " SELECT RAISE(ABORT, 'regelset_concept is onveranderlijk: DELETE kan niet'); END"
        )
    # plain ADD COLUMN (no table rebuild on SQLite)
    op.add_column("aanvraag", sa.Column("decider_id", sa.String(16), nullable=True))
    op.add_column("aanvraag", sa.Column("retain_until", sa.Date(), nullable=True))
    op.create_index("ix_aanvraag_decider_id", "aanvraag", ["decider_id"])
    op.create_index("ix_aanvraag_retain_until", "aanvraag", ["retain_until"])


def downgrade() -> None:
    op.drop_index("ix_aanvraag_retain_until", "aanvraag")
    op.drop_index("ix_aanvraag_decider_id", "aanvraag")
    # plain DROP COLUMN (SQLite 3.35+; no table rebuild, which would lose the expression index)
    op.execute("ALTER TABLE aanvraag DROP COLUMN retain_until")
    op.execute("ALTER TABLE aanvraag DROP COLUMN decider_id")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE regelset_concept")
        op.execute("DROP FUNCTION vangnet_gepubliceerd()")
    else:
        op.drop_table("regelset_concept")
    for table in ("auditregel", "inlogpoging", "api_token", "sessie", "account", "organisatie"):
        op.drop_table(table)
