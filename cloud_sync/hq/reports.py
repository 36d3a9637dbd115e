"""Reports over the projections. Each returns a list of flat rows (JSON or CSV alike).

Days and hours are UTC. Conversion counts try-on outcomes (one per try-on): ``tries`` is
their number, ``purchases`` those with ``outcome == "purchased"``.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from cloud_sync.hq.core.config import Settings
from cloud_sync.hq.crud import as_utc
from cloud_sync.hq.models import Activity, GateOutcomeLine, Member, Product, SaleLine

Row = dict[str, Any]


class ConversionGroup(StrEnum):
    PRODUCT = "product"
    CATEGORY = "category"
    STORE = "store"
    DAY = "day"


S = TypeVar("S", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True, slots=True)
class Window:
    store_id: str | None = None
    day_from: date | None = None
    day_to: date | None = None

    def apply(self, stmt: S, store_col: Any, day_col: Any) -> S:
        if self.store_id is not None:
            stmt = stmt.where(store_col == self.store_id)
        if self.day_from is not None:
            stmt = stmt.where(day_col >= self.day_from.isoformat())
        if self.day_to is not None:
            stmt = stmt.where(day_col <= self.day_to.isoformat())
        return stmt


def _rate(purchases: int, tries: int) -> float:
    return round(purchases / tries, 4) if tries else 0.0


def conversion(session: Session, *, group: ConversionGroup, window: Window) -> list[Row]:
    columns: dict[ConversionGroup, Any] = {
        ConversionGroup.PRODUCT: Activity.gtin,
        ConversionGroup.CATEGORY: func.coalesce(Product.category, "unknown"),
        ConversionGroup.STORE: Activity.store_id,
        ConversionGroup.DAY: Activity.day,
    }
    key = columns[group].label("key")
    purchased = func.sum(case((Activity.outcome == "purchased", 1), else_=0))
    stmt = (
        select(key, func.count().label("tries"), purchased.label("purchases"))
        .select_from(Activity)
        .outerjoin(Product, Product.gtin == Activity.gtin)
        .where(Activity.kind == "tryon_outcome")
        .group_by(key)
        .order_by(key)
    )
    stmt = window.apply(stmt, Activity.store_id, Activity.day)
    return [
        {
            group.value: k,
            "tries": int(t),
            "purchases": int(p or 0),
            "conversion": _rate(int(p or 0), int(t)),
        }
        for k, t, p in session.execute(stmt)
    ]


def tried_not_bought(
    session: Session, *, window: Window, min_tries: int, max_conversion: float
) -> list[Row]:
    """Products tried at least ``min_tries`` times that convert at most ``max_conversion``."""
    rows = conversion(session, group=ConversionGroup.PRODUCT, window=window)
    names = {p.gtin: (p.name, p.category) for p in session.scalars(select(Product))}
    flagged = [
        {
            **r,
            "name": names.get(r["product"], ("", ""))[0],
            "category": names.get(r["product"], ("", ""))[1],
        }
        for r in rows
        if r["product"] is not None
        and r["tries"] >= min_tries
        and r["conversion"] <= max_conversion
    ]
    return sorted(flagged, key=lambda r: (-r["tries"], r["conversion"]))


def hourly(session: Session, *, window: Window) -> list[Row]:
    """Member visits (visit.started), anonymous visitors (sum of the cameras' zone.visitors
    counts: a person seen by two cameras counts twice) and try-ons, per store and UTC hour."""

    def total(kind: str) -> Any:
        return func.sum(case((Activity.kind == kind, Activity.quantity), else_=0))

    stmt = (
        select(
            Activity.store_id,
            Activity.day,
            Activity.hour,
            total("visit"),
            total("visitors"),
            total("tryon"),
        )
        .group_by(Activity.store_id, Activity.day, Activity.hour)
        .order_by(Activity.store_id, Activity.day, Activity.hour)
    )
    stmt = window.apply(stmt, Activity.store_id, Activity.day)
    return [
        {
            "store_id": s,
            "day": d,
            "hour": h,
            "visits": int(v or 0),
            "visitors": int(p or 0),
            "tryons": int(t or 0),
        }
        for s, d, h, v, p, t in session.execute(stmt)
    ]


def shrink(session: Session, *, window: Window) -> list[Row]:
    """Items that left through an exit gate, by store, UTC day and hour (of the alarm) and
    product, from closed exit alarms: ``lost`` (staff closed the alarm as lost: shrink) with
    its value at catalog price, and ``recovered``."""

    def count(outcome: str) -> Any:
        return func.sum(case((GateOutcomeLine.outcome == outcome, 1), else_=0))

    lost_value = func.sum(
        case((GateOutcomeLine.outcome == "lost", func.coalesce(GateOutcomeLine.price, 0)), else_=0)
    )
    stmt = (
        select(
            GateOutcomeLine.store_id,
            GateOutcomeLine.day,
            GateOutcomeLine.hour,
            GateOutcomeLine.gtin,
            count("lost"),
            lost_value,
            count("recovered"),
        )
        .where(GateOutcomeLine.outcome.in_(("lost", "recovered")))
        .group_by(
            GateOutcomeLine.store_id,
            GateOutcomeLine.day,
            GateOutcomeLine.hour,
            GateOutcomeLine.gtin,
        )
        .order_by(
            GateOutcomeLine.store_id,
            GateOutcomeLine.day,
            GateOutcomeLine.hour,
            GateOutcomeLine.gtin,
        )
    )
    stmt = window.apply(stmt, GateOutcomeLine.store_id, GateOutcomeLine.day)
    return [
        {
            "store_id": s,
            "day": d,
            "hour": h,
            "gtin": g,
            "lost": int(lost or 0),
            "lost_value": round(float(value or 0), 2),
            "recovered": int(rec or 0),
        }
        for s, d, h, g, lost, value, rec in session.execute(stmt)
    ]


def gate_false_alarms(session: Session, *, window: Window) -> list[Row]:
    """Per store and exit: closed alarms, those staff closed as false alarms, and the rate."""
    alarms = func.count(func.distinct(GateOutcomeLine.alarm_id))
    false = func.count(
        func.distinct(
            case((GateOutcomeLine.outcome == "false_alarm", GateOutcomeLine.alarm_id), else_=None)
        )
    )
    stmt = (
        select(GateOutcomeLine.store_id, GateOutcomeLine.exit, alarms, false)
        .group_by(GateOutcomeLine.store_id, GateOutcomeLine.exit)
        .order_by(GateOutcomeLine.store_id, GateOutcomeLine.exit)
    )
    stmt = window.apply(stmt, GateOutcomeLine.store_id, GateOutcomeLine.day)
    return [
        {
            "store_id": s,
            "exit": e,
            "alarms": int(n),
            "false_alarms": int(f),
            "false_alarm_rate": round(int(f) / int(n), 4) if n else 0.0,
        }
        for s, e, n, f in session.execute(stmt)
    ]


def _quintile_scores(values: list[float], *, higher_is_better: bool) -> list[int]:
    """Score 1..5 by rank among all members (equal values share a score)."""
    ordered = sorted(values)
    n = len(values)
    scores = []
    for v in values:
        below = bisect_left(ordered, v) if higher_is_better else n - bisect_right(ordered, v)
        scores.append(1 + min(4, math.floor(5 * below / n)))
    return scores


def segment(r: int, f: int, m: int) -> str:
    """Common RFM segments from 1..5 scores."""
    if r >= 4 and f >= 4:
        return "champions"
    if f >= 4:
        return "loyal"
    if r >= 4 and f <= 2:
        return "new"
    if r <= 2 and f >= 3:
        return "at_risk"
    if r <= 2:
        return "hibernating"
    return "needs_attention" if m <= 2 else "promising"


def rfm(session: Session, *, as_of: datetime, window: Window) -> list[Row]:
    stmt = (
        select(
            SaleLine.member_id,
            func.max(SaleLine.ts),
            func.count(func.distinct(case((SaleLine.amount > 0, SaleLine.sale_id)))),
            func.sum(SaleLine.amount),
        )
        .where(SaleLine.member_id.is_not(None))
        .group_by(SaleLine.member_id)
        .order_by(SaleLine.member_id)
    )
    stmt = window.apply(stmt, SaleLine.store_id, SaleLine.day)
    raw = [
        (m, max(0.0, (as_of - as_utc(last)).total_seconds() / 86400), int(f), float(total or 0))
        for m, last, f, total in session.execute(stmt)
    ]
    r_scores = _quintile_scores([r[1] for r in raw], higher_is_better=False)
    f_scores = _quintile_scores([float(r[2]) for r in raw], higher_is_better=True)
    m_scores = _quintile_scores([r[3] for r in raw], higher_is_better=True)
    return [
        {
            "member_id": m,
            "recency_days": round(rec, 2),
            "frequency": f,
            "monetary": round(mon, 2),
            "r": rs,
            "f": fs,
            "m": ms,
            "segment": segment(rs, fs, ms),
        }
        for (m, rec, f, mon), rs, fs, ms in zip(raw, r_scores, f_scores, m_scores, strict=True)
    ]


def revenue_share(session: Session, *, settings: Settings, window: Window) -> list[Row]:
    """Per store: its own sales, the share it pays to members' home stores elsewhere, the
    share it receives as home store, and the attributed total (sales - paid + received)."""
    stmt = (
        select(SaleLine.store_id, Member.home_store_id, func.sum(SaleLine.amount))
        .select_from(SaleLine)
        .outerjoin(Member, Member.id == SaleLine.member_id)
        .group_by(SaleLine.store_id, Member.home_store_id)
    )
    stmt = Window(day_from=window.day_from, day_to=window.day_to).apply(
        stmt, SaleLine.store_id, SaleLine.day
    )
    totals: dict[str, dict[str, float]] = defaultdict(
        lambda: {"sales": 0.0, "paid": 0.0, "received": 0.0}
    )
    for store, home, amount in session.execute(stmt):
        amount = float(amount or 0)
        totals[store]["sales"] += amount
        if home is not None and home != store:
            pct = settings.revenue_share_pct_by_store.get(home, settings.revenue_share_pct)
            share = amount * pct / 100
            totals[store]["paid"] += share
            totals[home]["received"] += share
    rows = [
        {
            "store_id": s,
            "sales": round(t["sales"], 2),
            "share_paid": round(t["paid"], 2),
            "share_received": round(t["received"], 2),
            "attributed": round(t["sales"] - t["paid"] + t["received"], 2),
        }
        for s, t in sorted(totals.items())
    ]
    return [r for r in rows if window.store_id is None or r["store_id"] == window.store_id]
