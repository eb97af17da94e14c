"""Decisions: besluit (final and immutable, with its letter) and bezwaar (an objection).

A trigger on each table refuses every UPDATE and DELETE, on SQLite and on PostgreSQL: a
besluit is never changed; a correction is a new besluit that replaces it. (PostgreSQL's
TRUNCATE, which the tests use to empty the database, fires no row trigger.) A later migration
that rebuilds one of these tables on SQLite (batch mode copies the table) must create its
triggers again.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# the values as they were when this migration was written (a migration never imports them)
KINDS = "'besluit', 'correctie', 'beslissing_op_bezwaar'"
OUTCOMES = "'toekennen', 'gedeeltelijk', 'afwijzen'"
IMMUTABLE = ("besluit", "bezwaar")


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _guard(table: str) -> list[str]:
    """DDL for a trigger that refuses UPDATE and DELETE on `table`."""
    if op.get_bind().dialect.name == "postgresql":
        return [
            f"CREATE TRIGGER {table}_onveranderlijk BEFORE UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION vangnet_onveranderlijk()"
        ]
    return [
        f"CREATE TRIGGER {table}_geen_{verb.lower()} BEFORE {verb} ON {table} BEGIN"
        f" SELECT RAISE(ABORT, '{table} is onveranderlijk: {verb} kan niet'); END"
        for verb in ("UPDATE", "DELETE")
    ]


def upgrade() -> None:
    op.create_table(
        "besluit",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("aanvraag_id", sa.String(32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("advies_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("motivation", sa.Text(), nullable=True),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=False),
        sa.Column("decided_at", _timestamp(), nullable=False),
        sa.Column("replaces_id", sa.String(32), nullable=True),
        sa.Column("letter_date", sa.Date(), nullable=False),
        sa.Column("letter_context", sa.LargeBinary(), nullable=False),
        sa.Column("letter_pdf", sa.LargeBinary(), nullable=False),
        sa.Column("letter_sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_besluit"),
        sa.ForeignKeyConstraint(
            ["aanvraag_id"], ["aanvraag.id"], name="fk_besluit_aanvraag_id_aanvraag"
        ),
        sa.ForeignKeyConstraint(["advies_id"], ["advies.id"], name="fk_besluit_advies_id_advies"),
        sa.ForeignKeyConstraint(
            ["replaces_id"], ["besluit.id"], name="fk_besluit_replaces_id_besluit"
        ),
        sa.UniqueConstraint("aanvraag_id", "number", name="uq_besluit_aanvraag_id_number"),
        sa.UniqueConstraint("replaces_id", name="uq_besluit_replaces_id"),
        sa.CheckConstraint(f"kind IN ({KINDS})", name="ck_besluit_kind"),
        sa.CheckConstraint(f"outcome IN ({OUTCOMES})", name="ck_besluit_outcome"),
        sa.CheckConstraint("amount_cents >= 0", name="ck_besluit_amount_cents"),
        sa.CheckConstraint("number >= 1", name="ck_besluit_number"),
        sa.CheckConstraint(
            "(kind = 'besluit' AND replaces_id IS NULL)"
            " OR (kind <> 'besluit' AND replaces_id IS NOT NULL)",
            name="ck_besluit_replaces",
        ),
    )
    op.create_index("ix_besluit_aanvraag_id", "besluit", ["aanvraag_id"])
    op.create_index("ix_besluit_advies_id", "besluit", ["advies_id"])

    op.create_table(
        "bezwaar",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("besluit_id", sa.String(32), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("registered_by", sa.String(64), nullable=False),
        sa.Column("registered_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bezwaar"),
        sa.ForeignKeyConstraint(
            ["besluit_id"], ["besluit.id"], name="fk_bezwaar_besluit_id_besluit"
        ),
    )
    op.create_index("ix_bezwaar_besluit_id", "bezwaar", ["besluit_id"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION vangnet_onveranderlijk() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN RAISE EXCEPTION '% is onveranderlijk: % kan niet', TG_TABLE_NAME, TG_OP;"
            " END $$"
        )
    for table in IMMUTABLE:
        for statement in _guard(table):
            op.execute(statement)


def downgrade() -> None:
    # dropping a table drops its triggers
    op.drop_table("bezwaar")
    op.drop_table("besluit")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION vangnet_onveranderlijk()")
