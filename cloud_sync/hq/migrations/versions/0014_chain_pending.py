"""Chain-wide rollup additions queue up (rollup_product_pending, rollup_category_pending)
instead of every store's upload updating the same chain rows

Revision ID: 0014_chain_pending
Revises: 0012_rollups
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_chain_pending"
down_revision: str | None = "0012_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


QUEUE_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _measures() -> list[sa.Column[object]]:
    return [
        sa.Column("tryons", sa.BigInteger(), nullable=False),
        sa.Column("tries", sa.BigInteger(), nullable=False),
        sa.Column("purchases", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("revenue", sa.Float(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "rollup_product_pending",
        sa.Column("id", QUEUE_ID, autoincrement=True, nullable=False),
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=False),
        *_measures(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_product_pending")),
    )
    op.create_table(
        "rollup_category_pending",
        sa.Column("id", QUEUE_ID, autoincrement=True, nullable=False),
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("size", sa.String(length=20), nullable=False),
        *_measures(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_category_pending")),
    )


def downgrade() -> None:
    op.drop_table("rollup_category_pending")
    op.drop_table("rollup_product_pending")
