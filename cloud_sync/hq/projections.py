"""Projections of newly stored events, written in the ingesting transaction.

Only the few business events are projected (tag events, the bulk of the traffic, are not),
so this costs little on the hot path and is exactly-once like the events themselves.
Payloads are read defensively: a missing field is skipped, never an error. Fields relied on:

- ``visit.started``: ``member_id`` (optional)            -> activity(kind=visit)
- ``zone.visitors``: ``visitors`` (people a camera counted in a minute) -> activity(kind=visitors)
- ``tryon.started``: ``gtin``, ``member_id`` (optional)  -> activity(kind=tryon)
- ``tryon.outcome``: ``gtin``, ``outcome``, ``member_id`` -> activity(kind=tryon_outcome)
- ``sale``: ``sale_id``, ``lines[{gtin, quantity, amount}]``, ``total``, ``currency``,
  ``member_id`` (optional), ``returned`` (optional bool; a return names the original
  ``sale_id``) -> sale_lines (negative for returns), points ledger, notifications.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from cloud_sync.hq import crud
from cloud_sync.hq.core.config import Settings
from cloud_sync.hq.models import Activity, PointsEntry, SaleLine

ACTIVITY_KINDS = {
    "zone.visitors": "visitors",
    "visit.started": "visit",
    "tryon.started": "tryon",
    "tryon.outcome": "tryon_outcome",
}


def _str(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return str(value) if value is not None and value != "" else None


def _num(value: Any, default: float = 0.0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def project(
    session: Session, rows: Sequence[dict[str, Any]], *, settings: Settings, now: datetime
) -> None:
    activity: list[dict[str, Any]] = []
    sales: list[dict[str, Any]] = []
    for row in rows:
        kind = ACTIVITY_KINDS.get(row["type"])
        payload = row["body"].get("payload")
        if not isinstance(payload, dict):
            continue
        ts: datetime = row["ts"]
        if kind is not None:
            activity.append(
                {
                    "event_id": row["event_id"],
                    "store_id": row["store_id"],
                    "kind": kind,
                    "ts": ts,
                    "day": ts.strftime("%Y-%m-%d"),
                    "hour": ts.hour,
                    "member_id": _str(payload, "member_id"),
                    "gtin": _str(payload, "gtin"),
                    "outcome": _str(payload, "outcome"),
                    "quantity": int(_num(payload.get("visitors"), 1)) if kind == "visitors" else 1,
                }
            )
        elif row["type"] == "sale":
            sales.append(row)
    if activity:
        session.execute(insert(Activity), activity)
    for row in sales:
        _project_sale(session, row, settings=settings, now=now)


def _project_sale(
    session: Session, row: dict[str, Any], *, settings: Settings, now: datetime
) -> None:
    payload: dict[str, Any] = row["body"]["payload"]
    sale_id = _str(payload, "sale_id") or row["event_id"]
    returned = bool(payload.get("returned"))
    sign = -1 if returned else 1
    ts: datetime = row["ts"]
    member = None
    if (raw_member := _str(payload, "member_id")) is not None:
        member = crud.resolve_member(session, member_id=raw_member)
    currency = (_str(payload, "currency") or "")[:3]
    lines = payload.get("lines")
    line_rows = [
        {
            "event_id": row["event_id"],
            "store_id": row["store_id"],
            "sale_id": sale_id,
            "ts": ts,
            "day": ts.strftime("%Y-%m-%d"),
            "member_id": member.id if member else None,
            "gtin": _str(line, "gtin"),
            "quantity": sign * int(_num(line.get("quantity"), 1)),
            "amount": sign * abs(_num(line.get("amount"))),
            "currency": currency,
        }
        for line in (lines if isinstance(lines, list) else [])
        if isinstance(line, dict)
    ]
    if line_rows:
        session.execute(insert(SaleLine), line_rows)
    if member is None:
        return
    total = abs(_num(payload.get("total"), sum(abs(r["amount"]) for r in line_rows)))
    if returned:
        delta = -_return_points(session, member.id, sale_id, total)
        ref, cause = f"{sale_id}:{row['event_id']}", "sale_return"
    else:
        multiplier = settings.tier_points_multiplier.get(member.tier, 1.0)
        delta = math.floor(total * settings.points_per_currency_unit * multiplier)
        ref, cause = sale_id, "sale"
    if delta and crud.add_points_entry(
        session,
        member_id=member.id,
        delta=delta,
        cause=cause,
        ref=ref,
        note=f"store {row['store_id']}",
        now=now,
    ):
        crud.queue_notification(
            session,
            member_id=member.id,
            kind="points",
            data={"delta": delta, "cause": cause, "sale_id": sale_id},
            settings=settings,
            now=now,
        )
    if not returned:
        crud.queue_notification(
            session,
            member_id=member.id,
            kind="purchase",
            data={
                "sale_id": sale_id,
                "store_id": row["store_id"],
                "total": total,
                "currency": currency,
                "points": delta,
            },
            settings=settings,
            now=now,
        )


def _return_points(session: Session, member_id: str, sale_id: str, returned_total: float) -> int:
    """Points to take back: the sale's credit, in proportion to the returned amount."""
    credited = (
        session.scalar(
            select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(
                PointsEntry.member_id == member_id,
                PointsEntry.cause == "sale",
                PointsEntry.ref == sale_id,
            )
        )
        or 0
    )
    if not credited:
        return 0
    sold = (
        session.scalar(
            select(func.coalesce(func.sum(SaleLine.amount), 0)).where(
                SaleLine.sale_id == sale_id, SaleLine.amount > 0
            )
        )
        or 0
    )
    share = 1.0 if sold <= 0 else min(1.0, returned_total / sold)
    return min(int(credited), round(int(credited) * share))
