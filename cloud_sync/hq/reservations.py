"""Reserve online, try in store, at headquarters (docs/hq.md, "Reservations").

An online channel reserves items (GTIN, or GTIN and size) at a store for a member, within a
time window. HQ checks the store's live stock (``cloud_sync/hq/stock.py``) and refuses with a
clear reason and alternatives (other stores near it, or other sizes) what it cannot promise.
The store receives its open reservations on the downlink and reports back ``reservation.*``
events; HQ keeps the status, tells the member when it is ready (their consent permitting),
and counts outcomes for the reserve-to-buy report.
"""

from __future__ import annotations

import secrets
import string
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud_sync.hq import crud, stock
from cloud_sync.hq.core.config import Settings
from cloud_sync.hq.models import (
    OnlineReservation,
    Product,
    ReservationLine,
    StockStream,
    Store,
    StoreStock,
)
from edge.events.reservations import Reservation, ReservedItem

OPEN = ("requested", "ready", "arrived")
EVENT_TYPES = frozenset(
    {
        "reservation.picked",
        "reservation.unavailable",
        "reservation.ready",
        "reservation.arrived",
        "reservation.closed",
    }
)
MAX_WINDOW = timedelta(days=7)
_CODE_ALPHABET = string.ascii_uppercase + string.digits


class ReservationRefused(ValueError):
    """What cannot be reserved, and what could be instead (``alternatives``)."""

    def __init__(self, message: str, alternatives: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.alternatives = alternatives or []


def _version_name(store_id: str) -> str:
    return f"reservations:{store_id}"[:32]


def create(
    session: Session,
    *,
    member_id: str,
    store_id: str,
    items: Sequence[tuple[str, str | None]],
    window_start: datetime,
    window_end: datetime,
    channel: str,
    settings: Settings,
    now: datetime,
) -> OnlineReservation:
    """``items``: (GTIN, size or None) pairs. Raises NotFoundError for an unknown member or
    store, UnknownProductError for an unknown GTIN or size, ReservationRefused otherwise."""
    member = crud.resolve_member(session, member_id=member_id)
    if member is None or member.erased_at is not None:
        raise crud.NotFoundError(f"Member {member_id} not found")
    store = session.get(Store, store_id)
    if store is None:
        raise crud.NotFoundError(f"Store {store_id} not found")
    if not store.active:
        raise ReservationRefused(f"Store {store_id} is closed")
    if window_end <= window_start:
        raise ReservationRefused("The window must end after it starts")
    if window_end <= now:
        raise ReservationRefused("The window is in the past")
    if window_end - window_start > MAX_WINDOW or window_start - now > MAX_WINDOW:
        raise ReservationRefused("Reservations are for the next 7 days at most")
    gtins = [stock.resolve_gtin(session, gtin, size) for gtin, size in items]
    _check_stock(session, store, gtins, settings=settings, now=now)
    reservation = OnlineReservation(
        id=f"rsv_{secrets.token_hex(8)}",
        member_id=member.id,
        store_id=store.id,
        channel=channel,
        status="requested",
        window_start=window_start,
        window_end=window_end,
        checkin_code="".join(secrets.choice(_CODE_ALPHABET) for _ in range(8)),
        created_at=now,
        updated_at=now,
    )
    session.add(reservation)
    session.flush()
    for position, gtin in enumerate(gtins):
        session.add(ReservationLine(reservation_id=reservation.id, position=position, gtin=gtin))
    crud.bump_version(session, name=_version_name(store.id))
    crud.audit(
        session,
        actor=channel,
        action="reservation.create",
        subject=f"member:{member.id}",
        detail={"reservation_id": reservation.id, "store_id": store.id, "gtins": gtins},
        now=now,
    )
    session.commit()
    return reservation


def _check_stock(
    session: Session, store: Store, gtins: list[str], *, settings: Settings, now: datetime
) -> None:
    wanted = Counter(gtins)
    for gtin, count in wanted.items():
        found = stock.availability(
            session,
            gtin=gtin,
            near=None,
            radius_km=0,
            limit=10_000,
            max_age_s=settings.stock_max_age_s,
            now=now,
        )
        here = next((a for a in found if a.store_id == store.id), None)
        if here is None or here.status == "unknown":
            raise ReservationRefused(f"Store {store.id} has no current stock count")
        if here.status == "stale":
            raise ReservationRefused(f"Store {store.id}'s stock count is out of date")
        if (here.floor or 0) + (here.backroom or 0) >= count:
            continue
        product = session.get(Product, gtin)
        name = f"{product.name} ({product.colour}, {product.size})" if product else gtin
        raise ReservationRefused(
            f"{name} is sold out at store {store.id}",
            _alternatives(session, store, gtin, found, settings=settings, now=now),
        )


def _alternatives(
    session: Session,
    store: Store,
    gtin: str,
    everywhere: list[stock.StoreAvailability],
    *,
    settings: Settings,
    now: datetime,
) -> list[dict[str, Any]]:
    """Nearby stores with the item in stock, and other sizes of it in stock here."""
    near = stock.availability(
        session,
        gtin=gtin,
        near=(store.latitude, store.longitude),
        radius_km=50,
        limit=5,
        max_age_s=settings.stock_max_age_s,
        now=now,
    )
    options: list[dict[str, Any]] = [
        {
            "store_id": a.store_id,
            "gtin": gtin,
            "distance_km": a.distance_km,
            "floor": a.floor,
            "backroom": a.backroom,
        }
        for a in near
        if a.in_stock and a.store_id != store.id
    ]
    product = session.get(Product, gtin)
    if product is not None:
        siblings = session.execute(
            select(Product.gtin, Product.size, StoreStock.floor, StoreStock.backroom)
            .join(StoreStock, StoreStock.gtin == Product.gtin)
            .join(StockStream, StockStream.store_id == StoreStock.store_id)
            .where(
                Product.name == product.name,
                Product.colour == product.colour,
                Product.gtin != gtin,
                StoreStock.store_id == store.id,
                StockStream.complete.is_(True),
                StoreStock.floor + StoreStock.backroom > 0,
            )
        ).all()
        options.extend(
            {"store_id": store.id, "gtin": g, "size": size, "floor": f, "backroom": b}
            for g, size, f, b in siblings
        )
    return options


def open_for_store(session: Session, store_id: str) -> list[Reservation]:
    """What the store receives: its open reservations, as the wire type both ends share."""
    rows = session.scalars(
        select(OnlineReservation)
        .where(OnlineReservation.store_id == store_id, OnlineReservation.status.in_(OPEN))
        .order_by(OnlineReservation.window_start, OnlineReservation.id)
    ).all()
    lines: dict[str, list[str]] = {}
    if rows:
        for line in session.scalars(
            select(ReservationLine)
            .where(ReservationLine.reservation_id.in_([r.id for r in rows]))
            .order_by(ReservationLine.reservation_id, ReservationLine.position)
        ):
            lines.setdefault(line.reservation_id, []).append(line.gtin)
    return [
        Reservation(
            id=r.id,
            member_id=r.member_id,
            items=[ReservedItem(gtin=g) for g in lines.get(r.id, [])],
            window_start=crud.as_utc(r.window_start),
            window_end=crud.as_utc(r.window_end),
            checkin_code=r.checkin_code,
        )
        for r in rows
    ]


def store_version(session: Session, store_id: str) -> int:
    return crud.version_of(session, name=_version_name(store_id))


def public(session: Session, reservation: OnlineReservation) -> dict[str, Any]:
    lines = session.scalars(
        select(ReservationLine)
        .where(ReservationLine.reservation_id == reservation.id)
        .order_by(ReservationLine.position)
    ).all()
    return {
        "id": reservation.id,
        "member_id": reservation.member_id,
        "store_id": reservation.store_id,
        "status": reservation.status,
        "window_start": crud.as_utc(reservation.window_start).isoformat(),
        "window_end": crud.as_utc(reservation.window_end).isoformat(),
        "came": reservation.came,
        "items": [{"gtin": line.gtin, "outcome": line.outcome} for line in lines],
    }


def get(session: Session, reservation_id: str) -> OnlineReservation:
    found = session.get(OnlineReservation, reservation_id)
    if found is None:
        raise crud.NotFoundError(f"Reservation {reservation_id} not found")
    return found


def cancel(session: Session, reservation_id: str, *, actor: str, now: datetime) -> None:
    found = get(session, reservation_id)
    if found.status not in OPEN:
        raise crud.ConflictError(f"Reservation {reservation_id} is {found.status}")
    found.status, found.updated_at = "cancelled", now
    crud.bump_version(session, name=_version_name(found.store_id))
    crud.audit(
        session,
        actor=actor,
        action="reservation.cancel",
        subject=f"member:{found.member_id}",
        detail={"reservation_id": found.id},
        now=now,
    )
    session.commit()


def for_member(session: Session, member_id: str) -> list[OnlineReservation]:
    return list(
        session.scalars(
            select(OnlineReservation)
            .where(OnlineReservation.member_id == member_id)
            .order_by(OnlineReservation.window_start.desc())
        )
    )


# --- what the stores report ----------------------------------------------------------------


def project(
    session: Session, rows: Sequence[dict[str, Any]], *, settings: Settings, now: datetime
) -> None:
    """Apply the stores' reservation.* events (in the ingest transaction)."""
    for row in rows:
        if row["type"] not in EVENT_TYPES:
            continue
        payload = row["body"].get("payload")
        if not isinstance(payload, dict):
            continue
        found = session.get(OnlineReservation, str(payload.get("reservation_id")))
        if found is None or found.store_id != row["store_id"]:
            continue  # another store's reservation, or one HQ never made: ignored
        _apply(session, found, row["type"], payload, settings=settings, now=now)


def _apply(
    session: Session,
    found: OnlineReservation,
    kind: str,
    payload: dict[str, Any],
    *,
    settings: Settings,
    now: datetime,
) -> None:
    found.updated_at = now
    if kind == "reservation.picked":
        line = session.scalars(
            select(ReservationLine).where(
                ReservationLine.reservation_id == found.id,
                ReservationLine.position == int(payload["item"]),
            )
        ).first()
        if line is not None:
            line.epc = str(payload["epc"])[:64]
    elif kind == "reservation.unavailable" and found.status in OPEN:
        _tell_unavailable(session, found, str(payload.get("gtin")), settings=settings, now=now)
    elif kind == "reservation.ready" and found.status == "requested":
        found.status = "ready"
        store = session.get(Store, found.store_id)
        crud.queue_notification(
            session,
            member_id=found.member_id,
            kind="reservation_ready",
            data={
                "reservation_id": found.id,
                "store": store.name if store else found.store_id,
                "until": crud.as_utc(found.window_end).isoformat(),
                "checkin_code": found.checkin_code,
            },
            settings=settings,
            now=now,
        )
    elif kind == "reservation.arrived" and found.status in ("requested", "ready"):
        found.status = "arrived"
        found.came = True
    elif kind == "reservation.closed" and found.status in OPEN:
        found.status = "closed"
        found.came = bool(payload.get("came"))
        outcomes = list(payload.get("outcomes") or [])
        for line in session.scalars(
            select(ReservationLine).where(ReservationLine.reservation_id == found.id)
        ):
            if line.position < len(outcomes):
                line.outcome = str(outcomes[line.position])[:20]
        crud.bump_version(session, name=_version_name(found.store_id))


def _tell_unavailable(
    session: Session, found: OnlineReservation, gtin: str, *, settings: Settings, now: datetime
) -> None:
    """Staff found none of a reserved item at the store: the member hears it, with another
    size here or a nearby store that has it (with their consent, like every notification)."""
    store = session.get(Store, found.store_id)
    if store is None:
        return
    product = session.get(Product, gtin)
    name = f"{product.name} ({product.colour}, {product.size})" if product else gtin
    crud.queue_notification(
        session,
        member_id=found.member_id,
        kind="reservation_missing",
        data={
            "reservation_id": found.id,
            "store": store.name,
            "gtin": gtin,
            "item": name,
            "alternatives": _alternatives(session, store, gtin, [], settings=settings, now=now),
        },
        settings=settings,
        now=now,
    )


def report(
    session: Session,
    *,
    store_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """Reserve-to-buy per store: reservations, how many came, items bought, conversion
    (closed reservations whose time window starts in [since, until) when given)."""
    query = (
        select(
            OnlineReservation.store_id,
            func.count(func.distinct(OnlineReservation.id)),
            func.count(func.distinct(OnlineReservation.id)).filter(
                OnlineReservation.came.is_(True)
            ),
            func.count(ReservationLine.id),
            func.count(ReservationLine.id).filter(ReservationLine.outcome == "bought"),
            func.count(ReservationLine.id).filter(ReservationLine.outcome == "tried_not_bought"),
        )
        .join(ReservationLine, ReservationLine.reservation_id == OnlineReservation.id)
        .where(OnlineReservation.status == "closed")
        .group_by(OnlineReservation.store_id)
        .order_by(OnlineReservation.store_id)
    )
    if store_id is not None:
        query = query.where(OnlineReservation.store_id == store_id)
    if since is not None:
        query = query.where(OnlineReservation.window_start >= since)
    if until is not None:
        query = query.where(OnlineReservation.window_start < until)
    return [
        {
            "store_id": sid,
            "reservations": total,
            "came": came,
            "never_came": total - came,
            "items": items,
            "items_bought": bought,
            "items_tried_not_bought": tried,
            "reserve_to_buy": round(bought / items, 4) if items else 0.0,
        }
        for sid, total, came, items, bought, tried in session.execute(query)
    ]
