"""Claims: aanvraag, its versions, the advices on them, the status history.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# the statuses as they were when this migration was written (a migration never imports them)
STATUSES = ", ".join(
    f"'{s}'"
    for s in (
        "ingediend",
        "in_behandeling",
        "aanvulling_gevraagd",
        "aangevuld",
        "besloten",
        "ingetrokken",
    )
)


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "aanvraag",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("owner_id", sa.String(64), nullable=True),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("scheme", sa.String(64), nullable=False),
        sa.Column("reference_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("claim_version", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("claimed_total_cents", sa.BigInteger(), nullable=False),
        sa.Column("eligible_total_cents", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_aanvraag"),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="ck_aanvraag_status"),
        sa.CheckConstraint("claim_version >= 1", name="ck_aanvraag_claim_version"),
    )
    op.create_index("ix_aanvraag_owner_id", "aanvraag", ["owner_id"])
    op.create_index("ix_aanvraag_claim_id", "aanvraag", ["claim_id"])
    op.create_index("ix_aanvraag_status", "aanvraag", ["status"])
    op.create_index("ix_aanvraag_created_at", "aanvraag", ["created_at"])
    op.create_index(
        "uq_aanvraag_idempotency",
        "aanvraag",
        [sa.text("coalesce(owner_id, '')"), "idempotency_key"],
        unique=True,
    )

    op.create_table(
        "aanvraag_versie",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("aanvraag_id", sa.String(32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("claim_json", sa.LargeBinary(), nullable=False),
        sa.Column("claim_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_aanvraag_versie"),
        sa.ForeignKeyConstraint(
            ["aanvraag_id"], ["aanvraag.id"], name="fk_aanvraag_versie_aanvraag_id_aanvraag"
        ),
        sa.UniqueConstraint("aanvraag_id", "number", name="uq_aanvraag_versie_aanvraag_id_number"),
    )
    op.create_index("ix_aanvraag_versie_aanvraag_id", "aanvraag_versie", ["aanvraag_id"])

    op.create_table(
        "advies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("claim_version_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("claimed_total_cents", sa.BigInteger(), nullable=False),
        sa.Column("eligible_total_cents", sa.BigInteger(), nullable=False),
        sa.Column("ruleset_id", sa.String(64), nullable=False),
        sa.Column("ruleset_version", sa.String(32), nullable=False),
        sa.Column("ruleset_sha256", sa.String(64), nullable=False),
        sa.Column("catalogue_sha256", sa.String(64), nullable=False),
        sa.Column("claim_sha256", sa.String(64), nullable=False),
        sa.Column("engine", sa.String(200), nullable=False),
        sa.Column("evaluated_at", _timestamp(), nullable=False),
        sa.Column("decision_json", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_advies"),
        sa.ForeignKeyConstraint(
            ["claim_version_id"],
            ["aanvraag_versie.id"],
            name="fk_advies_claim_version_id_aanvraag_versie",
        ),
    )
    op.create_index("ix_advies_claim_version_id", "advies", ["claim_version_id"])

    op.create_table(
        "statusovergang",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("aanvraag_id", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(32), nullable=True),
        sa.Column("to_status", sa.String(32), nullable=False),
        sa.Column("at", _timestamp(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("claim_version_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_statusovergang"),
        sa.ForeignKeyConstraint(
            ["aanvraag_id"], ["aanvraag.id"], name="fk_statusovergang_aanvraag_id_aanvraag"
        ),
        sa.ForeignKeyConstraint(
            ["claim_version_id"],
            ["aanvraag_versie.id"],
            name="fk_statusovergang_claim_version_id_aanvraag_versie",
        ),
    )
    op.create_index("ix_statusovergang_aanvraag_id", "statusovergang", ["aanvraag_id"])


def downgrade() -> None:
    op.drop_table("statusovergang")
    op.drop_table("advies")
    op.drop_table("aanvraag_versie")
    op.drop_table("aanvraag")
