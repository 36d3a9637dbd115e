"""Alembic environment. The URL comes from the caller (``core.db.upgrade``) or, for
``alembic revision --autogenerate`` by hand, from ``O2O_HQ_DATABASE_URL``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from cloud_sync.hq.core.config import Settings
from cloud_sync.hq.core.db import make_engine
from cloud_sync.hq.models import Base

LOCK_KEY = 0x02_0E_D6_E0  # any constant shared by every HQ process

config = context.config
url = config.attributes.get("database_url") or Settings.from_env().effective_database_url


def run_migrations() -> None:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                compare_type=True,
                # SQLite cannot ALTER most things in place: batch mode copies the table.
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                if connection.dialect.name == "postgresql":
                    # Several o2o-hq processes may start at once: one migrates, the others
                    # wait here and then find the database at head.
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY}
                    )
                context.run_migrations()
    finally:
        engine.dispose()


run_migrations()
