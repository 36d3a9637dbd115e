"""What the console's pages show: one function per page query, each scoped to what the
viewer may see (``stores``: None means every store).

Days are UTC, as in the reports. Every query here is timed by ``o2o-hq bench reports``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud_sync.hq import crud, reports, reservations
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


def visible_stores(session: Session, stores: frozenset[str] | None) -> list[Store]:
    return list(session.scalars(_in_stores(select(Store), Store.id, stores).order_by(Store.id)))


# --- overview -------------------------------------------------------------------------------

KPIS = ("visitors", "members", "tryons", "tries", "purchases", "sales", "revenue")


def _window(period: Period, stores: frozenset[str] | None) -> reports.Window:
    return reports.Window(day_from=period.day_from, day_to=period.day_to, store_ids=stores)


def _kpis(row: Row | None) -> Row:
    out: Row = dict.fromkeys(KPIS, 0)
    if row is not None:
        out.update({k: row[k] for k in KPIS})
    out["conversion"] = round(out["purchases"] / out["tries"], 4) if out["tries"] else None
    return out


def overview(session: Session, *, period: Period, stores: frozenset[str] | None) -> Row:
    """Totals, per store and per day for the period, from the store-day rollup. ``members``:
    members recognised, counted once per store and day."""
    window = _window(period, stores)
    by = reports.OverviewBy
    per_store = {r["store"]: r for r in reports.overview(session, window=window, by=by.STORE)}
    per_day = {r["day"]: r for r in reports.overview(session, window=window, by=by.DAY)}
    chain = reports.overview(session, window=window, by=by.CHAIN)
    names = {s.id: s.name for s in visible_stores(session, stores)}
    return {
        "totals": _kpis(chain[0] if chain else None),
        "stores": [
            {"store_id": s, "name": names.get(s, s), **_kpis(per_store.get(s))}
            for s in sorted(set(per_store) | set(names))
        ],
        "days": [{"day": d, **_kpis(per_day.get(d))} for d in period.days],
    }


def store_health(session: Session, *, stores: frozenset[str] | None, now: datetime) -> list[Row]:
    """Per store: its last signed request (upload or downlink poll: the rate window every
    such request advances, to the window's start), its newest event, and what its last health
    report said (outbox backlog, dead letters, devices offline, open alarms)."""
    out = []
    shown = visible_stores(session, stores)
    windows = dict(
        session.execute(
            select(RateWindow.store_id, RateWindow.window_start).where(
                RateWindow.store_id.in_([s.id for s in shown])
            )
        ).all()
    )
    for store in shown:
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
    cats = sorted(c for c in session.scalars(select(Product.category).distinct()) if c)
    sizes = sorted(s for s in session.scalars(select(Product.size).distinct()) if s)
    return cats, sizes


def _filter(category: str | None, size: str | None) -> reports.ProductFilter:
    return reports.ProductFilter(category=category or None, size=size or None)


def products(
    session: Session,
    *,
    period: Period,
    stores: frozenset[str] | None,
    category: str | None = None,
    size: str | None = None,
) -> list[Row]:
    """Per product tried in the period: try-ons with an outcome, purchases among them,
    conversion, units sold and revenue (net of returns), most tried first."""
    rows = reports.product_totals(
        session,
        group=reports.ConversionGroup.PRODUCT,
        window=_window(period, stores),
        products=_filter(category, size),
    )
    gtins = [r["product"] for r in rows if r["product"] is not None]
    catalog = {p.gtin: p for p in session.scalars(select(Product).where(Product.gtin.in_(gtins)))}
    out = []
    for row in rows:
        gtin = row["product"]
        if gtin is None:
            continue
        product = catalog.get(gtin)
        out.append(
            {
                "gtin": gtin,
                "name": product.name if product else "",
                "category": product.category if product else "",
                "size": product.size if product else "",
                "colour": product.colour if product else "",
                "tries": row["tries"],
                "purchases": row["purchases"],
                "conversion": row["conversion"] if row["tries"] else None,
                "units_sold": row["units"],
                "revenue": row["revenue"],
            }
        )
    return sorted(out, key=lambda r: (-r["tries"], -r["revenue"], r["gtin"]))


def tried_often_bought_rarely(
    rows: list[Row], *, min_tries: int, max_conversion: float
) -> list[Row]:
    return [
        r for r in rows if r["tries"] >= min_tries and (r["conversion"] or 0.0) <= max_conversion
    ]


def trend_labels(period: Period) -> list[str]:
    """The points of a trend line: days up to the rollups' daily limit, else months."""
    if (period.day_to - period.day_from).days < reports.TREND_DAILY_MAX_DAYS:
        return period.days
    months = sorted({d[:7] for d in period.days})
    return months


def daily_tries(
    session: Session, *, period: Period, stores: frozenset[str] | None, gtins: list[str]
) -> dict[str, list[int]]:
    """Try-ons with an outcome per point of ``trend_labels`` for each product."""
    if not gtins:
        return {}
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for row in reports.product_trend(session, window=_window(period, stores), gtins=gtins):
        counts[row["product"]][row["period"]] = row["tries"]
    labels = trend_labels(period)
    return {g: [counts[g].get(label, 0) for label in labels] for g in gtins}


def conversion_by(
    session: Session,
    *,
    group: reports.ConversionGroup,
    period: Period,
    stores: frozenset[str] | None,
    category: str | None = None,
    size: str | None = None,
) -> list[Row]:
    """Conversion per category, store or day, for the same filters."""
    rows = reports.product_totals(
        session, group=group, window=_window(period, stores), products=_filter(category, size)
    )
    return [
        {
            "key": r[group.value],
            "tries": r["tries"],
            "purchases": r["purchases"],
            "conversion": r["conversion"] if r["tries"] else None,
        }
        for r in rows
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


def segments(session: Session, *, stores: frozenset[str] | None) -> Row:
    """The RFM grid (recency score x frequency score) with members and revenue per cell, and
    per segment, from the segments snapshot. Scores rank buying members chain-wide; a store
    manager sees the members whose home store is theirs."""
    cells = reports.segments_grid(session, home_stores=stores)
    grid = {(r, f): {"members": 0, "revenue": 0.0} for r in range(1, 6) for f in range(1, 6)}
    per_segment: dict[str, Row] = defaultdict(lambda: {"members": 0, "revenue": 0.0})
    for cell in cells:
        into = grid[(cell["r"], cell["f"])]
        into["members"] += cell["members"]
        into["revenue"] = round(into["revenue"] + cell["revenue"], 2)
        seg = per_segment[cell["segment"]]
        seg["members"] += cell["members"]
        seg["revenue"] = round(seg["revenue"] + cell["revenue"], 2)
    return {
        "as_of": min((c["as_of"] for c in cells), default=None),
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
        for r in reports.revenue_share(session, settings=settings, window=_window(period, stores))
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
