"""Per-store request rate limit, shared by every worker through the database.

A fixed window per store, kept in one row (``rate_windows``) and advanced with a single
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` in its own short transaction, so any number
of stateless HQ processes enforce one limit together and no lock is held during ingestion.
"""

from __future__ import annotations

import math

from sqlalchemy import Engine, case

from cloud_sync.hq.core.db import insert_for
from cloud_sync.hq.models import RateWindow, table

TABLE = table(RateWindow)


def retry_after_s(engine: Engine, *, store_id: str, now_s: float, limit: int, window_s: int) -> int:
    """0 when the request may proceed, else the seconds until the store's window reopens."""
    window_start = int(now_s // window_s) * window_s
    insert = insert_for(engine.dialect.name, TABLE)
    stmt = insert.values(store_id=store_id, window_start=window_start, count=1)
    same_window = TABLE.c.window_start == stmt.excluded.window_start
    upsert = stmt.on_conflict_do_update(
        index_elements=[TABLE.c.store_id],
        set_={
            "count": case((same_window, TABLE.c.count + 1), else_=1),
            "window_start": stmt.excluded.window_start,
        },
    ).returning(TABLE.c.count)
    with engine.begin() as conn:
        count = conn.execute(upsert).scalar_one()
    if count <= limit:
        return 0
    return max(1, math.ceil(window_start + window_s - now_s))
