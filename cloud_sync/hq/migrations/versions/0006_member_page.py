"""member page: one-time login codes, member sessions, store confirmations

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("consents", sa.Column("gallery_version", sa.Integer(), nullable=True))
    op.create_table(
        "member_login_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("member_id", sa.String(length=40), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_login_codes")),
    )
    op.create_index(
        op.f("ix_member_login_codes_member_id"), "member_login_codes", ["member_id"], unique=False
    )
    op.create_table(
        "member_sessions",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=40), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_member_sessions")),
    )
    op.create_index(
        op.f("ix_member_sessions_member_id"), "member_sessions", ["member_id"], unique=False
    )
    op.create_table(
        "store_confirmations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("resource", sa.String(length=20), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_confirmations")),
    )
    op.create_index(
        "ix_store_confirmations_resource_version",
        "store_confirmations",
        ["resource", "version"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("store_confirmations")
    op.drop_table("member_sessions")
    op.drop_table("member_login_codes")
    op.drop_column("consents", "gallery_version")
