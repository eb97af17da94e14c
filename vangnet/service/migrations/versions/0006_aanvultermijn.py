"""The term of an information request: `statusovergang.due_on`.

An information request (Awb 4:5) gives the applicant a term to supplement the claim; the
decision term is suspended until the claim is supplemented or that term has passed unused
(Awb 4:15, first paragraph, under a). The day is kept with the request's step in the history;
steps written before this migration have none (their suspension stays open-ended, as before).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("statusovergang", sa.Column("due_on", sa.Date(), nullable=True))


def downgrade() -> None:
    # SQLite 3.35 and later drop a plain column in place (no table rebuild)
    op.drop_column("statusovergang", "due_on")
