"""store_stock by store: the nearby-stock downlink reads a few stores' counts of every GTIN

Revision ID: 0016_store_stock_by_store
Revises: 0014_chain_pending
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016_store_stock_by_store"
down_revision: str | None = "0014_chain_pending"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_store_stock_store_id", "store_stock", ["store_id"])


def downgrade() -> None:
    op.drop_index("ix_store_stock_store_id", table_name="store_stock")
