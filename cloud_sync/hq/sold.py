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
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from cloud_sync.hq import crud, models
from cloud_sync.hq.core.db import insert_for
from cloud_sync.hq.models import GateOutcomeLine, SoldEpc
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


def project_gate_outcomes(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    """Closed exit alarms (``gate.alarm``, reason ``closed``), one row per item: the shrink
    (outcome ``lost``) and false-alarm reports read them."""
    lines: list[dict[str, Any]] = []
    for row in rows:
        if row["type"] != "gate.alarm":
            continue
        payload = row["body"].get("payload")
        if not isinstance(payload, dict) or payload.get("reason") != "closed":
            continue
        outcome, alarm_id = payload.get("outcome"), payload.get("alarm_id")
        if not isinstance(outcome, str) or not isinstance(alarm_id, str):
            continue
        raised = _alarm_time(alarm_id, row["ts"])
        items = payload.get("items")
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("epc"), str):
                continue
            price = item.get("price")
            lines.append(
                {
                    "event_id": row["event_id"],
                    "store_id": row["store_id"],
                    "exit": str(payload.get("exit", ""))[:64],
                    "alarm_id": alarm_id[:64],
                    "outcome": outcome[:20],
                    "ts": raised,
                    "day": raised.strftime("%Y-%m-%d"),
                    "hour": raised.hour,
                    "epc": item["epc"][:64],
                    "gtin": item.get("gtin") if isinstance(item.get("gtin"), str) else None,
                    "price": float(price) if isinstance(price, int | float) else None,
                }
            )
    if lines:
        session.execute(insert(models.table(GateOutcomeLine)), lines)


def _alarm_time(alarm_id: str, closed: datetime) -> datetime:
    """The alarm id is its alert's event id, a UUIDv7: its first 48 bits are the Unix time in
    ms when the items were at the exit. Any other id: the time it was closed."""
    try:
        ms = int(alarm_id.replace("-", "")[:12], 16)
    except ValueError:
        return closed
    raised = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return raised if raised <= closed else closed


def sold_set(session: Session, *, days: int, now: datetime) -> SoldSet:
    """The EPCs sold (not returned) since ``now - days``, at the current version."""
    since = now - timedelta(days=days)
    epcs = session.scalars(
        select(SoldEpc.epc).where(SoldEpc.sold.is_(True), SoldEpc.ts >= since)
    ).all()
    return SoldSet.from_epcs(crud.version_of(session, name=VERSION_NAME), epcs)
