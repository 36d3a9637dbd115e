"""Products keep their text and translations (name, colour, text per language), as the store's
catalog carries them

Revision ID: 0011_product_i18n
Revises: 0010_product_style
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_product_i18n"
down_revision: str | None = "0010_product_style"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "products",
        sa.Column("text", sa.String(length=300), nullable=False, server_default=""),
    )
    op.add_column(
        "products",
        sa.Column(
            "i18n",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
            server_default=sa.text("'{}'"),
        ),
    )


def downgrade() -> None:
    op.drop_column("products", "i18n")
    op.drop_column("products", "text")
