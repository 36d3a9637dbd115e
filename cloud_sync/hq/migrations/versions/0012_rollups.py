"""Rollups of the projections for the reports and the console, backfilled from them

Revision ID: 0012_rollups
Revises: 0013_console_users
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_rollups"
down_revision: str | None = "0013_console_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "rollup_store_hour",
    "rollup_store_day",
    "rollup_member_day",
    "rollup_product",
    "rollup_category",
    "rollup_revenue",
    "rollup_member",
    "rollup_member_sale",
    "segment_scores",
    "segment_cells",
)

COVERING = {
    "rollup_store_day": (
        "store_id, day",
        "visitors, visits, members, tryons, tries, purchases, sales, returns, units, revenue",
    ),
    "rollup_product": (
        "grain, store_id, period, gtin",
        "tryons, tries, purchases, units, revenue",
    ),
    "rollup_category": (
        "grain, store_id, period, category, size",
        "tryons, tries, purchases, units, revenue",
    ),
    "rollup_revenue": ("grain, store_id, period, home_store_id", "amount"),
}


def _counters(*names: str) -> list[sa.Column[int]]:
    return [sa.Column(n, sa.BigInteger(), nullable=False) for n in names]


def upgrade() -> None:
    op.create_table(
        "rollup_store_hour",
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        *_counters("visits", "visitors", "tryons", "tries"),
        sa.PrimaryKeyConstraint("store_id", "day", "hour", name=op.f("pk_rollup_store_hour")),
    )
    op.create_table(
        "rollup_store_day",
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        *_counters(
            "visitors",
            "visits",
            "members",
            "tryons",
            "tries",
            "purchases",
            "sales",
            "returns",
            "units",
        ),
        sa.Column("revenue", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "day", name=op.f("pk_rollup_store_day")),
    )
    op.create_index("ix_rollup_store_day_day", "rollup_store_day", ["day"], unique=False)
    op.create_table(
        "rollup_member_day",
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("member_id", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "day", "member_id", name=op.f("pk_rollup_member_day")),
    )
    op.create_table(
        "rollup_product",
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=False),
        *_counters("tryons", "tries", "purchases", "units"),
        sa.Column("revenue", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "grain", "store_id", "period", "gtin", name=op.f("pk_rollup_product")
        ),
    )
    op.create_table(
        "rollup_category",
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("size", sa.String(length=20), nullable=False),
        *_counters("tryons", "tries", "purchases", "units"),
        sa.Column("revenue", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "grain", "store_id", "period", "category", "size", name=op.f("pk_rollup_category")
        ),
    )
    op.create_table(
        "rollup_revenue",
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("home_store_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "grain", "store_id", "period", "home_store_id", name=op.f("pk_rollup_revenue")
        ),
    )
    op.create_table(
        "rollup_member",
        sa.Column("member_id", sa.String(length=40), nullable=False),
        sa.Column("last_ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("frequency", sa.BigInteger(), nullable=False),
        sa.Column("monetary", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_rollup_member")),
    )
    op.create_table(
        "rollup_member_sale",
        sa.Column("member_id", sa.String(length=40), nullable=False),
        sa.Column("sale_id", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "sale_id", name=op.f("pk_rollup_member_sale")),
    )
    op.create_table(
        "segment_scores",
        sa.Column("member_id", sa.String(length=40), nullable=False),
        sa.Column("home_store_id", sa.String(length=64), nullable=False),
        sa.Column("r", sa.Integer(), nullable=False),
        sa.Column("f", sa.Integer(), nullable=False),
        sa.Column("m", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(length=20), nullable=False),
        sa.Column("monetary", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_segment_scores")),
    )
    op.create_index(
        "ix_segment_scores_segment",
        "segment_scores",
        ["segment", "home_store_id", "member_id"],
        unique=False,
    )
    op.create_table(
        "segment_cells",
        sa.Column("home_store_id", sa.String(length=64), nullable=False),
        sa.Column("r", sa.Integer(), nullable=False),
        sa.Column("f", sa.Integer(), nullable=False),
        sa.Column("m", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(length=20), nullable=False),
        sa.Column("members", sa.BigInteger(), nullable=False),
        sa.Column("revenue", sa.Float(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("home_store_id", "r", "f", "m", name=op.f("pk_segment_cells")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Covering primary keys: the reports read a range of the key and sum the measures,
        # which PostgreSQL then answers by index-only scans, wherever the rows lie in the heap.
        for name, (keys, measures) in COVERING.items():
            op.execute(
                f"ALTER TABLE {name} DROP CONSTRAINT pk_{name}, "
                f"ADD CONSTRAINT pk_{name} PRIMARY KEY ({keys}) INCLUDE ({measures})"
            )
    # Backfill from the projections already there: the same SELECTs the tests check the
    # incremental rollups against (the segments snapshot fills at its first refresh).
    from cloud_sync.hq import rollups

    rollups.rebuild(op.get_bind(), pending=False)  # 0014 adds the pending tables


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
