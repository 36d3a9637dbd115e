"""Tables (SQLAlchemy 2.0, typed). Alembic migrations are generated from these.

``events`` is the raw, de-duplicated store of everything the edges upload; ``activity`` and
``sale_lines`` are projections of it written in the same transaction as the new events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JsonDoc = JSON().with_variant(JSONB(), "postgresql")
QueueId = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit serial key (SQLite numbers rows itself only for INTEGER PRIMARY KEY)."""
Timestamp = DateTime(timezone=True)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def table(model: type[Base]) -> Table:
    """The Core table of a mapped class, typed for Core statements."""
    return cast(Table, model.__table__)


class Store(Base):
    __tablename__ = "stores"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    # Fernet(server key) ciphertext: HMAC verification needs the secret itself.
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class StaffToken(Base):
    __tablename__ = "staff_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class StoredEvent(Base):
    __tablename__ = "events"
    # Few indexes: each one costs on every insert. (store_id, ts) serves the per-store
    # exports; reports read the projections, not this table.
    __table_args__ = (Index("ix_events_store_ts", "store_id", "ts"),)

    event_id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(Timestamp)
    body: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    received_at: Mapped[datetime] = mapped_column(Timestamp)


class RateWindow(Base):
    """One row per store: the current fixed window and its request count (shared by workers)."""

    __tablename__ = "rate_windows"

    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)


class DownlinkVersion(Base):
    """A counter per downlink document (catalog, gallery); bumped on every change."""

    __tablename__ = "downlink_versions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class Product(Base):
    __tablename__ = "products"

    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100), index=True)
    size: Mapped[str] = mapped_column(String(20), default="")
    colour: Mapped[str] = mapped_column(String(50), default="")
    price: Mapped[float] = mapped_column(Float)
    image: Mapped[str] = mapped_column(String(500), default="")
    style: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(String(300), default="")
    i18n: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    """Language -> {name, colour, text}, as the catalog carries it (ProductFields.i18n)."""


class RecommenderModel(Base):
    __tablename__ = "recommender_models"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(Timestamp, index=True)


class Member(Base):
    __tablename__ = "members"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(40), default="standard")
    home_store_id: Mapped[str | None] = mapped_column(ForeignKey("stores.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    merged_into: Mapped[str | None] = mapped_column(String(40))
    erased_at: Mapped[datetime | None] = mapped_column(Timestamp)
    purged_at: Mapped[datetime | None] = mapped_column(Timestamp)


class MemberIdentity(Base):
    """phone, email, wechat_openid, loyalty_card, ...: each value belongs to one member."""

    __tablename__ = "member_identities"
    __table_args__ = (UniqueConstraint("channel", "value", name="uq_member_identities_channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    channel: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(200))


class MemberTag(Base):
    __tablename__ = "member_tags"
    __table_args__ = (UniqueConstraint("member_id", "key", name="uq_member_tags_member_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    key: Mapped[str] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(String(500))


class Consent(Base):
    """Append-only: the latest record per (member, scope) is the member's current choice."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    scope: Mapped[str] = mapped_column(String(40))
    given: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(Timestamp)
    source: Mapped[str] = mapped_column(String(200))
    gallery_version: Mapped[int | None] = mapped_column(Integer)
    """Face consent: the gallery version that carries this choice to the stores."""


class PointsEntry(Base):
    __tablename__ = "points_ledger"
    __table_args__ = (
        UniqueConstraint("member_id", "cause", "ref", name="uq_points_ledger_member_cause_ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    delta: Mapped[int] = mapped_column(Integer)
    cause: Mapped[str] = mapped_column(String(40))
    ref: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(String(500), default="")
    at: Mapped[datetime] = mapped_column(Timestamp)


class Embedding(Base):
    __tablename__ = "embeddings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    # Fernet(server key) of the JSON vector: biometric data stays encrypted at rest.
    vector_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class Erasure(Base):
    __tablename__ = "erasures"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(String(40), index=True)
    erased_at: Mapped[datetime] = mapped_column(Timestamp)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(Timestamp)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(200), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JsonDoc)


class Activity(Base):
    """Projection of visit.started, tryon.started, tryon.outcome and zone.visitors events."""

    __tablename__ = "activity"
    __table_args__ = (
        Index("ix_activity_store_day", "store_id", "day"),
        Index("ix_activity_member_id", "member_id"),
    )

    event_id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    ts: Mapped[datetime] = mapped_column(Timestamp)
    day: Mapped[str] = mapped_column(String(10))
    hour: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[str | None] = mapped_column(String(40))
    gtin: Mapped[str | None] = mapped_column(String(14))
    outcome: Mapped[str | None] = mapped_column(String(30))
    # People counted: 1, or zone.visitors' ``visitors`` for an anonymous per-minute count.
    quantity: Mapped[int] = mapped_column(Integer, default=1)


class SaleLine(Base):
    """Projection of sale events, one row per line; amounts are negative for returns."""

    __tablename__ = "sale_lines"
    __table_args__ = (Index("ix_sale_lines_store_day", "store_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(Uuid(as_uuid=False), index=True)
    store_id: Mapped[str] = mapped_column(String(64))
    sale_id: Mapped[str] = mapped_column(String(100))
    ts: Mapped[datetime] = mapped_column(Timestamp)
    day: Mapped[str] = mapped_column(String(10))
    member_id: Mapped[str | None] = mapped_column(String(40), index=True)
    gtin: Mapped[str | None] = mapped_column(String(14))
    quantity: Mapped[int] = mapped_column(Integer)
    amount: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3))


class SoldEpc(Base):
    """EPCs sold anywhere in the chain (store sales, online orders), for the stores' exit
    gates; a return makes ``sold`` false. The newest event per EPC wins (``ts``)."""

    __tablename__ = "sold_epcs"
    __table_args__ = (Index("ix_sold_epcs_sold_ts", "sold", "ts"),)

    epc: Mapped[str] = mapped_column(String(64), primary_key=True)
    sold: Mapped[bool] = mapped_column(Boolean)
    ts: Mapped[datetime] = mapped_column(Timestamp)
    source: Mapped[str] = mapped_column(String(200))
    """The store id of a till sale, or the online channel of an order."""
    ref: Mapped[str] = mapped_column(String(100))
    """The sale id or order id."""


class GateOutcomeLine(Base):
    """Projection of closed exit alarms (``gate.alarm`` with reason ``closed``), one row per
    item, for the shrink and false-alarm reports."""

    __tablename__ = "gate_outcomes"
    __table_args__ = (Index("ix_gate_outcomes_store_day", "store_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(Uuid(as_uuid=False), index=True)
    store_id: Mapped[str] = mapped_column(String(64))
    exit: Mapped[str] = mapped_column(String(64))
    alarm_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(20))
    ts: Mapped[datetime] = mapped_column(Timestamp)
    """When the alarm was raised (its items were at the exit), UTC."""
    day: Mapped[str] = mapped_column(String(10))
    hour: Mapped[int] = mapped_column(Integer)
    epc: Mapped[str] = mapped_column(String(64))
    gtin: Mapped[str | None] = mapped_column(String(14))
    price: Mapped[float | None] = mapped_column(Float)


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    delivered_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_error: Mapped[str] = mapped_column(Text, default="")


class DeliveryAttempt(Base):
    __tablename__ = "delivery_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    at: Mapped[datetime] = mapped_column(Timestamp)
    channel: Mapped[str] = mapped_column(String(20))
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")


class StoreStock(Base):
    """Counts per store and GTIN as the store last reported them (``stock.*`` events).
    Keyed by GTIN first: the availability query asks for one GTIN across stores; the
    nearby-stock downlink asks for every GTIN of a few stores (``store_id`` index)."""

    __tablename__ = "store_stock"
    __table_args__ = (Index("ix_store_stock_store_id", "store_id"),)

    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    floor: Mapped[int] = mapped_column(Integer)
    backroom: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(BigInteger)
    """HQ's count of the store's applied stock messages when this row was last set."""


class StockStream(Base):
    """Per store: the numbering stream it sends stock in, how far it got, whether the counts
    are whole (a snapshot completed and no change missed since)."""

    __tablename__ = "stock_streams"

    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    stream: Mapped[str] = mapped_column(String(40))
    last_seq: Mapped[int] = mapped_column(BigInteger)
    snapshot_from: Mapped[int] = mapped_column(BigInteger)
    complete: Mapped[bool] = mapped_column(Boolean)
    as_of: Mapped[datetime] = mapped_column(Timestamp)
    snapshot_requests: Mapped[int] = mapped_column(Integer, default=0)
    gaps: Mapped[int] = mapped_column(Integer, default=0)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)


class MemberLoginCode(Base):
    """A one-time code a member asked for on their page: stored hashed, single use, expiring,
    with a bounded number of wrong tries."""

    __tablename__ = "member_login_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(String(40), index=True)
    code_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(Timestamp)


class MemberSession(Base):
    """A member logged in on their page (cookie holds the token; only its hash is kept)."""

    __tablename__ = "member_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(40), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)


class StoreConfirmation(Base):
    """A store saying it applied a downlink version (gallery) or erasure seq: what the member
    page shows as "store X confirmed at T" after a withdrawal or an erasure."""

    __tablename__ = "store_confirmations"
    __table_args__ = (Index("ix_store_confirmations_resource_version", "resource", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    store_id: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(Timestamp)


class OnlineReservation(Base):
    """Reserve online, try in store: made by an online channel for a member."""

    __tablename__ = "reservations"
    __table_args__ = (Index("ix_reservations_store_status", "store_id", "status"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(40), index=True)
    store_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    """requested, ready, arrived, closed, cancelled"""
    window_start: Mapped[datetime] = mapped_column(Timestamp)
    window_end: Mapped[datetime] = mapped_column(Timestamp)
    checkin_code: Mapped[str] = mapped_column(String(8), unique=True)
    came: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class ReservationLine(Base):
    __tablename__ = "reservation_items"
    __table_args__ = (
        UniqueConstraint("reservation_id", "position", name="uq_reservation_items_position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reservation_id: Mapped[str] = mapped_column(ForeignKey("reservations.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    gtin: Mapped[str] = mapped_column(String(14))
    epc: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(20))


class ConsoleUser(Base):
    """A person who logs in to the console (machines keep bearer tokens)."""

    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    # argon2id, with its parameters and salt in the encoded string.
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    """admin, analyst or store_manager"""
    stores: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    """A store manager's stores; empty for the chain-wide roles."""
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    last_login_at: Mapped[datetime | None] = mapped_column(Timestamp)


class ConsoleSession(Base):
    """A console login: the cookie holds the token, only its hash is kept."""

    __tablename__ = "console_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)


class StorePickup(Base):
    """When a store first fetched a catalog or model version (a signed downlink request the
    store's edge made): the console's "picked up" column."""

    __tablename__ = "store_pickups"

    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource: Mapped[str] = mapped_column(String(20), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_at: Mapped[datetime] = mapped_column(Timestamp)


# --- rollups (cloud_sync/hq/rollups.py maintains them; docs/hq.md "Rollups" says why each is
# exact). Keys never hold NULL: '' stands for "no store" (chain-wide rows), "no GTIN", "no
# home store". Grain 'd' rows have a day (YYYY-MM-DD) as period, grain 'm' a month (YYYY-MM).


class StoreHourRollup(Base):
    """Per store, UTC day and hour: what the hourly report shows."""

    __tablename__ = "rollup_store_hour"

    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    visits: Mapped[int] = mapped_column(BigInteger, default=0)
    visitors: Mapped[int] = mapped_column(BigInteger, default=0)
    tryons: Mapped[int] = mapped_column(BigInteger, default=0)
    tries: Mapped[int] = mapped_column(BigInteger, default=0)
    """try-on outcomes: the row exists for an hour with outcomes only, as in the projection"""


class StoreDayRollup(Base):
    """Per store and UTC day: the overview page."""

    __tablename__ = "rollup_store_day"
    __table_args__ = (Index("ix_rollup_store_day_day", "day"),)

    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    visitors: Mapped[int] = mapped_column(BigInteger, default=0)
    visits: Mapped[int] = mapped_column(BigInteger, default=0)
    members: Mapped[int] = mapped_column(BigInteger, default=0)
    """distinct recognised members that day (rollup_member_day holds who, for exactness)"""
    tryons: Mapped[int] = mapped_column(BigInteger, default=0)
    tries: Mapped[int] = mapped_column(BigInteger, default=0)
    purchases: Mapped[int] = mapped_column(BigInteger, default=0)
    sales: Mapped[int] = mapped_column(BigInteger, default=0)
    returns: Mapped[int] = mapped_column(BigInteger, default=0)
    units: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue: Mapped[float] = mapped_column(Float, default=0.0)


class MemberDayRollup(Base):
    """Which members were recognised in a store on a day: makes ``members`` a distinct count
    under replays and late events. Rows of an erased member are deleted (counts stay)."""

    __tablename__ = "rollup_member_day"

    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(40), primary_key=True)


class ProductRollup(Base):
    """Per grain, store ('' = chain), period and GTIN: try-ons, outcomes and sales."""

    __tablename__ = "rollup_product"

    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    tryons: Mapped[int] = mapped_column(BigInteger, default=0)
    tries: Mapped[int] = mapped_column(BigInteger, default=0)
    purchases: Mapped[int] = mapped_column(BigInteger, default=0)
    units: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue: Mapped[float] = mapped_column(Float, default=0.0)


class CategoryRollup(Base):
    """As rollup_product, per category and size instead of GTIN (the product's catalog entry
    when the event was ingested; 'unknown' and '' if it had none): the products page's
    per-store and per-day figures under a category or size filter."""

    __tablename__ = "rollup_category"

    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    category: Mapped[str] = mapped_column(String(100), primary_key=True)
    size: Mapped[str] = mapped_column(String(20), primary_key=True)
    tryons: Mapped[int] = mapped_column(BigInteger, default=0)
    tries: Mapped[int] = mapped_column(BigInteger, default=0)
    purchases: Mapped[int] = mapped_column(BigInteger, default=0)
    units: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue: Mapped[float] = mapped_column(Float, default=0.0)


class RevenueRollup(Base):
    """Sales per grain, store, period and the buyer's home store ('' = none): the revenue
    share report. A member's home store change moves their amounts (rollups.move_home)."""

    __tablename__ = "rollup_revenue"

    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    home_store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    amount: Mapped[float] = mapped_column(Float, default=0.0)


class MemberRollup(Base):
    """Per member (as on the sale lines): RFM inputs. Deleted when the member is erased."""

    __tablename__ = "rollup_member"

    member_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_ts: Mapped[datetime] = mapped_column(Timestamp)
    frequency: Mapped[int] = mapped_column(BigInteger, default=0)
    monetary: Mapped[float] = mapped_column(Float, default=0.0)


class MemberSaleRollup(Base):
    """Which sales (positive lines) a member made: makes ``frequency`` a distinct count."""

    __tablename__ = "rollup_member_sale"

    member_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sale_id: Mapped[str] = mapped_column(String(100), primary_key=True)


class SegmentScore(Base):
    """Snapshot: each member's RFM scores and segment as of the last refresh."""

    __tablename__ = "segment_scores"
    __table_args__ = (Index("ix_segment_scores_segment", "segment", "home_store_id", "member_id"),)

    member_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    home_store_id: Mapped[str] = mapped_column(String(64))
    """'' for none: a store manager exports their home members"""
    r: Mapped[int] = mapped_column(Integer)
    f: Mapped[int] = mapped_column(Integer)
    m: Mapped[int] = mapped_column(Integer)
    segment: Mapped[str] = mapped_column(String(20))
    monetary: Mapped[float] = mapped_column(Float)


class SegmentCell(Base):
    """Snapshot: the RFM grid, members and revenue per members' home store and (r, f, m)
    cell, as of ``as_of``."""

    __tablename__ = "segment_cells"

    home_store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    r: Mapped[int] = mapped_column(Integer, primary_key=True)
    f: Mapped[int] = mapped_column(Integer, primary_key=True)
    m: Mapped[int] = mapped_column(Integer, primary_key=True)
    segment: Mapped[str] = mapped_column(String(20))
    members: Mapped[int] = mapped_column(BigInteger)
    revenue: Mapped[float] = mapped_column(Float)
    as_of: Mapped[datetime] = mapped_column(Timestamp)


class ProductChainDelta(Base):
    """Chain-wide (store '') additions to rollup_product not yet folded in: ingestion appends
    here instead of updating rows every store's uploads share (no lock waits between stores);
    the background fold moves them (rollups.fold_chain), and readers add what is pending."""

    __tablename__ = "rollup_product_pending"

    id: Mapped[int] = mapped_column(QueueId, primary_key=True, autoincrement=True)
    grain: Mapped[str] = mapped_column(String(1))
    store_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(10))
    gtin: Mapped[str] = mapped_column(String(14))
    tryons: Mapped[int] = mapped_column(BigInteger, default=0)
    tries: Mapped[int] = mapped_column(BigInteger, default=0)
    purchases: Mapped[int] = mapped_column(BigInteger, default=0)
    units: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue: Mapped[float] = mapped_column(Float, default=0.0)


class CategoryChainDelta(Base):
    """As rollup_product_pending, for rollup_category."""

    __tablename__ = "rollup_category_pending"

    id: Mapped[int] = mapped_column(QueueId, primary_key=True, autoincrement=True)
    grain: Mapped[str] = mapped_column(String(1))
    store_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(100))
    size: Mapped[str] = mapped_column(String(20))
    tryons: Mapped[int] = mapped_column(BigInteger, default=0)
    tries: Mapped[int] = mapped_column(BigInteger, default=0)
    purchases: Mapped[int] = mapped_column(BigInteger, default=0)
    units: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue: Mapped[float] = mapped_column(Float, default=0.0)


class RollupQueue(Base):
    """Events whose projected rows (activity, sale_lines) are not yet in the rollups:
    ingestion adds their ids, the pump (rollups.pump) deletes them in the transaction that
    adds the rows to the rollups, and readers pump first (rollups.catch_up)."""

    __tablename__ = "rollup_queue"

    event_id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
