"""EPCs sold chain-wide, for the stores' exit gates (docs/hq.md, "Sold EPCs").

Every ``sale`` event a store syncs, and every order an online channel posts
(``POST /api/v1/channel/orders``), sets its EPCs sold; a return sets them unsold again. The
newest event per EPC wins, whatever order they arrive in. Each store downloads the EPCs sold
in the last ``sold_epcs_days`` as the compact set of :mod:`edge.alerts.sold_set` (8 bytes an
EPC), versioned by the ``sold_epcs`` downlink counter, which every change bumps.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_sync.hq import crud, models
from cloud_sync.hq.core.db import insert_for
from cloud_sync.hq.models import SoldEpc
from edge.alerts.sold_set import SoldSet

VERSION_NAME = "sold_epcs"


@dataclass(frozen=True, slots=True)
class SoldChange:
    epc: str
    sold: bool
    ts: datetime
    source: str
    ref: str


def apply(session: Session, changes: Sequence[SoldChange]) -> int:
    """Upsert the changes (newest ts per EPC wins); bumps the version when any row changed.
    Returns the rows written."""
    newest: dict[str, SoldChange] = {}
    for change in changes:
        epc = change.epc.upper()
        known = newest.get(epc)
        if known is None or change.ts >= known.ts:
            newest[epc] = SoldChange(epc, change.sold, change.ts, change.source, change.ref)
    if not newest:
        return 0
    table = models.table(SoldEpc)
    stmt = insert_for(session.get_bind().dialect.name, table).values(
        [
            {"epc": c.epc, "sold": c.sold, "ts": c.ts, "source": c.source, "ref": c.ref}
            for c in newest.values()
        ]
    )
    excluded = stmt.excluded
    result = session.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.epc],
            set_={
                "sold": excluded.sold,
                "ts": excluded.ts,
                "source": excluded.source,
                "ref": excluded.ref,
            },
            where=table.c.ts <= excluded.ts,
        ).returning(table.c.epc)
    )
    written = len(result.all())  # rows inserted or updated (older news updates none)
    if written:
        crud.bump_version(session, name=VERSION_NAME)
    return written


def project(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    """The EPC lines of newly stored ``sale`` events (returns included)."""
    changes: list[SoldChange] = []
    for row in rows:
        if row["type"] != "sale":
            continue
        payload = row["body"].get("payload")
        if not isinstance(payload, dict):
            continue
        returned = payload.get("returned") is True
        sale_id = str(payload.get("sale_id") or row["event_id"])[:100]
        lines = payload.get("lines")
        for line in lines if isinstance(lines, list) else []:
            epc = line.get("epc") if isinstance(line, dict) else None
            if isinstance(epc, str) and 0 < len(epc) <= 64:
                changes.append(
                    SoldChange(epc, not returned, row["ts"], str(row["store_id"]), sale_id)
                )
    apply(session, changes)


def sold_set(session: Session, *, days: int, now: datetime) -> SoldSet:
    """The EPCs sold (not returned) since ``now - days``, at the current version."""
    since = now - timedelta(days=days)
    epcs = session.scalars(
        select(SoldEpc.epc).where(SoldEpc.sold.is_(True), SoldEpc.ts >= since)
    ).all()
    return SoldSet.from_epcs(crud.version_of(session, name=VERSION_NAME), epcs)
