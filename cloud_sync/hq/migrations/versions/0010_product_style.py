"""Products keep their style (the family of size/colour variants), as the store's catalog does

Revision ID: 0010_product_style
Revises: 0009_sold_epcs
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_product_style"
down_revision: str | None = "0009_sold_epcs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "products",
        sa.Column("style", sa.String(length=200), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_column("products", "style")
