"""EPCs sold chain-wide, for the stores' exit gates

Revision ID: 0009_sold_epcs
Revises: 0007_reservations
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_sold_epcs"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sold_epcs",
        sa.Column("epc", sa.String(length=64), nullable=False),
        sa.Column("sold", sa.Boolean(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("epc", name=op.f("pk_sold_epcs")),
    )
    op.create_index("ix_sold_epcs_sold_ts", "sold_epcs", ["sold", "ts"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sold_epcs_sold_ts", table_name="sold_epcs")
    op.drop_table("sold_epcs")
