"""What the console's pages show: one function per page query, each scoped to what the
viewer may see (``stores``: None means every store).

Days are UTC, as in the reports. Every query here is timed by ``o2o-hq bench reports``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, distinct, func, select
from sqlalchemy.orm import Session

from cloud_sync.hq import crud, empty, reports, reservations
from cloud_sync.hq.core.config import Settings
from cloud_sync.hq.member_page import store_confirmations
from cloud_sync.hq.models import (
    Activity,
    AuditEntry,
    Consent,
    DeliveryAttempt,
    DownlinkVersion,
    Erasure,
    Member,
    MemberIdentity,
    MemberTag,
    Notification,
    PointsEntry,
    Product,
    RateWindow,
    RecommenderModel,
    SaleLine,
    Store,
    StoredEvent,
    StorePickup,
)

Row = dict[str, Any]
MAX_DAYS = 400
SEARCH_CHANNELS = ("phone", "email", "external_id", "wechat_openid", "loyalty_card")


class FilterError(ValueError):
    """A filter the console cannot answer truthfully (impossible date, unknown store)."""


@dataclass(frozen=True, slots=True)
class Period:
    day_from: date
    day_to: date

    @property
    def days(self) -> list[str]:
        n = (self.day_to - self.day_from).days + 1
        return [(self.day_from + timedelta(days=i)).isoformat() for i in range(n)]

    def window(self, store_id: str | None = None) -> reports.Window:
        return reports.Window(store_id=store_id, day_from=self.day_from, day_to=self.day_to)


def parse_period(raw_from: str | None, raw_to: str | None, *, default_to: date) -> Period:
    def parse(raw: str | None, name: str, default: date) -> date:
        if raw is None or raw.strip() == "":
            return default
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            raise FilterError(f"{name} {raw[:40]!r} is not a date (YYYY-MM-DD)") from None

    day_to = parse(raw_to, "To", default_to)
    day_from = parse(raw_from, "From", day_to - timedelta(days=6))
    if day_from > day_to:
        raise FilterError(f"From {day_from} is after To {day_to}")
    if (day_to - day_from).days >= MAX_DAYS:
        raise FilterError(f"A period is at most {MAX_DAYS} days")
    return period_or_future(Period(day_from, day_to))


def period_or_future(period: Period) -> Period:
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    if period.day_from > tomorrow:
        raise FilterError(f"From {period.day_from} is in the future: there is no data yet")
    return period


def scope_stores(
    session: Session, viewer_stores: frozenset[str] | None, chosen: str | None
) -> frozenset[str] | None:
    """The stores a page covers: the chosen one (checked), else all the viewer may see."""
    if chosen:
        if viewer_stores is not None and chosen not in viewer_stores:
            raise FilterError(f"Store {chosen[:64]!r} is not one of yours")
        if session.get(Store, chosen) is None:
            raise FilterError(f"There is no store {chosen[:64]!r}")
        return frozenset({chosen})
    return viewer_stores


def _in_stores(stmt: Any, column: Any, stores: frozenset[str] | None) -> Any:
    return stmt if stores is None else stmt.where(column.in_(sorted(stores)))


def _in_period(stmt: Any, column: Any, period: Period) -> Any:
    return stmt.where(column >= period.day_from.isoformat(), column <= period.day_to.isoformat())


def visible_stores(session: Session, stores: frozenset[str] | None) -> list[Store]:
    return list(session.scalars(_in_stores(select(Store), Store.id, stores).order_by(Store.id)))


def latest_day(session: Session, stores: frozenset[str] | None) -> date | None:
    """The newest UTC day with activity or sales: where the default period ends."""
    return empty.latest_day(session, stores)


# --- overview -------------------------------------------------------------------------------

KPIS = ("visitors", "members", "tryons", "tries", "purchases", "sales", "revenue")


def _activity_by(session: Session, key: Any, period: Period, stores: frozenset[str] | None) -> Any:
    def total(kind: str) -> Any:
        return func.sum(case((Activity.kind == kind, Activity.quantity), else_=0))

    stmt: Select[Any] = select(
        key,
        total("visitors"),
        func.count(distinct(case((Activity.kind == "visit", Activity.member_id)))),
        total("tryon"),
        func.sum(case((Activity.kind == "tryon_outcome", 1), else_=0)),
        func.sum(
            case(
                ((Activity.kind == "tryon_outcome") & (Activity.outcome == "purchased"), 1), else_=0
            )
        ),
    ).group_by(key)
    return session.execute(
        _in_stores(_in_period(stmt, Activity.day, period), Activity.store_id, stores)
    )


def _sales_by(session: Session, key: Any, period: Period, stores: frozenset[str] | None) -> Any:
    stmt: Select[Any] = select(
        key,
        func.count(distinct(case((SaleLine.amount > 0, SaleLine.sale_id)))),
        func.sum(SaleLine.amount),
    ).group_by(key)
    return session.execute(
        _in_stores(_in_period(stmt, SaleLine.day, period), SaleLine.store_id, stores)
    )


def _kpi_rows(
    session: Session, key_a: Any, key_s: Any, period: Period, stores: frozenset[str] | None
) -> dict[str, Row]:
    rows: dict[str, Row] = defaultdict(lambda: dict.fromkeys(KPIS, 0) | {"conversion": None})
    for k, visitors, members, tryons, tries, purchases in _activity_by(
        session, key_a, period, stores
    ):
        row = rows[k]
        row.update(
            visitors=int(visitors or 0),
            members=int(members or 0),
            tryons=int(tryons or 0),
            tries=int(tries or 0),
            purchases=int(purchases or 0),
        )
    for k, sales, revenue in _sales_by(session, key_s, period, stores):
        rows[k].update(sales=int(sales or 0), revenue=round(float(revenue or 0), 2))
    for row in rows.values():
        row["conversion"] = round(row["purchases"] / row["tries"], 4) if row["tries"] else None
    return rows


def overview(session: Session, *, period: Period, stores: frozenset[str] | None) -> Row:
    """Totals, per store and per day for the period (members: distinct recognised members,
    per store and day; the total counts each member once)."""
    per_store = _kpi_rows(session, Activity.store_id, SaleLine.store_id, period, stores)
    per_day = _kpi_rows(session, Activity.day, SaleLine.day, period, stores)
    totals: Row = dict.fromkeys(KPIS, 0)
    for row in per_store.values():
        for k in KPIS:
            totals[k] += row[k]
    totals["revenue"] = round(totals["revenue"], 2)
    distinct_members = select(func.count(distinct(Activity.member_id))).where(
        Activity.kind == "visit"
    )
    totals["members"] = int(
        session.scalar(
            _in_stores(
                _in_period(distinct_members, Activity.day, period), Activity.store_id, stores
            )
        )
        or 0
    )
    totals["conversion"] = (
        round(totals["purchases"] / totals["tries"], 4) if totals["tries"] else None
    )
    names = {s.id: s.name for s in visible_stores(session, stores)}
    return {
        "totals": totals,
        "stores": [
            {"store_id": s, "name": names.get(s, s), **per_store[s]}
            for s in sorted(set(per_store) | set(names))
        ],
        "days": [{"day": d, **per_day[d]} for d in period.days],
    }


def store_health(session: Session, *, stores: frozenset[str] | None, now: datetime) -> list[Row]:
    """Per store: its last signed request (upload or downlink poll: the rate window every
    such request advances, to the window's start), its newest event, and what its last health
    report said (outbox backlog, dead letters, devices offline, open alarms)."""
    out = []
    windows = dict(
        session.execute(
            select(RateWindow.store_id, RateWindow.window_start).where(
                RateWindow.store_id.in_([s.id for s in visible_stores(session, stores)])
            )
        ).all()
    )
    for store in visible_stores(session, stores):
        last = session.scalar(
            select(func.max(StoredEvent.ts)).where(StoredEvent.store_id == store.id)
        )
        contact = datetime.fromtimestamp(windows[store.id], tz=UTC) if store.id in windows else None
        health = session.scalars(
            select(StoredEvent)
            .where(StoredEvent.store_id == store.id, StoredEvent.type == "store.health")
            .order_by(StoredEvent.ts.desc())
            .limit(1)
        ).first()
        report = health.body.get("payload", {}) if health is not None else {}
        out.append(
            {
                "store_id": store.id,
                "name": store.name,
                "active": store.active,
                "last_event_at": crud.as_utc(last) if last else None,
                "last_contact_at": contact,
                "minutes_since": None
                if contact is None
                else max(0, int((now - contact).total_seconds() // 60)),
                "reported_at": crud.as_utc(health.ts) if health else None,
                "backlog": report.get("backlog"),
                "dead_letters": report.get("dead_letters"),
                "readers_offline": report.get("readers_offline"),
                "cameras_offline": report.get("cameras_offline"),
                "open_alarms": report.get("open_alarms"),
            }
        )
    return out


# --- products ---------------------------------------------------------------------------------


def categories_and_sizes(session: Session) -> tuple[list[str], list[str]]:
    cats = sorted(c for c in session.scalars(select(distinct(Product.category))) if c)
    sizes = sorted(s for s in session.scalars(select(distinct(Product.size))) if s)
    return cats, sizes


def _product_filter(stmt: Any, gtin_col: Any, category: str | None, size: str | None) -> Any:
    if category:
        stmt = stmt.where(gtin_col.in_(select(Product.gtin).where(Product.category == category)))
    if size:
        stmt = stmt.where(gtin_col.in_(select(Product.gtin).where(Product.size == size)))
    return stmt


def products(
    session: Session,
    *,
    period: Period,
    stores: frozenset[str] | None,
    category: str | None = None,
    size: str | None = None,
) -> list[Row]:
    """Per product: try-ons with an outcome, purchases among them, conversion, units sold
    and revenue (till and online sales in these stores)."""
    purchased = func.sum(case((Activity.outcome == "purchased", 1), else_=0))
    tries = (
        select(Activity.gtin, func.count(), purchased)
        .where(Activity.kind == "tryon_outcome", Activity.gtin.is_not(None))
        .group_by(Activity.gtin)
    )
    tries = _product_filter(
        _in_stores(_in_period(tries, Activity.day, period), Activity.store_id, stores),
        Activity.gtin,
        category,
        size,
    )
    sold = (
        select(SaleLine.gtin, func.sum(SaleLine.quantity), func.sum(SaleLine.amount))
        .where(SaleLine.gtin.is_not(None))
        .group_by(SaleLine.gtin)
    )
    sold = _product_filter(
        _in_stores(_in_period(sold, SaleLine.day, period), SaleLine.store_id, stores),
        SaleLine.gtin,
        category,
        size,
    )
    rows: dict[str, Row] = defaultdict(
        lambda: {"tries": 0, "purchases": 0, "units_sold": 0, "revenue": 0.0}
    )
    for gtin, n, p in session.execute(tries):
        rows[gtin].update(tries=int(n), purchases=int(p or 0))
    for gtin, units, revenue in session.execute(sold):
        rows[gtin].update(units_sold=int(units or 0), revenue=round(float(revenue or 0), 2))
    catalog = {
        p.gtin: p for p in session.scalars(select(Product).where(Product.gtin.in_(list(rows))))
    }
    out = []
    for gtin, row in rows.items():
        product = catalog.get(gtin)
        out.append(
            {
                "gtin": gtin,
                "name": product.name if product else "",
                "category": product.category if product else "",
                "size": product.size if product else "",
                "colour": product.colour if product else "",
                **row,
                "conversion": round(row["purchases"] / row["tries"], 4) if row["tries"] else None,
            }
        )
    return sorted(out, key=lambda r: (-r["tries"], -r["revenue"], r["gtin"]))


def tried_often_bought_rarely(
    rows: list[Row], *, min_tries: int, max_conversion: float
) -> list[Row]:
    return [
        r for r in rows if r["tries"] >= min_tries and (r["conversion"] or 0.0) <= max_conversion
    ]


def daily_tries(
    session: Session, *, period: Period, stores: frozenset[str] | None, gtins: list[str]
) -> dict[str, list[int]]:
    """Try-ons per day of the period for each product: the trend lines."""
    if not gtins:
        return {}
    stmt = (
        select(Activity.gtin, Activity.day, func.count())
        .where(Activity.kind == "tryon_outcome", Activity.gtin.in_(gtins))
        .group_by(Activity.gtin, Activity.day)
    )
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for gtin, day, n in session.execute(
        _in_stores(_in_period(stmt, Activity.day, period), Activity.store_id, stores)
    ):
        counts[gtin][day] = int(n)
    return {g: [counts[g].get(d, 0) for d in period.days] for g in gtins}


def conversion_by(
    session: Session,
    *,
    group: reports.ConversionGroup,
    period: Period,
    stores: frozenset[str] | None,
    category: str | None = None,
    size: str | None = None,
) -> list[Row]:
    """Conversion per category or store (or day): as the conversion report, in scope."""
    columns: dict[reports.ConversionGroup, Any] = {
        reports.ConversionGroup.CATEGORY: func.coalesce(Product.category, "unknown"),
        reports.ConversionGroup.STORE: Activity.store_id,
        reports.ConversionGroup.DAY: Activity.day,
        reports.ConversionGroup.PRODUCT: Activity.gtin,
    }
    key = columns[group].label("key")
    purchased = func.sum(case((Activity.outcome == "purchased", 1), else_=0))
    stmt = (
        select(key, func.count(), purchased)
        .select_from(Activity)
        .outerjoin(Product, Product.gtin == Activity.gtin)
        .where(Activity.kind == "tryon_outcome")
        .group_by(key)
        .order_by(key)
    )
    stmt = _product_filter(
        _in_stores(_in_period(stmt, Activity.day, period), Activity.store_id, stores),
        Activity.gtin,
        category,
        size,
    )
    return [
        {
            "key": k,
            "tries": int(t),
            "purchases": int(p or 0),
            "conversion": round(int(p or 0) / int(t), 4) if t else None,
        }
        for k, t, p in session.execute(stmt)
    ]


# --- members ------------------------------------------------------------------------------------


def find_members(session: Session, *, query: str, stores: frozenset[str] | None) -> list[Member]:
    """By phone, e-mail, external id (any channel), or member id; only members the viewer may
    see (a store manager: home store one of theirs)."""
    query = query.strip()
    if not query:
        return []
    ids = set(
        session.scalars(select(MemberIdentity.member_id).where(MemberIdentity.value == query))
    )
    if session.get(Member, query) is not None:
        ids.add(query)
    if not ids:
        return []
    stmt = select(Member).where(Member.id.in_(sorted(ids)))
    if stores is not None:
        stmt = stmt.where(Member.home_store_id.in_(sorted(stores)))
    return list(session.scalars(stmt.order_by(Member.id)))


def member_visible(member: Member, stores: frozenset[str] | None) -> bool:
    return stores is None or (member.home_store_id is not None and member.home_store_id in stores)


def member_detail(session: Session, *, member: Member, stores: frozenset[str] | None) -> Row:
    """Everything the member page shows; activity limited to the viewer's stores."""
    identities = session.scalars(
        select(MemberIdentity)
        .where(MemberIdentity.member_id == member.id)
        .order_by(MemberIdentity.id)
    ).all()
    tags = session.scalars(select(MemberTag).where(MemberTag.member_id == member.id)).all()
    consents = session.scalars(
        select(Consent).where(Consent.member_id == member.id).order_by(Consent.at, Consent.id)
    ).all()
    ledger = session.scalars(
        select(PointsEntry).where(PointsEntry.member_id == member.id).order_by(PointsEntry.at)
    ).all()
    activity = session.scalars(
        _in_stores(
            select(Activity).where(
                Activity.member_id == member.id, Activity.kind.in_(("visit", "tryon_outcome"))
            ),
            Activity.store_id,
            stores,
        )
        .order_by(Activity.ts.desc())
        .limit(200)
    ).all()
    purchases = session.scalars(
        _in_stores(
            select(SaleLine).where(SaleLine.member_id == member.id), SaleLine.store_id, stores
        )
        .order_by(SaleLine.ts.desc())
        .limit(200)
    ).all()
    names = {
        p.gtin: p
        for p in session.scalars(
            select(Product).where(
                Product.gtin.in_(
                    {a.gtin for a in activity if a.gtin} | {s.gtin for s in purchases if s.gtin}
                )
            )
        )
    }
    erasure = session.scalars(
        select(Erasure).where(Erasure.member_id == member.id).order_by(Erasure.seq.desc())
    ).first()
    confirmations = (
        store_confirmations(session, resource="erasures", version=erasure.seq) if erasure else []
    )
    audit = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.subject == f"member:{member.id}")
        .order_by(AuditEntry.id)
    ).all()
    return {
        "member": member,
        "identities": identities,
        "tags": tags,
        "consents": consents,
        "ledger": ledger,
        "balance": sum(e.delta for e in ledger),
        "visits": [a for a in activity if a.kind == "visit"],
        "tryons": [a for a in activity if a.kind == "tryon_outcome"],
        "purchases": purchases,
        "products": names,
        "erasure": erasure,
        "confirmations": [c for c in confirmations if stores is None or c["store_id"] in stores],
        "audit": audit,
    }


# --- segments -----------------------------------------------------------------------------------


def segments(
    session: Session, *, period: Period, stores: frozenset[str] | None, as_of: datetime
) -> Row:
    """The RFM grid (recency score x frequency score) with members and revenue per cell, and
    per segment. Scores rank members chain-wide; a store manager sees their home members."""
    rows = reports.rfm(session, as_of=as_of, window=period.window())
    if stores is not None:
        home = dict(
            session.execute(
                select(Member.id, Member.home_store_id).where(
                    Member.id.in_([r["member_id"] for r in rows])
                )
            ).all()
        )
        rows = [r for r in rows if home.get(r["member_id"]) in stores]
    grid = {(r, f): {"members": 0, "revenue": 0.0} for r in range(1, 6) for f in range(1, 6)}
    per_segment: dict[str, Row] = defaultdict(lambda: {"members": 0, "revenue": 0.0})
    for row in rows:
        cell = grid[(row["r"], row["f"])]
        cell["members"] += 1
        cell["revenue"] = round(cell["revenue"] + row["monetary"], 2)
        seg = per_segment[row["segment"]]
        seg["members"] += 1
        seg["revenue"] = round(seg["revenue"] + row["monetary"], 2)
    return {
        "rows": rows,
        "grid": grid,
        "segments": dict(sorted(per_segment.items(), key=lambda kv: -kv[1]["members"])),
    }


# --- stores -------------------------------------------------------------------------------------


def stores_page(
    session: Session, *, period: Period, stores: frozenset[str] | None, settings: Settings
) -> list[Row]:
    members = dict(
        session.execute(
            _in_stores(
                select(Member.home_store_id, func.count()).where(Member.erased_at.is_(None)),
                Member.home_store_id,
                stores,
            ).group_by(Member.home_store_id)
        ).all()
    )
    share = {
        r["store_id"]: r
        for r in reports.revenue_share(session, settings=settings, window=period.window())
    }
    out = []
    for store in visible_stores(session, stores):
        r = share.get(store.id, {})
        out.append(
            {
                "store_id": store.id,
                "name": store.name,
                "latitude": store.latitude,
                "longitude": store.longitude,
                "active": store.active,
                "home_members": int(members.get(store.id, 0)),
                "sales": r.get("sales", 0.0),
                "share_paid": r.get("share_paid", 0.0),
                "share_received": r.get("share_received", 0.0),
                "attributed": r.get("attributed", 0.0),
            }
        )
    total = sum(r["attributed"] for r in out) or 0.0
    for row in out:
        row["revenue_share"] = round(row["attributed"] / total, 4) if total else None
    return out


def reserve_to_buy(session: Session, *, period: Period, stores: frozenset[str] | None) -> list[Row]:
    """Online reservations closed in the period (by the start of their window), per store."""
    since = datetime.combine(period.day_from, datetime.min.time(), tzinfo=UTC)
    until = datetime.combine(period.day_to + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    rows = reservations.report(session, since=since, until=until)
    return [r for r in rows if stores is None or r["store_id"] in stores]


# --- notifications ------------------------------------------------------------------------------


def deliveries(
    session: Session, *, stores: frozenset[str] | None, failed_only: bool, limit: int = 200
) -> list[Row]:
    stmt = (
        select(DeliveryAttempt, Notification)
        .join(Notification, Notification.id == DeliveryAttempt.notification_id)
        .order_by(DeliveryAttempt.id.desc())
        .limit(limit)
    )
    if failed_only:
        stmt = stmt.where(DeliveryAttempt.ok.is_(False))
    if stores is not None:
        stmt = stmt.where(
            Notification.member_id.in_(
                select(Member.id).where(Member.home_store_id.in_(sorted(stores)))
            )
        )
    return [
        {
            "at": crud.as_utc(a.at),
            "notification": n.id,
            "member_id": n.member_id,
            "kind": n.kind,
            "channel": a.channel,
            "ok": a.ok,
            "status_code": a.status_code,
            "error": a.error,
            "attempts": n.attempts,
            "status": n.status,
            "next_attempt_at": crud.as_utc(n.next_attempt_at),
        }
        for a, n in session.execute(stmt)
    ]


def notification_counts(session: Session, *, stores: frozenset[str] | None) -> dict[str, int]:
    stmt = select(Notification.status, func.count()).group_by(Notification.status)
    if stores is not None:
        stmt = stmt.where(
            Notification.member_id.in_(
                select(Member.id).where(Member.home_store_id.in_(sorted(stores)))
            )
        )
    return {s: int(n) for s, n in session.execute(stmt)}


# --- catalog and models -------------------------------------------------------------------------


def catalog_and_models(session: Session, *, stores: frozenset[str] | None) -> Row:
    version = session.get(DownlinkVersion, crud.CATALOG)
    models = session.scalars(
        select(RecommenderModel).order_by(RecommenderModel.created_at.desc())
    ).all()
    pickups: dict[tuple[str, str], dict[str, datetime]] = defaultdict(dict)
    for p in session.scalars(_in_stores(select(StorePickup), StorePickup.store_id, stores)):
        pickups[(p.resource, p.version)][p.store_id] = crud.as_utc(p.first_at)
    return {
        "catalog_version": str(version.version) if version else "0",
        "products": int(session.scalar(select(func.count()).select_from(Product)) or 0),
        "models": [
            {
                "version": m.version,
                "sha256": m.sha256,
                "size": m.size,
                "created_at": crud.as_utc(m.created_at),
            }
            for m in models
        ],
        "stores": visible_stores(session, stores),
        "pickups": pickups,
    }
