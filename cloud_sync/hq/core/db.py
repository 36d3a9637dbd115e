"""Engine and sessions (SQLAlchemy 2.0): PostgreSQL through psycopg 3, or SQLite for the demo.

Migrations run with Alembic at start-up (:func:`upgrade`), never ``create_all``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(url: str, *, pool_size: int = 10, durable_commits: bool = True) -> Engine:
    """``durable_commits=False`` (PostgreSQL) skips the WAL flush wait on commit: only for
    state that may be lost in a crash, such as rate-limit counters."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # Overflow connections are opened only under bursts and closed after: PostgreSQL's
    # max_connections is shared by every worker of every HQ process.
    engine = create_engine(
        url, pool_size=pool_size, max_overflow=pool_size // 2, pool_pre_ping=True
    )
    if not durable_commits:
        event.listen(engine, "connect", _async_commit)
    return engine


def _async_commit(dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    dbapi_connection.commit()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; the demo may run several workers.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def insert_for(dialect_name: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT, which has ON CONFLICT (the two engines HQ runs on)."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def wait_for_database(url: str, *, timeout_s: float = 60.0) -> None:
    """Block until the database accepts a query (the template's backend_pre_start)."""
    engine = make_engine(url, pool_size=1)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"database not reachable at {engine.url!r}: {exc}") from exc
                log.info("waiting for the database: %s", exc)
                time.sleep(1.0)
    finally:
        engine.dispose()


def upgrade(url: str) -> None:
    """``alembic upgrade head`` against ``url``."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = url
    command.upgrade(config, "head")
