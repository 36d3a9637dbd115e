"""Reports over the projections. Each returns a list of flat rows (JSON or CSV alike).

Days and hours are UTC. Conversion counts try-on outcomes (one per try-on): ``tries`` is
their number, ``purchases`` those with ``outcome == "purchased"``.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from cloud_sync.hq import rollups
from cloud_sync.hq.core.config import Settings
from cloud_sync.hq.crud import as_utc
from cloud_sync.hq.models import GateOutcomeLine, Member, Product, SaleLine, Store
from cloud_sync.hq.rollups import segment

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
    store_ids: frozenset[str] | None = None
    """The stores a user may see (a store manager's), None for all."""

    def apply(self, stmt: S, store_col: Any, day_col: Any) -> S:
        if self.store_id is not None:
            stmt = stmt.where(store_col == self.store_id)
        if self.store_ids is not None:
            stmt = stmt.where(store_col.in_(sorted(self.store_ids)))
        if self.day_from is not None:
            stmt = stmt.where(day_col >= self.day_from.isoformat())
        if self.day_to is not None:
            stmt = stmt.where(day_col <= self.day_to.isoformat())
        return stmt


def _rate(purchases: int, tries: int) -> float:
    return round(purchases / tries, 4) if tries else 0.0


class OverviewBy(StrEnum):
    STORE = "store"
    DAY = "day"
    CHAIN = "chain"


OVERVIEW_FIELDS = rollups.STORE_DAY_MEASURES


def overview(session: Session, *, window: Window, by: OverviewBy) -> list[Row]:
    """The overview page: per store, per day or chain-wide totals for the window. ``visits``
    are recognised members' visits, ``members`` the distinct members recognised per store and
    day (summed over days), ``visitors`` the cameras' anonymous counts; ``conversion`` is
    try-on outcomes ending in a purchase, ``sales``/``returns`` are till transactions and
    ``revenue`` is net of returns."""
    rollups.catch_up(session)  # what was ingested but not yet rolled up
    d = rollups.STORE_DAY.c
    keys: dict[OverviewBy, list[Any]] = {
        OverviewBy.STORE: [d.store_id],
        OverviewBy.DAY: [d.day],
        OverviewBy.CHAIN: [],
    }
    key = keys[by]
    stmt = select(*key, *(func.sum(d[name]) for name in OVERVIEW_FIELDS)).select_from(
        rollups.STORE_DAY
    )
    if key:
        stmt = stmt.group_by(*key).order_by(*key)
    stmt = window.apply(stmt, d.store_id, d.day)
    out = []
    for row in session.execute(stmt):
        values = dict(zip(OVERVIEW_FIELDS, row[len(key) :], strict=True))
        if values["tries"] is None:  # chain-wide total over no rows
            continue
        item: Row = {by.value: row[0]} if key else {}
        item |= {name: int(v or 0) for name, v in values.items() if name != "revenue"}
        item["revenue"] = round(float(values["revenue"] or 0), 2)
        item["conversion"] = _rate(item["purchases"], item["tries"])
        out.append(item)
    return out


@dataclass(frozen=True, slots=True)
class ProductFilter:
    category: str | None = None
    size: str | None = None

    @property
    def any(self) -> bool:
        return self.category is not None or self.size is not None


PRODUCT_FIELDS = ("tryons", "tries", "purchases", "units", "revenue")


def product_totals(
    session: Session,
    *,
    group: ConversionGroup,
    window: Window,
    products: ProductFilter = ProductFilter(),
) -> list[Row]:
    """The products page: try-ons, try-on outcomes (``tries``), purchases among them,
    conversion, units sold and revenue (net of returns) per product, category, store or day;
    only groups with at least one try-on outcome, as the conversion report."""
    rollups.catch_up(session)  # what was ingested but not yet rolled up
    if group in (ConversionGroup.STORE, ConversionGroup.DAY) and not products.any:
        return _store_day_conversion(session, group=group, window=window)
    slices = (
        [rollups.Slice(rollups.DAY, _iso(window.day_from), _iso(window.day_to))]
        if group is ConversionGroup.DAY
        else rollups.period_slices(window.day_from, window.day_to)
    )
    stores = _rollup_stores(session, window, each=group is ConversionGroup.STORE)
    if group is ConversionGroup.PRODUCT:
        rows_in = rollups.sliced(rollups.PRODUCT, slices, stores)
        p = rows_in.c
        key = p.gtin.label("key")
        stmt = (
            select(key, *(func.sum(p[name]) for name in PRODUCT_FIELDS))
            .select_from(rows_in)
            .group_by(key)
            .having(func.sum(p.tries) > 0)
        )
        if products.any:
            stmt = stmt.join(Product, Product.gtin == p.gtin)
            if products.category is not None:
                stmt = stmt.where(Product.category == products.category)
            if products.size is not None:
                stmt = stmt.where(Product.size == products.size)
    else:
        # Category, or store/day under a category or size filter: a few rows per period
        # instead of one per GTIN.
        rows_in = rollups.sliced(rollups.CATEGORY, slices, stores)
        p = rows_in.c
        columns = {
            ConversionGroup.CATEGORY: p.category,
            ConversionGroup.STORE: p.store_id,
            ConversionGroup.DAY: p.period,
        }
        key = columns[group].label("key")
        stmt = (
            select(key, *(func.sum(p[name]) for name in PRODUCT_FIELDS))
            .group_by(key)
            .having(func.sum(p.tries) > 0)
        )
        if products.category is not None:
            stmt = stmt.where(p.category == products.category)
        if products.size is not None:
            stmt = stmt.where(p.size == products.size)
    rows: list[Row] = []
    missing: list[Row] = []
    for k, tryons, tries, purchases, units, revenue in session.execute(stmt.order_by(key)):
        no_gtin = group is ConversionGroup.PRODUCT and k == rollups.CHAIN
        (missing if no_gtin else rows).append(
            {
                group.value: None if no_gtin else k,  # a try-on without a GTIN sorts last
                "tries": int(tries),
                "purchases": int(purchases),
                "conversion": _rate(int(purchases), int(tries)),
                "tryons": int(tryons),
                "units": int(units),
                "revenue": round(float(revenue), 2),
            }
        )
    return rows + missing


def _rollup_stores(session: Session, window: Window, *, each: bool = False) -> list[str]:
    """The store_id values of the rollup rows to read: the window's stores, else every store
    (``each``: a figure per store is wanted) or the chain-wide rows ('')."""
    if window.store_id is not None or window.store_ids is not None:
        chosen = set(window.store_ids) if window.store_ids is not None else None
        if window.store_id is not None:
            chosen = {window.store_id} if chosen is None else chosen & {window.store_id}
        return sorted(chosen or ())
    if each:
        return list(session.scalars(select(Store.id).order_by(Store.id)))
    return [rollups.CHAIN]


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _store_day_conversion(session: Session, *, group: ConversionGroup, window: Window) -> list[Row]:
    d = rollups.STORE_DAY.c
    key = (d.store_id if group is ConversionGroup.STORE else d.day).label("key")
    stmt = (
        select(
            key,
            *(func.sum(d[name]) for name in ("tryons", "tries", "purchases", "units", "revenue")),
        )
        .group_by(key)
        .having(func.sum(d.tries) > 0)
        .order_by(key)
    )
    stmt = window.apply(stmt, d.store_id, d.day)
    return [
        {
            group.value: k,
            "tries": int(tries),
            "purchases": int(purchases),
            "conversion": _rate(int(purchases), int(tries)),
            "tryons": int(tryons),
            "units": int(units),
            "revenue": round(float(revenue), 2),
        }
        for k, tryons, tries, purchases, units, revenue in session.execute(stmt)
    ]


def conversion(session: Session, *, group: ConversionGroup, window: Window) -> list[Row]:
    """Try-on -> purchase conversion (the public report: ``product_totals``' first fields)."""
    return [
        {k: r[k] for k in (group.value, "tries", "purchases", "conversion")}
        for r in product_totals(session, group=group, window=window)
    ]


def tried_not_bought(
    session: Session,
    *,
    window: Window,
    min_tries: int,
    max_conversion: float,
    products: ProductFilter = ProductFilter(),
    limit: int | None = None,
) -> list[Row]:
    """Products tried at least ``min_tries`` times that convert at most ``max_conversion``,
    most tried first (with units sold and revenue for the console's list)."""
    rows = product_totals(session, group=ConversionGroup.PRODUCT, window=window, products=products)
    candidates = [
        r
        for r in rows
        if r["product"] is not None
        and r["tries"] >= min_tries
        and r["conversion"] <= max_conversion
    ]
    candidates.sort(key=lambda r: (-r["tries"], r["conversion"]))
    if limit is not None:
        candidates = candidates[:limit]
    names = {
        gtin: (name, category)
        for gtin, name, category in session.execute(
            select(Product.gtin, Product.name, Product.category).where(
                Product.gtin.in_([r["product"] for r in candidates])
            )
        )
    }
    return [
        {
            "product": r["product"],
            "tries": r["tries"],
            "purchases": r["purchases"],
            "conversion": r["conversion"],
            "name": names.get(r["product"], ("", ""))[0],
            "category": names.get(r["product"], ("", ""))[1],
            "tryons": r["tryons"],
            "units": r["units"],
            "revenue": r["revenue"],
        }
        for r in candidates
    ]


TREND_DAILY_MAX_DAYS = 62
"""Longer windows get one trend point per month: a year is 12 points per product, not 365."""


def product_trend(session: Session, *, window: Window, gtins: Sequence[str]) -> list[Row]:
    """The trend line of each product in ``gtins``: tries, purchases and units per day (per
    month for windows over ``TREND_DAILY_MAX_DAYS`` days or unbounded), ordered by product and
    period; ``period`` is YYYY-MM-DD or YYYY-MM."""
    rollups.catch_up(session)  # what was ingested but not yet rolled up
    daily = (
        window.day_from is not None
        and window.day_to is not None
        and (window.day_to - window.day_from).days < TREND_DAILY_MAX_DAYS
    )
    grain = rollups.DAY if daily else rollups.MONTH
    first, last = _iso(window.day_from), _iso(window.day_to)
    if not daily:
        first, last = first and first[:7], last and last[:7]
    rows_in = rollups.sliced(
        rollups.PRODUCT, [rollups.Slice(grain, first, last)], _rollup_stores(session, window)
    )
    c = rows_in.c
    stmt = (
        select(c.gtin, c.period, func.sum(c.tries), func.sum(c.purchases), func.sum(c.units))
        # gtin || '' keeps the list out of the index condition: with stores and GTINs both
        # as lists, PostgreSQL 15 would rescan the period range once per (store, GTIN) pair.
        .where((c.gtin + "").in_(list(gtins)))
        .group_by(c.gtin, c.period)
        .order_by(c.gtin, c.period)
    )
    return [
        {
            "product": g,
            "period": period,
            "tries": int(tries),
            "purchases": int(purchases),
            "units": int(units),
        }
        for g, period, tries, purchases, units in session.execute(stmt)
    ]


def hourly(session: Session, *, window: Window) -> list[Row]:
    """Member visits (visit.started), anonymous visitors (sum of the cameras' zone.visitors
    counts: a person seen by two cameras counts twice) and try-ons, per store and UTC hour."""
    rollups.catch_up(session)  # what was ingested but not yet rolled up
    h = rollups.STORE_HOUR.c
    stmt = select(h.store_id, h.day, h.hour, h.visits, h.visitors, h.tryons).order_by(
        h.store_id, h.day, h.hour
    )
    stmt = window.apply(stmt, h.store_id, h.day)
    return [
        {
            "store_id": s,
            "day": d,
            "hour": hr,
            "visits": int(v),
            "visitors": int(p),
            "tryons": int(t),
        }
        for s, d, hr, v, p, t in session.execute(stmt)
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


def rfm(session: Session, *, as_of: datetime, window: Window) -> list[Row]:
    """Every member's recency, frequency, monetary, scores and segment, ranked among the
    members who bought in the window. Erased members are not profiled."""
    if window == Window():
        rollups.catch_up(session)  # what was ingested but not yet rolled up
        mr = rollups.MEMBER.c
        stmt: Select[*tuple[Any, ...]] = select(
            mr.member_id, mr.last_ts, mr.frequency, mr.monetary
        ).order_by(mr.member_id)
    else:
        stmt = (
            select(
                SaleLine.member_id,
                func.max(SaleLine.ts),
                func.count(func.distinct(case((SaleLine.amount > 0, SaleLine.sale_id)))),
                func.sum(SaleLine.amount),
            )
            .join(Member, Member.id == SaleLine.member_id)
            .where(Member.erased_at.is_(None))
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
    rollups.catch_up(session)  # what was ingested but not yet rolled up
    rows_in = rollups.sliced(
        rollups.REVENUE,
        rollups.period_slices(window.day_from, window.day_to),
        _rollup_stores(session, Window(), each=True),
    )
    r = rows_in.c
    stmt = select(r.store_id, r.home_store_id, func.sum(r.amount)).group_by(
        r.store_id, r.home_store_id
    )
    totals: dict[str, dict[str, float]] = defaultdict(
        lambda: {"sales": 0.0, "paid": 0.0, "received": 0.0}
    )
    for store, home, amount in session.execute(stmt):
        amount = float(amount or 0)
        totals[store]["sales"] += amount
        if home != rollups.CHAIN and home != store:
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
    return [
        r
        for r in rows
        if (window.store_id is None or r["store_id"] == window.store_id)
        and (window.store_ids is None or r["store_id"] in window.store_ids)
    ]


def segments_grid(session: Session, *, home_stores: frozenset[str] | None = None) -> list[Row]:
    """The segments page: the RFM grid as of the last refresh (rollups.refresh_segments), one
    row per (r, f, m) cell with its segment, members and their net revenue; scores rank
    members chain-wide, ``home_stores`` keeps the members whose home store is one of them (a
    store manager's). Sum over m for the R x F grid, or by segment."""
    c = rollups.SEGMENT_CELLS.c
    stmt = (
        select(
            c.r,
            c.f,
            c.m,
            func.min(c.segment),
            func.sum(c.members),
            func.sum(c.revenue),
            func.min(c.as_of),
        )
        .group_by(c.r, c.f, c.m)
        .order_by(c.r, c.f, c.m)
    )
    if home_stores is not None:
        stmt = stmt.where(c.home_store_id.in_(sorted(home_stores)))
    return [
        {
            "r": r,
            "f": f,
            "m": m,
            "segment": seg,
            "members": int(n),
            "revenue": round(float(rev), 2),
            "as_of": as_utc(at).isoformat(),
        }
        for r, f, m, seg, n, rev, at in session.execute(stmt)
    ]


def segment_members(
    session: Session,
    *,
    segment_name: str,
    home_stores: frozenset[str] | None = None,
    after: str | None = None,
    limit: int = 10_000,
) -> list[str]:
    """A segment's member ids (as of the last refresh), for a campaign; page with ``after``;
    ``home_stores`` as in :func:`segments_grid`."""
    c = rollups.SEGMENT_SCORES.c
    stmt = select(c.member_id).where(c.segment == segment_name).order_by(c.member_id).limit(limit)
    if home_stores is not None:
        stmt = stmt.where(c.home_store_id.in_(sorted(home_stores)))
    if after is not None:
        stmt = stmt.where(c.member_id > after)
    return list(session.scalars(stmt))
