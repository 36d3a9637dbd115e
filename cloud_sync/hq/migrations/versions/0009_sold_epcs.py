"""EPCs sold chain-wide, for the stores' exit gates; closed exit alarms (gate outcomes)

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
    op.create_table(
        "gate_outcomes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("exit", sa.String(length=64), nullable=False),
        sa.Column("alarm_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("epc", sa.String(length=64), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("price", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_outcomes")),
    )
    op.create_index(op.f("ix_gate_outcomes_event_id"), "gate_outcomes", ["event_id"], unique=False)
    op.create_index(
        "ix_gate_outcomes_store_day", "gate_outcomes", ["store_id", "day"], unique=False
    )


def downgrade() -> None:
    op.drop_table("gate_outcomes")
    op.drop_index("ix_sold_epcs_sold_ts", table_name="sold_epcs")
    op.drop_table("sold_epcs")
