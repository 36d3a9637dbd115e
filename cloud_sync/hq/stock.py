"""Store stock at headquarters (docs/sync.md, "Stock at HQ").

Each store sends ``stock.snapshot`` parts, then ``stock.changed`` messages, numbered by
``seq`` within a ``stream`` (a new stream per edge start). They are applied here in order, in
the ingest transaction. A message that is not the next one means HQ missed something: the
store's counts are marked incomplete and a snapshot is requested (the store sees the request
count grow on its downlink). The availability query never calls a store "in stock" when its
counts are incomplete or older than ``max_age_s``.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cloud_sync.hq.crud import haversine_km
from cloud_sync.hq.models import Product, StockStream, Store, StoreStock, table

STOCK_TYPES = frozenset({"stock.snapshot", "stock.changed"})
AWAITING_SNAPSHOT = -1
"""``snapshot_from`` while a requested snapshot has not started arriving."""

STOCK = table(StoreStock)


def project_stock(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Apply the batch's stock messages, per store in ``seq`` order."""
    by_store: dict[str, list[tuple[str, datetime, dict[str, Any]]]] = defaultdict(list)
    for row in rows:
        if row["type"] in STOCK_TYPES and isinstance(row["body"].get("payload"), dict):
            by_store[row["store_id"]].append((row["type"], row["ts"], row["body"]["payload"]))
    for store_id, messages in by_store.items():
        messages.sort(key=lambda m: (m[2]["stream"], int(m[2]["seq"])))
        stream = session.get(StockStream, store_id)
        for kind, ts, payload in messages:
            stream = _apply(session, stream, store_id, kind, ts, payload)


def _apply(
    session: Session,
    state: StockStream | None,
    store_id: str,
    kind: str,
    ts: datetime,
    payload: dict[str, Any],
) -> StockStream:
    seq = int(payload["seq"])
    snapshot = kind == "stock.snapshot"
    opens = snapshot and int(payload["part"]) == 1
    if state is None:
        state = StockStream(
            store_id=store_id,
            stream=payload["stream"],
            last_seq=seq - 1,
            snapshot_from=AWAITING_SNAPSHOT,
            complete=False,
            as_of=ts,
            snapshot_requests=0,
            gaps=0,
            generation=0,
        )
        session.add(state)
        if not opens:
            _gap(state)
    elif state.stream != payload["stream"]:
        if _naive(ts) < _naive(state.as_of):
            return state  # a late message of an earlier stream (the edge restarted since)
        state.stream, state.last_seq = payload["stream"], seq - 1
        if not opens:  # a new stream whose snapshot never came
            _gap(state)
    elif seq <= state.last_seq:
        return state  # already applied (a re-sent or reordered message)
    elif seq != state.last_seq + 1 and not opens:
        _gap(state)
    # Rows carry HQ's own count of applied messages: it grows across the store's streams.
    state.generation += 1
    _upsert(session, store_id, state.generation, payload["levels"])
    if opens:
        state.snapshot_from = state.generation
    if snapshot and int(payload["part"]) == int(payload["parts"]):
        if state.snapshot_from == state.generation - int(payload["parts"]) + 1:
            # Every part arrived in order: GTINs not in the snapshot have none left.
            session.execute(
                delete(StoreStock).where(
                    StoreStock.store_id == store_id, StoreStock.seq < state.snapshot_from
                )
            )
            state.complete = True
        else:
            _gap(state)
    state.last_seq = seq
    state.as_of = max(_naive(state.as_of), _naive(ts)).replace(tzinfo=UTC)
    return state


def _naive(value: datetime) -> datetime:
    """UTC without tzinfo (SQLite hands timestamps back naive, PostgreSQL aware)."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _gap(state: StockStream) -> None:
    state.gaps += 1
    state.complete = False
    if state.snapshot_from != AWAITING_SNAPSHOT:  # one request per gap, not per message
        state.snapshot_from = AWAITING_SNAPSHOT
        state.snapshot_requests += 1


def _upsert(session: Session, store_id: str, seq: int, levels: list[dict[str, Any]]) -> None:
    if not levels:
        return
    values = [
        {
            "gtin": level["gtin"],
            "store_id": store_id,
            "floor": int(level["floor"]),
            "backroom": int(level["backroom"]),
            "seq": seq,
        }
        for level in levels
    ]
    dialect = session.get_bind().dialect.name
    insert = pg_insert(STOCK) if dialect == "postgresql" else sqlite_insert(STOCK)
    statement = insert.on_conflict_do_update(
        index_elements=["gtin", "store_id"],
        set_={
            "floor": insert.excluded.floor,
            "backroom": insert.excluded.backroom,
            "seq": insert.excluded.seq,
        },
    )
    session.execute(statement, values)


def snapshot_requests(session: Session, store_id: str) -> int:
    state = session.get(StockStream, store_id)
    return 0 if state is None else state.snapshot_requests


# --- availability -------------------------------------------------------------------------


class UnknownProductError(LookupError):
    """No such GTIN in the catalog, or no such size of it."""


@dataclass(frozen=True, slots=True)
class StoreAvailability:
    store_id: str
    name: str
    distance_km: float | None
    floor: int | None
    backroom: int | None
    as_of: datetime | None
    age_s: float | None
    status: str
    """``in_stock``, ``out_of_stock``, ``stale`` (counts older than the limit) or ``unknown``
    (no complete count: the store has not sent one, or HQ missed a change and awaits a new
    snapshot)."""

    @property
    def in_stock(self) -> bool:
        return self.status == "in_stock"


def resolve_gtin(session: Session, gtin: str, size: str | None) -> str:
    """The GTIN asked for, or its sibling (same name and colour) in ``size``."""
    product = session.get(Product, gtin)
    if product is None:
        raise UnknownProductError(f"GTIN {gtin} is not in the catalog")
    if size is None or size == product.size:
        return gtin
    sibling = session.scalars(
        select(Product.gtin).where(
            Product.name == product.name, Product.colour == product.colour, Product.size == size
        )
    ).first()
    if sibling is None:
        raise UnknownProductError(f"{product.name} ({product.colour}) has no size {size!r}")
    return sibling


def availability(
    session: Session,
    *,
    gtin: str,
    near: tuple[float, float] | None,
    radius_km: float,
    limit: int,
    max_age_s: float,
    now: datetime,
) -> list[StoreAvailability]:
    """Active stores (within ``radius_km`` of ``near``, nearest first), with their counts."""
    query = (
        select(
            Store.id,
            Store.name,
            Store.latitude,
            Store.longitude,
            StockStream.complete,
            StockStream.as_of,
            StoreStock.floor,
            StoreStock.backroom,
        )
        .select_from(Store)
        .outerjoin(StockStream, StockStream.store_id == Store.id)
        .outerjoin(StoreStock, and_(StoreStock.store_id == Store.id, StoreStock.gtin == gtin))
        .where(Store.active.is_(True))
    )
    if near is not None:
        query = query.where(*_in_box(near, radius_km))
    else:
        query = query.order_by(Store.id).limit(limit)
    rows = session.execute(query).all()
    found: list[StoreAvailability] = []
    for store_id, name, lat, lon, complete, as_of, floor, backroom in rows:
        distance = None if near is None else haversine_km(near[0], near[1], lat, lon)
        if distance is not None and distance > radius_km:
            continue
        found.append(
            _judge(store_id, name, distance, complete, as_of, floor, backroom, now, max_age_s)
        )
    found.sort(key=lambda a: (a.distance_km if a.distance_km is not None else 0.0, a.store_id))
    return found[:limit]


def _in_box(near: tuple[float, float], radius_km: float) -> list[ColumnElement[bool]]:
    """Stores in a bounding box around ``near`` (cheap in SQL); callers keep those within the
    exact distance."""
    lat, lon = near
    dlat = radius_km / 110.574
    box: list[ColumnElement[bool]] = [Store.latitude.between(lat - dlat, lat + dlat)]
    cos_lat = math.cos(math.radians(lat))
    if cos_lat > 0.01 and abs(lat) + dlat < 89:
        dlon = radius_km / (111.320 * cos_lat)
        if lon - dlon >= -180 and lon + dlon <= 180:  # no wrap across the antimeridian
            box.append(Store.longitude.between(lon - dlon, lon + dlon))
    return box


def _judge(
    store_id: str,
    name: str,
    distance: float | None,
    complete: bool | None,
    as_of: datetime | None,
    floor: int | None,
    backroom: int | None,
    now: datetime,
    max_age_s: float,
) -> StoreAvailability:
    rounded = None if distance is None else round(distance, 2)
    if not complete or as_of is None:
        return StoreAvailability(store_id, name, rounded, None, None, as_of, None, "unknown")
    if as_of.tzinfo is None:  # SQLite hands back naive UTC
        as_of = as_of.replace(tzinfo=now.tzinfo)
    age = max(0.0, (now - as_of).total_seconds())
    floor, backroom = floor or 0, backroom or 0
    status = "in_stock" if floor + backroom > 0 else "out_of_stock"
    if age > max_age_s:
        status = "stale"
    return StoreAvailability(store_id, name, rounded, floor, backroom, as_of, round(age, 1), status)


# --- nearby stores' stock (the tablets' downlink) -----------------------------------------


@dataclass(frozen=True, slots=True)
class NearStore:
    """Another active store near the asking one, with complete and fresh counts."""

    store_id: str
    name: str
    distance_km: float
    as_of: datetime
    generation: int
    """HQ's count of the store's applied stock messages: it changes whenever its counts may."""


def nearby_stores(
    session: Session,
    *,
    store_id: str,
    radius_km: float,
    max_age_s: float,
    now: datetime,
) -> list[NearStore]:
    """The other active stores within ``radius_km`` of ``store_id`` whose counts are complete
    and at most ``max_age_s`` old, nearest first (empty for an unknown store)."""
    home = session.get(Store, store_id)
    if home is None:
        return []
    query = (
        select(
            Store.id,
            Store.name,
            Store.latitude,
            Store.longitude,
            StockStream.as_of,
            StockStream.generation,
        )
        .join(StockStream, StockStream.store_id == Store.id)
        .where(Store.active.is_(True), Store.id != store_id, StockStream.complete.is_(True))
    )
    query = query.where(*_in_box((home.latitude, home.longitude), radius_km))
    found: list[NearStore] = []
    for other_id, name, lat, lon, as_of, generation in session.execute(query).all():
        distance = haversine_km(home.latitude, home.longitude, lat, lon)
        as_of = _naive(as_of).replace(tzinfo=UTC)
        if distance <= radius_km and (now - as_of).total_seconds() <= max_age_s:
            found.append(NearStore(other_id, name, round(distance, 2), as_of, generation))
    found.sort(key=lambda s: (s.distance_km, s.store_id))
    return found


def nearby_version(stores: Sequence[NearStore], *, catalog_version: int, settings: str) -> str:
    """Changes whenever the answer may: the catalog, the settings it was made with, which
    stores are near and fresh, or any of their counts (every applied message moves
    ``generation``)."""
    digest = hashlib.sha256(f"{catalog_version}|{settings}".encode())
    for s in stores:
        digest.update(f"|{s.store_id}|{s.name}|{s.distance_km}|{s.generation}".encode())
    return digest.hexdigest()[:32]


def nearby_counts(
    session: Session, stores: Sequence[NearStore], *, per_gtin: int
) -> dict[str, list[tuple[str, int]]]:
    """GTIN of the catalog -> up to ``per_gtin`` of ``stores`` that have units of it, nearest
    first, with their counts (floor + backroom). One query: the ranking by distance is done
    by the database (a window per GTIN), not row by row here."""
    if not stores:
        return {}
    rank = case({s.store_id: i for i, s in enumerate(stores)}, value=StoreStock.store_id)
    count = (StoreStock.floor + StoreStock.backroom).label("count")
    ranked = (
        select(
            StoreStock.gtin,
            StoreStock.store_id,
            count,
            func.row_number().over(partition_by=StoreStock.gtin, order_by=rank).label("n"),
        )
        .join(Product, Product.gtin == StoreStock.gtin)
        .where(
            StoreStock.store_id.in_([s.store_id for s in stores]),
            StoreStock.floor + StoreStock.backroom > 0,
        )
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.gtin, ranked.c.store_id, ranked.c.count)
        .where(ranked.c.n <= per_gtin)
        .order_by(ranked.c.gtin, ranked.c.n)
    )
    found: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for gtin, other_id, units in rows:
        found[gtin].append((other_id, int(units)))
    return dict(found)
