"""The rollups leave the ingesting transaction: ingestion queues the ids of events it
projected (rollup_queue), a pump folds them into the rollups in big batches

Revision ID: 0017_rollup_queue
Revises: 0016_store_stock_by_store
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_rollup_queue"
down_revision: str | None = "0016_store_stock_by_store"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Empty at creation: until now every projected row was rolled up as it was ingested.
    op.create_table(
        "rollup_queue",
        sa.Column("event_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_rollup_queue")),
    )


def downgrade() -> None:
    op.drop_table("rollup_queue")
