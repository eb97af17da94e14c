"""Attachments: bijlage (evidence per claim: PDF, PNG or JPEG, its bytes and its sha256).

The bytes live in the row itself (`content`: bytea on PostgreSQL, a BLOB on SQLite), so that a
bijlage is committed whole or not at all (see `vangnet.service.attachments`). No file name is
stored: the download is named after the id.

Like besluit and bezwaar, a bijlage is immutable: a trigger refuses every UPDATE and DELETE
(PostgreSQL: the function `vangnet_onveranderlijk()` of migration 0002). A besluit names the
bijlagen it rests on by id; what those ids point to therefore never changes.

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# the values as they were when this migration was written (a migration never imports them)
SOORTEN = "'offerte', 'factuur', 'dreigingsinschatting', 'beveiligingsadvies', 'overig'"
MEDIA_TYPES = "'application/pdf', 'image/png', 'image/jpeg'"
MAX_BYTES = 10_000_000


def upgrade() -> None:
    op.create_table(
        "bijlage",
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
        sa.CheckConstraint("length(content) = size", name="ck_bijlage_content"),
        sa.CheckConstraint("length(sha256) = 64", name="ck_bijlage_sha256"),
    )
    op.create_index("ix_bijlage_aanvraag_id", "bijlage", ["aanvraag_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER bijlage_onveranderlijk BEFORE UPDATE OR DELETE ON bijlage"
            " FOR EACH ROW EXECUTE FUNCTION vangnet_onveranderlijk()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER bijlage_geen_{verb.lower()} BEFORE {verb} ON bijlage BEGIN"
                f" SELECT RAISE(ABORT, 'bijlage is onveranderlijk: {verb} kan niet'); END"
            )


def downgrade() -> None:
    # dropping the table drops its triggers
    op.drop_table("bijlage")
