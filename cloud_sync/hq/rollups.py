"""Rollups of the projections, maintained behind ingestion by a pump (docs/hq.md, "Rollups").

The reports read these instead of scanning ``activity`` and ``sale_lines``. Why they stay
exact:

- **Exactly-once input.** Ingestion projects only events its ``INSERT ... ON CONFLICT DO
  NOTHING`` newly stored, and queues their ids (:func:`enqueue`, ``rollup_queue``) in the same
  transaction: a duplicate, a replayed batch or a retry after a lost answer queues nothing,
  a rolled-back batch queues nothing. :func:`pump` deletes queued ids and adds their projected
  rows (:func:`add`) in one transaction, so each event is added exactly once, whatever the
  order in which ingesting transactions commit. (Not a high-water mark on ids: a lower id can
  commit after a higher one.)
- **Readers see everything committed.** The rollups lag ingestion by up to one background
  pass (about a second), so every reader calls :func:`catch_up` first: if anything is queued
  it pumps (waiting for a pump in progress) and the reader then reads rollups that hold every
  event committed before it. Folding the tail in, rather than adding it to each query, keeps
  one code path for the distinct counts below. Ingestion no longer touches a rollup row, so
  stores never wait on each other; pumps take turns (an advisory lock), so they upsert the
  chain-wide rows directly, in key order.
- **Additive, keyed by event time.** Every counter is a sum over rows keyed by the event's own
  UTC day (and hour, month, GTIN, store): a late event adds to its own day whatever arrives in
  between, and ``INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n`` is commutative.
- **Distinct counts keep their set.** Recognised members per store-day and a member's number
  of purchases are distinct counts, not sums: ``rollup_member_day`` and
  ``rollup_member_sale`` hold the pairs, and a counter grows only by the pairs that
  ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` actually inserted.
- **State that is not an event.** The revenue share depends on the buyer's current home store:
  :func:`move_home` moves a member's rolled-up amounts when it changes (queued lines are
  pumped afterwards, with the new home). Erasing a member (:func:`forget_member`) deletes
  every row that names them, and the pump does not write an erased member's id again (the
  queued tail); aggregate counts, which name nobody, stay (as the sale lines themselves stay,
  for accounting). Both hold the pump lock, so no pump runs with the state of before.
- **Checked.** :func:`recompute` gives, for each rollup table, the SELECT that derives it from
  the projections; tests compare every row, with events queued and after pumps, and
  :func:`rebuild` (the migration's backfill and the benchmark's bulk load) is nothing but
  those SELECTs.

The RFM segments are a ranking of all members as of a moment, not a sum, so they are a
snapshot (:func:`refresh_segments`) of ``rollup_member``, refreshed in the background.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Select,
    Subquery,
    Table,
    Text,
    TextClause,
    and_,
    any_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from cloud_sync.hq.core.db import insert_for
from cloud_sync.hq.models import (
    Activity,
    CategoryChainDelta,
    CategoryRollup,
    Member,
    MemberDayRollup,
    MemberRollup,
    MemberSaleRollup,
    Product,
    ProductChainDelta,
    ProductRollup,
    RevenueRollup,
    RollupQueue,
    SaleLine,
    SegmentCell,
    SegmentScore,
    StoreDayRollup,
    StoreHourRollup,
    table,
)

STORE_HOUR = table(StoreHourRollup)
STORE_DAY = table(StoreDayRollup)
MEMBER_DAY = table(MemberDayRollup)
PRODUCT = table(ProductRollup)
CATEGORY = table(CategoryRollup)
PENDING: dict[str, Table] = {
    PRODUCT.name: table(ProductChainDelta),
    CATEGORY.name: table(CategoryChainDelta),
}
"""The chain-wide additions of a rollup waiting to be folded into its store '' rows."""
REVENUE = table(RevenueRollup)
MEMBER = table(MemberRollup)
MEMBER_SALE = table(MemberSaleRollup)
QUEUE = table(RollupQueue)
SEGMENT_SCORES = table(SegmentScore)
SEGMENT_CELLS = table(SegmentCell)

STORE_DAY_MEASURES = (
    "visitors",
    "visits",
    "members",
    "tryons",
    "tries",
    "purchases",
    "sales",
    "returns",
    "units",
    "revenue",
)
"""The measures of rollup_store_day, in order."""

DAY, MONTH = "d", "m"
CHAIN = ""
"""store_id of chain-wide rows (also: no GTIN, no home store)."""

ROLLUPS: tuple[Table, ...] = (
    STORE_HOUR,
    STORE_DAY,
    MEMBER_DAY,
    PRODUCT,
    CATEGORY,
    REVENUE,
    MEMBER,
    MEMBER_SALE,
)

TABLES: dict[str, Table] = {t.name: t for t in (*ROLLUPS, *PENDING.values())}

_CHUNK_ROWS = 1000
"""Rows per upsert statement: stays far below PostgreSQL's 65,535 parameters."""
_IN_VALUES = 10_000
"""Values per IN list of a lookup: below PostgreSQL's 65,535 and SQLite's 32,766 parameters."""


def _key(row: dict[str, Any], columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row[c] for c in columns)


class _Sums:
    """Per-key additive deltas for one rollup table, collected in Python, written once."""

    def __init__(self, target: Table) -> None:
        self.target = target
        self.keys = [c.name for c in target.primary_key.columns]
        self.rows: dict[tuple[Any, ...], dict[str, Any]] = {}

    def add(self, key: tuple[Any, ...], **deltas: float) -> None:
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = dict(zip(self.keys, key, strict=True))
            for column in self.target.columns:
                if column.name not in row:
                    row[column.name] = 0
        for name, delta in deltas.items():
            row[name] += delta

    def sorted_rows(self) -> list[dict[str, Any]]:
        return [self.rows[k] for k in sorted(self.rows)]

    def write(self, session: Session) -> None:
        if self.rows:
            _upsert_add(session, self.target, self.sorted_rows())


# --- the queue and the pump -----------------------------------------------------------------

PUMP_LOCK = 0x0016_9B7E
"""Advisory lock id: one pump (or home-store move, or erasure) at a time across workers."""
PUMP_BATCH = 20_000
"""Most queued events one pump transaction takes (about a second of a chain's uploads)."""

_PG_ENQUEUE = text(f"INSERT INTO {QUEUE.name} (event_id) SELECT unnest(CAST(:ids AS uuid[]))")


def enqueue(session: Session, event_ids: Iterable[str]) -> None:
    """Ingestion: the events whose projected rows the rollups do not hold yet (one short
    INSERT per batch, in the ingesting transaction: it commits or rolls back with them)."""
    ids = sorted(set(event_ids))
    if not ids:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_PG_ENQUEUE, {"ids": ids})
    else:
        session.execute(insert(QUEUE), [{"event_id": i} for i in ids])


def _lock(session: Session, *, wait: bool) -> bool:
    """Take the pump lock for this transaction (False: ``wait`` is off and someone has it).
    SQLite needs none: it lets one writer at a time in."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    if wait:
        session.execute(select(func.pg_advisory_xact_lock(PUMP_LOCK, _schema_key())))
        return True
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(PUMP_LOCK, _schema_key()))))


def _schema_key() -> Any:
    """Advisory locks belong to the whole database: keyed by schema too, two HQs in one
    database (a staging schema beside production, the tests' private schemas) never wait
    on each other's pumps."""
    return func.hashtext(func.current_schema())


def _in(session: Session, column: ColumnElement[Any], values: Iterable[Any]) -> list[Any]:
    """``column IN values`` as few conditions as the dialect takes: PostgreSQL one array
    parameter (a pump's 5,000-value IN list cost more to send than the lookup itself),
    SQLite chunks below its parameter limit."""
    ordered = sorted(set(values))
    if not ordered:
        return []
    if session.get_bind().dialect.name == "postgresql":
        array = bindparam(None, ordered, type_=postgresql.ARRAY(Text))
        return [column == any_(cast(array, postgresql.ARRAY(column.type)))]
    return [
        column.in_(ordered[start : start + _IN_VALUES])
        for start in range(0, len(ordered), _IN_VALUES)
    ]


def pump(session: Session, *, wait: bool = False, limit: int | None = None) -> int | None:
    """Adds up to ``limit`` queued events' projected rows to the rollups and deletes them
    from the queue, in one transaction (committed here): a reader sees a queued event either
    in the queue or in the rollups, never both or neither. Returns how many events were
    pumped (``limit``: call again, more may be queued), or None when another pump holds the
    lock and ``wait`` is off (the background loop's case). The limit bounds one transaction
    after a backlog (an HQ that was down while stores kept uploading to another worker);
    None: :data:`PUMP_BATCH`.

    Why a queue and not a high-water mark on ids: ingesting transactions commit out of order,
    so an id below the mark may become visible after the mark passed it; a queue row is
    deleted, so added, exactly once whenever it commits. The lock makes pumps take turns, so
    they add to the chain-wide rows directly and never wait on each other's row locks."""
    if not _lock(session, wait=wait):
        session.rollback()
        return None
    batch = select(QUEUE.c.event_id).limit(limit or PUMP_BATCH).scalar_subquery()
    taken = delete(QUEUE).where(QUEUE.c.event_id.in_(batch)).returning(QUEUE.c.event_id)
    ids = [str(i) for i in session.scalars(taken)]
    if ids:
        act = select(ACT).where(or_(*_in(session, ACT.c.event_id, ids))).subquery("pumped")
        lines = select(LINES).where(or_(*_in(session, LINES.c.event_id, ids))).subquery("lines")
        add(session, act, lines)
    session.commit()
    return len(ids)


def catch_up(session: Session) -> None:
    """Readers call this first: whatever ingestion committed is in the rollups when it
    returns (it pumps, waiting for a running pump, if anything is queued; again while a
    pump took a whole batch)."""
    if session.scalar(select(QUEUE.c.event_id).limit(1)) is not None:
        while pump(session, wait=True) == PUMP_BATCH:
            pass


def fold_chain(session: Session) -> int:
    """Chain-wide rows (store '') are shared by every store's uploads: updating them while
    ingesting made the stores wait for each other's commits, so ingestion appended to the
    pending tables and this folds them in the background; readers add what is still pending
    (:func:`sliced`). Since the rollups left the ingesting transaction (:func:`pump`), only
    rows appended before that upgrade can be pending.

    Moves every pending chain-wide addition into its rollup row, in one transaction (a
    reader sees either the pending rows or their sum, never both or neither); returns how
    many were folded. Safe with several workers: each pending row is deleted, so added,
    by exactly one of them."""
    folded = 0
    for name, pending in PENDING.items():
        target = PRODUCT if name == PRODUCT.name else CATEGORY
        sums = _Sums(target)
        measures = [c.name for c in target.columns if c.name not in sums.keys]
        taken = session.execute(
            delete(pending).returning(*(pending.c[k] for k in [*sums.keys, *measures]))
        ).all()
        width = len(sums.keys)
        for row in taken:
            sums.add(tuple(row[:width]), **dict(zip(measures, row[width:], strict=True)))
        sums.write(session)
        folded += len(taken)
    session.commit()
    return folded


def _pg_upsert_sql(target: Table, param: str, *, add: bool = True) -> str:
    """PostgreSQL: rows given as one JSON parameter; ``add``: ON CONFLICT adds every measure
    (a pending table, keyed by a serial, is appended to instead). A multi-row VALUES of
    SQLAlchemy would be compiled anew for every batch size, which cost the ingestion hot path
    two thirds of its throughput."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it untyped
    columns = [c for c in target.columns if not (c.primary_key and c.autoincrement is True)]
    keys = [c.name for c in target.primary_key.columns]
    names = ", ".join(c.name for c in columns)
    types = ", ".join(f"{c.name} {c.type.compile(dialect=dialect)}" for c in columns)
    sql = (
        f"INSERT INTO {target.name} ({names}) SELECT {names} "
        f"FROM jsonb_to_recordset(CAST(:{param} AS jsonb)) AS r({types})"
    )
    if not add:
        return sql
    updates = ", ".join(
        f"{c.name} = GREATEST({target.name}.{c.name}, excluded.{c.name})"
        if c.name == "last_ts"
        else f"{c.name} = {target.name}.{c.name} + excluded.{c.name}"
        for c in columns
        if c.name not in keys
    )
    return (
        f"{sql} ORDER BY {', '.join(keys)} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    )


@functools.cache
def _pg_upsert_add(target: Table) -> TextClause:
    return text(_pg_upsert_sql(target, "rows"))


@functools.cache
def _pg_write_all(shape: tuple[tuple[str, bool], ...]) -> TextClause:
    """Every rollup write of one batch as one statement (data-modifying CTEs, one per table,
    in a fixed order): one round trip to the database instead of eight."""
    ctes = ", ".join(
        f"w{i} AS ({_pg_upsert_sql(TABLES[name], f'rows{i}', add=add)})"
        for i, (name, add) in enumerate(shape)
    )
    return text(f"WITH {ctes} SELECT 1")


def _write_all(session: Session, parts: Sequence[tuple[Table, list[dict[str, Any]], bool]]) -> None:
    """Upserts that add (``True``) or appends (``False``) of one batch, in order."""
    parts = [p for p in parts if p[1]]
    if not parts:
        return
    if session.get_bind().dialect.name != "postgresql":
        for target, rows, add in parts:
            if add:
                _upsert_add(session, target, rows)
            else:
                session.execute(insert(target), rows)
        return
    shape = tuple((target.name, add) for target, _rows, add in parts)
    params = {f"rows{i}": orjson.dumps(rows).decode() for i, (_t, rows, _a) in enumerate(parts)}
    session.execute(_pg_write_all(shape), params)


def _upsert_add(session: Session, target: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE adding every non-key column (rows in key order)."""
    keys = [c.name for c in target.primary_key.columns]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(_pg_upsert_add(target), {"rows": orjson.dumps(rows).decode()})
        return
    for start in range(0, len(rows), _CHUNK_ROWS):
        stmt = insert_for(dialect, target).values(rows[start : start + _CHUNK_ROWS])
        excluded = stmt.excluded
        updates: dict[str, Any] = {}
        for column in target.columns:
            if column.name in keys:
                continue
            if column.name == "last_ts":
                updates[column.name] = case(
                    (excluded.last_ts > column, excluded.last_ts), else_=column
                )
            else:
                updates[column.name] = column + excluded[column.name]
        session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=updates))


def _insert_new(session: Session, target: Table, rows: Iterable[tuple[Any, ...]]) -> list[Any]:
    """Insert the key tuples not yet present; the ones actually inserted."""
    keys = [c.name for c in target.primary_key.columns]
    ordered = sorted(set(rows))
    dialect = session.get_bind().dialect.name
    inserted: list[Any] = []
    for start in range(0, len(ordered), _CHUNK_ROWS):
        chunk = [dict(zip(keys, r, strict=True)) for r in ordered[start : start + _CHUNK_ROWS]]
        stmt = (
            insert_for(dialect, target)
            .values(chunk)
            .on_conflict_do_nothing(index_elements=keys)
            .returning(*target.primary_key.columns)
        )
        inserted.extend(session.execute(stmt).all())
    return inserted


def _levels(store_id: str, day: str) -> tuple[tuple[str, str, str], ...]:
    """The (grain, store, period) rows one event adds to: its store and the chain, by day
    and by month."""
    month = day[:7]
    return (
        (DAY, store_id, day),
        (MONTH, store_id, month),
        (DAY, CHAIN, day),
        (MONTH, CHAIN, month),
    )


def add(session: Session, act: FromClause, lines: FromClause) -> None:
    """Add the pumped events' projected rows (``act``, ``lines``: those rows of activity and
    sale_lines) to every rollup. The sums are the recomputation's own SELECTs over just those
    rows, upserted in the database (``n = n + excluded.n``); only what names a member comes
    to Python: the distinct counts and the member rollup. Erased members' ids are not
    written again (a sale or visit in flight, or queued, when they were erased); their
    amounts and counts are."""
    for target, rows in (
        (STORE_HOUR, _store_hour(act)),
        (STORE_DAY, _store_day(act, lines, members=False)),
        (PRODUCT, _products(act=act, lines=lines)),
        (CATEGORY, _categories(_products(act=act, lines=lines))),
        (REVENUE, _revenue(lines=lines)),
    ):
        _upsert_select(session, target, rows)
    seen = session.execute(
        select(act.c.store_id, act.c.day, act.c.member_id)
        .where(act.c.kind == "visit", act.c.member_id.is_not(None))
        .distinct()
    ).all()
    bought = session.execute(
        select(lines.c.member_id, lines.c.ts, lines.c.amount, lines.c.sale_id).where(
            lines.c.member_id.is_not(None)
        )
    ).all()
    erased = _erased(session, {m for *_, m in seen} | {m for m, *_ in bought})
    days, members = _Sums(STORE_DAY), _Sums(MEMBER)
    bought_sales: list[tuple[str, str]] = []
    for member, ts, amount, sale_id in bought:
        if member in erased:
            continue
        members.add((member,), monetary=amount)
        row = members.rows[(member,)]
        row["last_ts"] = max(ts, row["last_ts"] or ts)
        if amount > 0:
            bought_sales.append((member, sale_id))
    # Distinct counts: only pairs not seen before count.
    pairs = [(store, day, member) for store, day, member in seen]
    for store, day, _member in _insert_new(
        session, MEMBER_DAY, [p for p in pairs if p[2] not in erased]
    ):
        days.add((store, day), members=1)
    for store, day in _first_visits_of_erased(session, {p for p in pairs if p[2] in erased}, act):
        days.add((store, day), members=1)
    for member, _sale in _insert_new(session, MEMBER_SALE, bought_sales):
        members.add((member,), frequency=1)
    _write_all(session, [(s.target, s.sorted_rows(), True) for s in (days, members)])


def _upsert_select(session: Session, target: Table, rows: Select[Any]) -> None:
    """INSERT ... SELECT ... ON CONFLICT DO UPDATE adding every measure (``rows``: one row
    per key, columns in the table's order)."""
    keys = [c.name for c in target.primary_key.columns]
    source = rows.subquery()
    # WHERE true: SQLite would otherwise read ON CONFLICT as a join's ON.
    stmt = insert_for(session.get_bind().dialect.name, target).from_select(
        [c.name for c in target.columns], select(source).where(true())
    )
    added = {c.name: c + stmt.excluded[c.name] for c in target.columns if c.name not in keys}
    session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=added))


UNKNOWN = ("unknown", "")
"""(category, size) of a GTIN missing from the catalog (or of no GTIN)."""


def _first_visits_of_erased(
    session: Session, pairs: set[tuple[str, str, str]], pumped: FromClause
) -> list[tuple[str, str]]:
    """The (store, day) of each erased member's visit pair that no visit already rolled up
    names: their pairs are no longer kept, so the visits themselves tell (pumps take turns,
    so every visit outside this pump and outside the queue is already rolled up)."""
    counted: set[tuple[str, str, str]] = set()
    for condition in _in(session, ACT.c.member_id, (m for _, _, m in pairs)):
        counted.update(
            (store, day, member)
            for store, day, member in session.execute(
                select(ACT.c.store_id, ACT.c.day, ACT.c.member_id).where(
                    ACT.c.kind == "visit",
                    condition,
                    ACT.c.event_id.not_in(select(QUEUE.c.event_id)),
                    ACT.c.event_id.not_in(select(pumped.c.event_id)),
                )
            )
        )
    return [(store, day) for store, day, member in sorted(pairs - counted)]


def _erased(session: Session, member_ids: set[str]) -> set[str]:
    erased: set[str] = set()
    for condition in _in(session, MEMBERS.c.id, member_ids):
        erased.update(
            session.scalars(select(MEMBERS.c.id).where(condition, MEMBERS.c.erased_at.is_not(None)))
        )
    return erased


def move_home(session: Session, *, member_id: str, old: str | None, new: str | None) -> None:
    """A member's home store changed: their sales now count toward the new home's share.
    Only the rolled-up lines move: under the pump lock, the queued ones are pumped after this
    transaction commits, so with the new home."""
    if (old or CHAIN) == (new or CHAIN):
        return
    _lock(session, wait=True)
    moved = _Sums(REVENUE)
    found = session.execute(
        select(SaleLine.store_id, SaleLine.day, func.sum(SaleLine.amount))
        .where(SaleLine.member_id == member_id, SaleLine.event_id.not_in(select(QUEUE.c.event_id)))
        .group_by(SaleLine.store_id, SaleLine.day)
    )
    for store, day, amount in found:
        for grain, _, period in _levels(store, day)[:2]:
            moved.add((grain, store, period, old or CHAIN), amount=-float(amount or 0))
            moved.add((grain, store, period, new or CHAIN), amount=float(amount or 0))
    moved.write(session)


def forget_member(session: Session, *, member_id: str) -> None:
    """Erasure: delete every rollup row that names the member (counts stay). Under the pump
    lock, so a pump that read the member as not erased has committed; the queued rows are
    pumped after this commits and :func:`add` no longer writes the id."""
    _lock(session, wait=True)
    for target in (MEMBER_DAY, MEMBER, MEMBER_SALE, SEGMENT_SCORES):
        session.execute(delete(target).where(target.c.member_id == member_id))


# --- recomputation from the projections -----------------------------------------------------

ACT = table(Activity)
LINES = table(SaleLine)
MEMBERS = table(Member)


def _count(condition: ColumnElement[bool], value: Any = 1) -> Any:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def _not_erased(member_col: ColumnElement[Any]) -> ColumnElement[bool]:
    erased = select(MEMBERS.c.id).where(MEMBERS.c.erased_at.is_not(None))
    return member_col.not_in(erased.scalar_subquery())


def _period(grain: str, day: Any) -> Any:
    return day if grain == DAY else func.substr(day, 1, 7)


def _product_level(grain: str, chain: bool, act: FromClause, lines: FromClause) -> Select[Any]:
    store = literal(CHAIN) if chain else act.c.store_id
    period = _period(grain, act.c.day)
    gtin = func.coalesce(act.c.gtin, CHAIN)
    tryon_rows = select(
        literal(grain).label("grain"),
        store.label("store_id"),
        period.label("period"),
        gtin.label("gtin"),
        _count(act.c.kind == "tryon", act.c.quantity).label("tryons"),
        _count(act.c.kind == "tryon_outcome").label("tries"),
        _count(and_(act.c.kind == "tryon_outcome", act.c.outcome == "purchased")).label(
            "purchases"
        ),
        literal(0).label("units"),
        literal(0.0).label("revenue"),
    ).where(act.c.kind.in_(("tryon", "tryon_outcome")))
    tryon_rows = tryon_rows.group_by(store, period, gtin)
    lstore = literal(CHAIN) if chain else lines.c.store_id
    lperiod = _period(grain, lines.c.day)
    lgtin = func.coalesce(lines.c.gtin, CHAIN)
    sale_rows = select(
        literal(grain),
        lstore,
        lperiod,
        lgtin,
        literal(0),
        literal(0),
        literal(0),
        func.sum(lines.c.quantity),
        func.sum(lines.c.amount),
    ).group_by(lstore, lperiod, lgtin)
    return union_all(tryon_rows, sale_rows).subquery().select()


ALL_LEVELS = ((DAY, False), (MONTH, False), (DAY, True), (MONTH, True))


def _products(
    levels: Sequence[tuple[str, bool]] = ALL_LEVELS,
    act: FromClause = ACT,
    lines: FromClause = LINES,
) -> Select[Any]:
    """``act``, ``lines``: the projections, or the pumped events' rows of them."""
    both = union_all(
        *(_product_level(grain, chain, act, lines) for grain, chain in levels)
    ).subquery()
    c = both.c
    return select(
        c.grain,
        c.store_id,
        c.period,
        c.gtin,
        *(func.sum(getattr(c, n)).label(n) for n in ("tryons", "tries", "purchases", "units")),
        func.sum(c.revenue).label("revenue"),
    ).group_by(c.grain, c.store_id, c.period, c.gtin)


PRODUCTS = table(Product)


def _categories(products: Select[Any]) -> Select[Any]:
    """Category rows from product rows (GTIN-keyed) joined to the catalog."""
    rows = products.subquery()
    c = rows.c
    category = func.coalesce(PRODUCTS.c.category, UNKNOWN[0])
    size = func.coalesce(PRODUCTS.c.size, UNKNOWN[1])
    return (
        select(
            c.grain,
            c.store_id,
            c.period,
            category,
            size,
            *(func.sum(getattr(c, name)) for name in ("tryons", "tries", "purchases", "units")),
            func.sum(c.revenue),
        )
        .select_from(rows.outerjoin(PRODUCTS, PRODUCTS.c.gtin == c.gtin))
        .group_by(c.grain, c.store_id, c.period, category, size)
    )


def _coarser(target: Table, grain: str, chain: bool) -> Select[Any]:
    """Rows of a coarser level summed from the store-by-day rows already in ``target``."""
    c = target.c
    store = literal(CHAIN) if chain else c.store_id
    period = _period(grain, c.period)
    other = [col for col in c if col.name not in ("grain", "store_id", "period")]
    keys = [col for col in other if col.primary_key]
    return (
        select(
            literal(grain),
            store,
            period,
            *keys,
            *(func.sum(col) for col in other if not col.primary_key),
        )
        .where(c.grain == DAY, c.store_id != CHAIN)
        .group_by(store, period, *keys)
    )


def _store_day(
    act: FromClause = ACT, lines: FromClause = LINES, *, members: bool = True
) -> Select[Any]:
    """``members``: the distinct count (the pump adds it from rollup_member_day instead)."""
    activity = select(
        act.c.store_id,
        act.c.day,
        _count(act.c.kind == "visitors", act.c.quantity).label("visitors"),
        _count(act.c.kind == "visit", act.c.quantity).label("visits"),
        (
            func.count(func.distinct(case((act.c.kind == "visit", act.c.member_id), else_=None)))
            if members
            else literal(0)
        ).label("members"),
        _count(act.c.kind == "tryon", act.c.quantity).label("tryons"),
        _count(act.c.kind == "tryon_outcome").label("tries"),
        _count(and_(act.c.kind == "tryon_outcome", act.c.outcome == "purchased")).label(
            "purchases"
        ),
        literal(0).label("sales"),
        literal(0).label("returns"),
        literal(0).label("units"),
        literal(0.0).label("revenue"),
    ).group_by(act.c.store_id, act.c.day)
    sales = select(
        lines.c.store_id,
        lines.c.day,
        literal(0),
        literal(0),
        literal(0),
        literal(0),
        literal(0),
        literal(0),
        func.count(func.distinct(case((lines.c.quantity > 0, lines.c.event_id), else_=None))),
        func.count(func.distinct(case((lines.c.quantity < 0, lines.c.event_id), else_=None))),
        func.sum(lines.c.quantity),
        func.sum(lines.c.amount),
    ).group_by(lines.c.store_id, lines.c.day)
    both = union_all(activity, sales).subquery()
    c = both.c
    return select(
        c.store_id,
        c.day,
        *(func.sum(getattr(c, name)) for name in STORE_DAY_MEASURES),
    ).group_by(c.store_id, c.day)


def _store_hour(act: FromClause = ACT) -> Select[Any]:
    return select(
        act.c.store_id,
        act.c.day,
        act.c.hour,
        _count(act.c.kind == "visit", act.c.quantity),
        _count(act.c.kind == "visitors", act.c.quantity),
        _count(act.c.kind == "tryon", act.c.quantity),
        _count(act.c.kind == "tryon_outcome"),
    ).group_by(act.c.store_id, act.c.day, act.c.hour)


def _revenue(grains: Sequence[str] = (DAY, MONTH), lines: FromClause = LINES) -> Select[Any]:
    home = func.coalesce(MEMBERS.c.home_store_id, CHAIN)
    levels = []
    for grain in grains:
        period = _period(grain, lines.c.day)
        levels.append(
            select(
                literal(grain).label("grain"),
                lines.c.store_id,
                period.label("period"),
                home.label("home_store_id"),
                func.sum(lines.c.amount).label("amount"),
            )
            .select_from(lines.outerjoin(MEMBERS, MEMBERS.c.id == lines.c.member_id))
            .group_by(lines.c.store_id, period, home)
        )
    return union_all(*levels).subquery().select()


def _member() -> Select[Any]:
    sales = func.count(func.distinct(case((LINES.c.amount > 0, LINES.c.sale_id), else_=None)))
    return (
        select(LINES.c.member_id, func.max(LINES.c.ts), sales, func.sum(LINES.c.amount))
        .where(LINES.c.member_id.is_not(None), _not_erased(LINES.c.member_id))
        .group_by(LINES.c.member_id)
    )


def _member_sale() -> Select[Any]:
    return (
        select(LINES.c.member_id, LINES.c.sale_id)
        .where(LINES.c.member_id.is_not(None), LINES.c.amount > 0, _not_erased(LINES.c.member_id))
        .distinct()
    )


def _member_day() -> Select[Any]:
    return (
        select(ACT.c.store_id, ACT.c.day, ACT.c.member_id)
        .where(ACT.c.kind == "visit", ACT.c.member_id.is_not(None), _not_erased(ACT.c.member_id))
        .distinct()
    )


def recompute(target: Table) -> Select[Any]:
    """The rollup's rows derived from the projections, columns in the table's order."""
    builders = {
        STORE_HOUR.name: _store_hour,
        STORE_DAY.name: _store_day,
        MEMBER_DAY.name: _member_day,
        PRODUCT.name: _products,
        CATEGORY.name: lambda: _categories(_products()),
        REVENUE.name: _revenue,
        MEMBER.name: _member,
        MEMBER_SALE.name: _member_sale,
    }
    return builders[target.name]()


def rebuild(conn: Connection | Session, *, pending: bool = True) -> None:
    """Every rollup from scratch, in bulk (the migration's backfill, the benchmark's load).
    The product and revenue rollups' coarser levels are summed from their store-by-day rows,
    a tenth of the projections' size, instead of scanning the projections four times."""
    if pending:  # the rebuild counts the queued events too
        conn.execute(delete(QUEUE))
    for target in ROLLUPS:
        rebuild_one(conn, target, pending=pending)


def rebuild_one(conn: Connection | Session, target: Table, *, pending: bool = True) -> None:
    """One rollup table from scratch (see :func:`rebuild`); ``pending``: the chain-wide
    pending tables exist (not yet in the migration that first builds the rollups)."""
    conn.execute(delete(target))
    if pending and target.name in PENDING:  # the rebuild counts what they would add
        conn.execute(delete(PENDING[target.name]))
    names = [c.name for c in target.columns]
    if target is PRODUCT:
        conn.execute(insert(target).from_select(names, _products([(DAY, False)])))
        for grain, chain in ((MONTH, False), (DAY, True), (MONTH, True)):
            conn.execute(insert(target).from_select(names, _coarser(target, grain, chain)))
    elif target is CATEGORY:
        day_rows = select(PRODUCT).where(PRODUCT.c.grain == DAY, PRODUCT.c.store_id != CHAIN)
        conn.execute(insert(target).from_select(names, _categories(day_rows)))
        for grain, chain in ((MONTH, False), (DAY, True), (MONTH, True)):
            conn.execute(insert(target).from_select(names, _coarser(target, grain, chain)))
    elif target is REVENUE:
        conn.execute(insert(target).from_select(names, _revenue([DAY])))
        conn.execute(insert(target).from_select(names, _coarser(target, MONTH, False)))
    else:
        conn.execute(insert(target).from_select(names, recompute(target)))


# --- RFM segments: a snapshot ---------------------------------------------------------------


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


SEGMENTS_LOCK = 0x0016_5E67
"""Advisory lock id: one refresh at a time across every HQ worker."""


def refresh_segments(session: Session, *, as_of: datetime) -> int | None:
    """Score every member in ``rollup_member`` 1..5 on recency, frequency and monetary by rank
    (as reports.rfm does), store each member's segment and the grid; returns the members
    scored, or None when another worker holds the refresh.
    One transaction: readers see the old snapshot or the new one, never half."""
    catch_up(session)
    if session.get_bind().dialect.name == "postgresql" and not session.scalar(
        select(func.pg_try_advisory_xact_lock(SEGMENTS_LOCK, _schema_key()))
    ):
        return None  # another worker is refreshing right now
    n = session.scalar(select(func.count()).select_from(MEMBER)) or 0
    session.execute(delete(SEGMENT_SCORES))
    session.execute(delete(SEGMENT_CELLS))
    if n:
        # rank() - 1 is the number of members strictly below: reports._quintile_scores.
        last = case((MEMBER.c.last_ts > as_of, as_of), else_=MEMBER.c.last_ts)

        def score(order: Any) -> Any:
            quintile = (5 * (func.rank().over(order_by=order) - 1)) // n
            return 1 + case((quintile > 4, 4), else_=quintile)  # SQLite has no least()

        ranked = (
            select(
                MEMBER.c.member_id,
                func.coalesce(MEMBERS.c.home_store_id, CHAIN).label("home_store_id"),
                score(last).label("r"),
                score(MEMBER.c.frequency).label("f"),
                score(MEMBER.c.monetary).label("m"),
                MEMBER.c.monetary,
            )
            .select_from(MEMBER.outerjoin(MEMBERS, MEMBERS.c.id == MEMBER.c.member_id))
            .subquery()
        )
        code = ranked.c.r * 100 + ranked.c.f * 10 + ranked.c.m
        names = {
            r * 100 + f * 10 + m: segment(r, f, m)
            for r in range(1, 6)
            for f in range(1, 6)
            for m in range(1, 6)
        }
        session.execute(
            insert(SEGMENT_SCORES).from_select(
                ["member_id", "home_store_id", "r", "f", "m", "segment", "monetary"],
                select(
                    ranked.c.member_id,
                    ranked.c.home_store_id,
                    ranked.c.r,
                    ranked.c.f,
                    ranked.c.m,
                    case(names, value=code),
                    ranked.c.monetary,
                ),
            )
        )
        s = SEGMENT_SCORES.c
        session.execute(
            insert(SEGMENT_CELLS).from_select(
                ["home_store_id", "r", "f", "m", "segment", "members", "revenue", "as_of"],
                select(
                    s.home_store_id,
                    s.r,
                    s.f,
                    s.m,
                    func.min(s.segment),
                    func.count(),
                    func.sum(s.monetary),
                    literal(as_of, SEGMENT_CELLS.c.as_of.type),
                ).group_by(s.home_store_id, s.r, s.f, s.m),
            )
        )
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        # Every row was replaced: fresh statistics, or the planner keeps the old snapshot's
        # (a store manager's export read 1 s instead of 1 ms before autovacuum came by).
        session.execute(text(f"ANALYZE {SEGMENT_SCORES.name}, {SEGMENT_CELLS.name}"))
        session.commit()
    return int(n)


class Slice(NamedTuple):
    grain: str
    first: str | None
    last: str | None
    """Periods first..last inclusive (None: unbounded) of the rows of one grain."""


FIRST_DAY, LAST_DAY = date(1, 2, 1), date(9999, 11, 30)


def period_slices(day_from: date | None, day_to: date | None) -> list[Slice]:
    """A day range as slices of rollup rows: whole months from the monthly rows, the ragged
    ends from the daily rows, so a year's query reads 12 rows per key instead of 365."""
    if day_from is None and day_to is None:
        return [Slice(MONTH, None, None)]
    # Month arithmetic below must not pass the last date Python has (a filter may ask for
    # 9999-12-31); no data lies that far, so the clamp changes no answer.
    day_from = None if day_from is None else min(max(day_from, FIRST_DAY), LAST_DAY)
    day_to = None if day_to is None else min(max(day_to, FIRST_DAY), LAST_DAY)
    first_full = day_from if day_from is None or day_from.day == 1 else _next_month(day_from)
    end = None if day_to is None else day_to + timedelta(days=1)
    last_full_end = end if end is None or end.day == 1 else end.replace(day=1)
    if first_full is not None and last_full_end is not None and first_full >= last_full_end:
        return [Slice(DAY, _iso(day_from), _iso(day_to))]
    slices = []
    if day_from is not None and first_full is not None and first_full != day_from:
        slices.append(Slice(DAY, day_from.isoformat(), _iso(first_full - timedelta(days=1))))
    months_to = None if last_full_end is None else (last_full_end - timedelta(days=1))
    slices.append(Slice(MONTH, _month(first_full), _month(months_to)))
    if day_to is not None and last_full_end != end:
        slices.append(Slice(DAY, _iso(last_full_end), day_to.isoformat()))
    return slices


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def _month(d: date | None) -> str | None:
    return None if d is None else d.isoformat()[:7]


def _next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def sliced(target: Table, slices: Sequence[Slice], stores: Sequence[str]) -> Subquery:
    """The rows of ``stores`` ('' = chain-wide) in the slices of a grain/store/period-keyed
    rollup, as one UNION ALL arm per slice: each arm is one range of the primary key (which
    INCLUDEs the measures), so PostgreSQL reads it by an index-only scan; an OR of the arms
    would make it fetch every row from the heap."""
    sources = [target]
    if CHAIN in stores and target.name in PENDING:
        sources.append(PENDING[target.name])  # chain-wide additions not yet folded
    arms = []
    for source in sources:
        c = source.c
        for piece in slices:
            arm = select(*(c[col.name] for col in target.columns)).where(
                c.grain == piece.grain, c.store_id.in_(sorted(stores))
            )
            if piece.first is not None:
                arm = arm.where(c.period >= piece.first)
            if piece.last is not None:
                arm = arm.where(c.period <= piece.last)
            arms.append(arm)
    return union_all(*arms).subquery() if len(arms) > 1 else arms[0].subquery()
