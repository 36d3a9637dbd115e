"""Per-store request rate limit, shared by every worker through the database.

A fixed window per store, kept in one row (``rate_windows``) and advanced with a single
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` in autocommit mode, so any number
of stateless HQ processes enforce one limit together and no lock is held during ingestion.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from sqlalchemy import Engine, bindparam, case, select
from sqlalchemy.sql.dml import ReturningInsert

from cloud_sync.hq.core.db import insert_for
from cloud_sync.hq.models import RateWindow, table

TABLE = table(RateWindow)


@functools.cache
def _upsert(dialect_name: str) -> ReturningInsert[Any]:
    """Built once per dialect: this runs before every store request."""
    stmt = insert_for(dialect_name, TABLE).values(
        store_id=bindparam("store_id"), window_start=bindparam("window_start"), count=1
    )
    same_window = TABLE.c.window_start == stmt.excluded.window_start
    return stmt.on_conflict_do_update(
        index_elements=[TABLE.c.store_id],
        set_={
            "count": case((same_window, TABLE.c.count + 1), else_=1),
            "window_start": stmt.excluded.window_start,
        },
    ).returning(TABLE.c.count)


def bump(engine: Engine, *, key: str, now_s: float, window_s: int) -> int:
    """Count one more in ``key``'s current window; the count so far."""
    window_start = int(now_s // window_s) * window_s
    # Autocommit: the one statement is its own transaction, with no BEGIN and COMMIT round
    # trips around it.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        return int(
            conn.execute(
                _upsert(engine.dialect.name), {"store_id": key, "window_start": window_start}
            ).scalar_one()
        )


def count_in_window(engine: Engine, *, key: str, now_s: float, window_s: int) -> int:
    """How many ``bump``s ``key`` has in the current window (without counting one)."""
    window_start = int(now_s // window_s) * window_s
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        row = conn.execute(
            select(TABLE.c.count).where(
                TABLE.c.store_id == key, TABLE.c.window_start == window_start
            )
        ).first()
    return 0 if row is None else int(row[0])


def retry_after_s(engine: Engine, *, store_id: str, now_s: float, limit: int, window_s: int) -> int:
    """0 when the request may proceed, else the seconds until the store's window reopens."""
    window_start = int(now_s // window_s) * window_s
    count = bump(engine, key=store_id, now_s=now_s, window_s=window_s)
    if count <= limit:
        return 0
    return max(1, math.ceil(window_start + window_s - now_s))
