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

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import String, Table, TextClause, func, insert, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from cloud_sync.hq import crud
from cloud_sync.hq.core.config import Settings
from cloud_sync.hq.models import Activity, Member, PointsEntry, SaleLine, table
from edge.events import limits

ACTIVITY_KINDS = {
    "zone.visitors": "visitors",
    "visit.started": "visit",
    "tryon.started": "tryon",
    "tryon.outcome": "tryon_outcome",
}


_WIDTHS = {
    "member_id": limits.MEMBER_ID_MAX,
    "gtin": limits.GTIN_MAX,
    "outcome": limits.OUTCOME_MAX,
    "sale_id": limits.SALE_ID_MAX,
}


def _too_long(payload: dict[str, Any], *keys: str, where: str = "payload") -> str | None:
    for key in keys:
        value = payload.get(key)
        if value is not None and len(str(value)) > _WIDTHS[key]:
            return f"{where}.{key}: longer than {_WIDTHS[key]} characters"
    return None


def problem(event_type: str, payload: Any) -> str | None:
    """Why an event cannot be projected (a field beyond the limits in edge/events/limits.py),
    or None. Checked before anything is stored: HQ answers ``invalid``, never a 500."""
    if not isinstance(payload, dict):
        return None
    if event_type in ACTIVITY_KINDS:
        found = _too_long(payload, "member_id", "gtin", "outcome")
        if found:
            return found
        visitors = payload.get("visitors")
        wrong = visitors is not None and not limits.finite_amount(visitors, limits.MAX_VISITORS)
        if event_type == "zone.visitors" and wrong:
            return f"payload.visitors: must be between 0 and {limits.MAX_VISITORS}"
        return None
    if event_type != "sale":
        return None
    found = _too_long(payload, "member_id", "sale_id")
    if found:
        return found
    total = payload.get("total")
    if total is not None and not limits.finite_amount(total, limits.MAX_SALE_TOTAL):
        return f"payload.total: must be a number up to {limits.MAX_SALE_TOTAL:.0f}"
    lines = payload.get("lines")
    for n, line in enumerate(lines if isinstance(lines, list) else []):
        if not isinstance(line, dict):
            continue
        where = f"payload.lines[{n}]"
        found = _too_long(line, "gtin", where=where)
        if found:
            return found
        quantity = line.get("quantity", 1)
        if not limits.finite_amount(quantity, limits.MAX_QUANTITY):
            return f"{where}.quantity: must be between 1 and {limits.MAX_QUANTITY}"
        amount = line.get("amount", 0)
        if not limits.finite_amount(amount, limits.MAX_LINE_AMOUNT):
            return f"{where}.amount: must be a number up to {limits.MAX_LINE_AMOUNT:.0f}"
    return None


def _str(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return str(value) if value is not None and value != "" else None


def _num(value: Any, default: float = 0.0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


ACTIVITY = table(Activity)
SALE_LINES = table(SaleLine)


@functools.cache
def _pg_bulk_insert(target: Table) -> TextClause:
    """``INSERT ... SELECT FROM jsonb_to_recordset(:rows)``: the whole batch is one parameter
    and one statement, where an executemany costs a statement per row."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it untyped
    columns = [c for c in target.columns if not (c.primary_key and c.autoincrement is True)]
    names = ", ".join(c.name for c in columns)
    # Strings as text: the INSERT's assignment cast then checks lengths as a plain INSERT does.
    types = ", ".join(
        f"{c.name} {'text' if isinstance(c.type, String) else c.type.compile(dialect=dialect)}"
        for c in columns
    )
    return text(
        f"INSERT INTO {target.name} ({names}) SELECT {names} "
        f"FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({types})"
    )


def _insert_rows(session: Session, target: Table, rows: list[dict[str, Any]]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_pg_bulk_insert(target), {"rows": orjson.dumps(rows).decode()})
    else:
        session.execute(insert(target), rows)


@dataclass(frozen=True, slots=True)
class Projected:
    """The rows a batch added to the projections (the rollups add exactly these)."""

    activity: list[dict[str, Any]]
    sale_lines: list[dict[str, Any]]


def project(
    session: Session, rows: Sequence[dict[str, Any]], *, settings: Settings, now: datetime
) -> Projected:
    """One INSERT per projection table per batch; the per-member work (points, notifications)
    only for sales naming a member, after every sale line of the batch is in."""
    activity: list[dict[str, Any]] = []
    sales: list[_Sale] = []
    for row in rows:
        kind = ACTIVITY_KINDS.get(row["type"])
        if kind is None and row["type"] != "sale":
            continue
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
        else:
            sales.append(_Sale(row, payload))
    if activity:
        _insert_rows(session, ACTIVITY, activity)
    if not sales:
        return Projected(activity, [])
    named = {s.raw_member for s in sales if s.raw_member is not None}
    if named:
        # Loads them into the identity map: resolve_member's lookups then cost no query.
        session.scalars(select(Member).where(Member.id.in_(named))).all()
    members = {raw: crud.resolve_member(session, member_id=raw) for raw in named}
    credits: list[tuple[_Sale, Member, float]] = []
    line_rows: list[dict[str, Any]] = []
    for sale in sales:
        member = members.get(sale.raw_member) if sale.raw_member is not None else None
        lines = _sale_lines(sale, member.id if member else None)
        line_rows.extend(lines)
        if member is not None:
            credits.append((sale, member, sum(abs(r["amount"]) for r in lines)))
    if line_rows:
        _insert_rows(session, SALE_LINES, line_rows)
    for sale, member, lines_total in credits:
        _credit_member(session, sale, member, lines_total, settings=settings, now=now)
    return Projected(activity, line_rows)


@dataclass(frozen=True, slots=True)
class _Sale:
    """A sale (or return) event being projected."""

    row: dict[str, Any]
    payload: dict[str, Any]

    @property
    def sale_id(self) -> str:
        return _str(self.payload, "sale_id") or str(self.row["event_id"])

    @property
    def returned(self) -> bool:
        return bool(self.payload.get("returned"))

    @property
    def raw_member(self) -> str | None:
        return _str(self.payload, "member_id")

    @property
    def currency(self) -> str:
        return (_str(self.payload, "currency") or "")[:3]


def _sale_lines(sale: _Sale, member_id: str | None) -> list[dict[str, Any]]:
    row = sale.row
    sign = -1 if sale.returned else 1
    ts: datetime = row["ts"]
    day = ts.strftime("%Y-%m-%d")
    sale_id, currency = sale.sale_id, sale.currency
    lines = sale.payload.get("lines")
    return [
        {
            "event_id": row["event_id"],
            "store_id": row["store_id"],
            "sale_id": sale_id,
            "ts": ts,
            "day": day,
            "member_id": member_id,
            "gtin": _str(line, "gtin"),
            "quantity": sign * int(_num(line.get("quantity"), 1)),
            "amount": sign * abs(_num(line.get("amount"))),
            "currency": currency,
        }
        for line in (lines if isinstance(lines, list) else [])
        if isinstance(line, dict)
    ]


def _credit_member(
    session: Session,
    sale: _Sale,
    member: Member,
    lines_total: float,
    *,
    settings: Settings,
    now: datetime,
) -> None:
    row, sale_id, currency = sale.row, sale.sale_id, sale.currency
    total = abs(_num(sale.payload.get("total"), lines_total))
    if sale.returned:
        delta = -_return_points(session, member.id, sale_id, total)
        ref, cause = f"{sale_id}:{row['event_id']}", "sale_return"
    else:
        multiplier = settings.tier_points_multiplier.get(member.tier, 1.0)
        # Bounded: a points column holds 32 bits, whatever the settings multiply by.
        delta = min(
            limits.INT32_MAX, math.floor(total * settings.points_per_currency_unit * multiplier)
        )
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
    if not sale.returned:
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
