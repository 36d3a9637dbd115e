"""Rollups pumped behind ingestion equal a recomputation from the projections, after a
realistic mixed upload: several stores, a month boundary, late batches, duplicates inside a
batch, whole batches replayed, returns, try-ons without a GTIN, then a home-store change, a
merge and an erasure while part of the upload is still queued (not yet pumped); readers are
exact before any pump. Also: the SQL RFM snapshot scores members as reports.rfm does."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, Table, func, select

from cloud_sync.hq import reports, rollups
from cloud_sync.hq.app import create_app
from cloud_sync.hq.core.db import make_engine, make_sessionmaker, upgrade
from cloud_sync.hq.models import Activity, Product, SaleLine
from tests.hq.conftest import private_schema
from tests.hq.helpers import ADMIN, StoreCreds, create_store, event, make_settings, post_events

pytestmark = pytest.mark.network

DAY_MS = 86_400_000
START_MS = int(datetime(2026, 1, 30, 9, tzinfo=UTC).timestamp() * 1000)
GTINS = [f"0400000000{n:04d}" for n in range(12)]


@pytest.fixture(params=["postgresql", "sqlite"])
def own_hq(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> Iterator[tuple[TestClient, Engine]]:
    """A database of its own (the comparison covers every row of the rollup tables), on
    PostgreSQL and on the demo's SQLite."""
    with ExitStack() as stack:
        if request.param == "postgresql":
            url = stack.enter_context(private_schema(database_url))
        else:
            url = f"sqlite:///{tmp_path / 'hq.sqlite3'}"
            upgrade(url)
        engine = make_engine(url, pool_size=2)
        stack.callback(engine.dispose)
        # No background pass during the test: the test pumps when it means to.
        settings = make_settings(url, background_interval_s=3600)
        yield stack.enter_context(TestClient(create_app(settings))), engine


def _mixed_events(
    rng: random.Random, stores: list[StoreCreds], members: list[str]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    sale_n = 0
    for _ in range(400):
        store = rng.choice(stores).store_id
        ts = START_MS + rng.randrange(4 * DAY_MS)  # Jan 30 .. Feb 2: two months
        member = rng.choice([*members, None, None])
        kind = rng.random()
        gtin = rng.choice([*GTINS, None])
        if kind < 0.15 and member is not None:
            payload = {"visit_id": f"v{ts}", "member_id": member, "zone": "in", "camera_id": "c"}
            out.append(event(store, "visit.started", payload, ts))
        elif kind < 0.25:
            minute = datetime.fromtimestamp(ts // 60_000 * 60, tz=UTC)
            payload = {
                "zone": "in",
                "camera_id": "c",
                "minute_start": minute.isoformat().replace("+00:00", "Z"),
                "visitors": rng.randrange(0, 9),
                "members": 0,
            }
            out.append(event(store, "zone.visitors", payload, ts))
        elif kind < 0.7:
            tryon = {"session_id": "s", "zone": "fit", "epc": "3034AA", "gtin": gtin}
            if member is not None:
                tryon["member_id"] = member
            out.append(event(store, "tryon.started", tryon, ts))
            outcome = rng.choice(["purchased", "returned_to_floor", "returned_to_floor"])
            out.append(event(store, "tryon.outcome", {**tryon, "outcome": outcome}, ts + 60_000))
        else:
            sale_n += 1
            lines = [
                {
                    "gtin": rng.choice(GTINS),
                    "quantity": rng.randrange(1, 3),
                    "amount": round(rng.uniform(5, 200), 2),
                }
                for _ in range(rng.randrange(1, 4))
            ]
            sale: dict[str, Any] = {
                "sale_id": f"{store}-{sale_n}",
                "till_id": "t1",
                "currency": "EUR",
                "total": round(sum(line["amount"] for line in lines), 2),
                "lines": lines,
            }
            if member is not None:
                sale["member_id"] = member
            out.append(event(store, "sale", sale, ts))
            if rng.random() < 0.2:  # a return of part of it, later
                back = {**sale, "returned": True, "lines": lines[:1], "total": lines[0]["amount"]}
                out.append(event(store, "sale", back, ts + rng.randrange(DAY_MS)))
    return out


def _number(value: Any) -> Any:
    """PostgreSQL's sum() of integers is numeric: compare as int; floats to 6 places."""
    if isinstance(value, Decimal):
        return int(value)
    return round(value, 6) if isinstance(value, float) else value


def _rows(engine: Engine, target: Table, source: Any) -> list[tuple[Any, ...]]:
    """Rows in key order, floats rounded; rows whose measures are all zero are dropped (a
    rollup row emptied by a home-store move reads as no row in every report)."""
    keys = len(target.primary_key.columns)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(source)]
    out = []
    for row in rows:
        norm = tuple(_number(v) for v in row)
        measures = norm[keys:]
        if measures and all(isinstance(v, int | float) and not v for v in measures):
            continue
        out.append(norm)
    return sorted(out)


def _queued(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(rollups.QUEUE)).scalar() or 0)


def _assert_rollups_equal_recomputation(engine: Engine) -> int:
    compared = 0
    for target in rollups.ROLLUPS:
        kept = _rows(engine, target, select(target))
        recomputed = _rows(engine, target, rollups.recompute(target))
        assert kept == recomputed, target.name
        assert kept, f"{target.name} is empty: the batch did not exercise it"
        compared += len(kept)
    return compared


def _queued_lines_of(engine: Engine, member_id: str) -> int:
    lines = rollups.LINES
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(lines)
                .where(
                    lines.c.member_id == member_id,
                    lines.c.event_id.in_(select(rollups.QUEUE.c.event_id)),
                )
            ).scalar()
            or 0
        )


def test_rollups_equal_recomputation(
    own_hq: tuple[TestClient, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, engine = own_hq
    sessions = make_sessionmaker(engine)
    rng = random.Random(16)
    stores = [create_store(client, f"r{n}") for n in range(3)]
    members = [
        client.post(
            "/api/v1/members", headers=ADMIN, json={"home_store_id": stores[n % 3].store_id}
        ).json()["id"]
        for n in range(6)
    ]
    events = _mixed_events(rng, stores, members)
    by_store: dict[str, list[dict[str, Any]]] = {s.store_id: [] for s in stores}
    for e in events:
        by_store[e["store_id"]].append(e)
    plans = []
    for creds in stores:
        mine = by_store[creds.store_id]
        batches = [mine[i : i + 25] for i in range(0, len(mine), 25)]
        rng.shuffle(batches)  # late batches: older days arrive after newer ones
        plans.append((creds, batches))
    stored = 0

    def upload(half: int) -> None:
        nonlocal stored
        for creds, batches in plans:
            mine = batches[half::2]
            for batch in mine:
                body = post_events(client, creds, batch + batch[:3]).json()  # duplicates inside
                stored += body["stored"]
                assert body["duplicates"] == len(batch[:3])
            for batch in mine[:2]:  # the outbox resends whole batches
                assert post_events(client, creds, batch).json()["stored"] == 0

    # First half: queued by ingestion, nothing rolled up yet; a pump of a few events, then
    # one of the rest, add it all (distinct counts and sums across the batch boundary).
    upload(0)
    queued = _queued(engine)
    assert queued > 10
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(rollups.STORE_DAY)).scalar() == 0
    with sessions() as session:
        assert rollups.pump(session, limit=7) == 7
        assert _queued(engine) == queued - 7
        assert rollups.pump(session) == queued - 7
    assert _queued(engine) == 0
    _assert_rollups_equal_recomputation(engine)

    # Second half stays queued while the state that is not an event changes: a home store
    # change, a merge, an erasure, each naming members with queued sales.
    upload(1)
    assert stored == len(events)
    assert _queued_lines_of(engine, members[0]) > 0
    assert _queued_lines_of(engine, members[1]) > 0
    moved = client.patch(
        f"/api/v1/members/{members[0]}",
        headers=ADMIN,
        json={"home_store_id": stores[2].store_id},
    )
    assert moved.status_code == 200, moved.text
    merged = client.post(
        f"/api/v1/members/{members[2]}/merge", headers=ADMIN, json={"duplicate_id": members[3]}
    )
    assert merged.status_code == 200, merged.text
    assert client.delete(f"/api/v1/members/{members[1]}", headers=ADMIN).status_code in (200, 204)
    assert _queued(engine) > 2 * 9  # several of the reader's batches below

    # A reader is exact while events are queued: it pumps them in first, batch after batch.
    monkeypatch.setattr(rollups, "PUMP_BATCH", 9)
    recomputed = rollups.recompute(rollups.STORE_DAY).subquery()
    day = dict(zip((c.name for c in rollups.STORE_DAY.columns), recomputed.c, strict=True))
    with engine.connect() as conn:
        expected_overview = {
            store: (int(tries), int(purchases), round(float(revenue), 2))
            for store, tries, purchases, revenue in conn.execute(
                select(
                    day["store_id"],
                    func.sum(day["tries"]),
                    func.sum(day["purchases"]),
                    func.sum(day["revenue"]),
                ).group_by(day["store_id"])
            )
        }
    with sessions() as session:
        read = reports.overview(session, window=reports.Window(), by=reports.OverviewBy.STORE)
    assert {
        r["store"]: (r["tries"], r["purchases"], r["revenue"]) for r in read
    } == expected_overview
    assert _queued(engine) == 0
    assert _assert_rollups_equal_recomputation(engine) > 500
    with sessions() as session:
        assert rollups.pump(session) == 0
        assert rollups.fold_chain(session) == 0  # chain-wide rows go straight to the rollups
    # The bulk rebuild (migration backfill, benchmark load) gives the same rows.
    with engine.begin() as conn:
        rollups.rebuild(conn)
    for target in rollups.ROLLUPS:
        assert _rows(engine, target, select(target)) == _rows(
            engine, target, rollups.recompute(target)
        ), target.name
    with engine.connect() as conn:
        named = conn.execute(
            select(rollups.MEMBER_DAY.c.member_id).where(
                rollups.MEMBER_DAY.c.member_id == members[1]
            )
        ).all()
    assert named == []  # the erased member appears in no rollup row

    # The SQL snapshot ranks as the Python scoring of reports.rfm.
    sessions = make_sessionmaker(engine)
    as_of = datetime(2026, 2, 10, tzinfo=UTC)
    with sessions() as session:
        assert rollups.refresh_segments(session, as_of=as_of) == 5  # six, one erased
        expected = {
            r["member_id"]: (r["r"], r["f"], r["m"], r["segment"])
            for r in reports.rfm(session, as_of=as_of, window=reports.Window())
        }
        snapshot = {
            m: (r, f, mm, seg)
            for m, r, f, mm, seg in session.execute(
                select(
                    rollups.SEGMENT_SCORES.c.member_id,
                    rollups.SEGMENT_SCORES.c.r,
                    rollups.SEGMENT_SCORES.c.f,
                    rollups.SEGMENT_SCORES.c.m,
                    rollups.SEGMENT_SCORES.c.segment,
                )
            )
        }
        assert snapshot == expected
        grid = reports.segments_grid(session)
        assert sum(c["members"] for c in grid) == 5
        # A store manager's grid: their home members; the three stores' grids make the whole.
        scoped = [
            reports.segments_grid(session, home_stores=frozenset({s.store_id})) for s in stores
        ]
        assert all(sum(c["members"] for c in g) < 5 for g in scoped)
        assert sum(c["members"] for g in scoped for c in g) == 5
        # The windowed path (sale lines) agrees with the rollup path over all time.
        windowed = reports.rfm(
            session, as_of=as_of, window=reports.Window(day_from=date(2000, 1, 1))
        )
        assert {r["member_id"]: r["segment"] for r in windowed} == {
            m: v[3] for m, v in expected.items()
        }


WINDOWS = [
    reports.Window(),
    reports.Window(day_from=date(2026, 1, 31), day_to=date(2026, 2, 1)),  # across months
    reports.Window(day_from=date(2026, 1, 1), day_to=date(2026, 1, 31)),  # a whole month
    reports.Window(day_from=date(2026, 1, 31)),  # ragged start, open end
    reports.Window(store_id="r1", day_to=date(2026, 2, 1)),
    reports.Window(store_ids=frozenset({"r0", "r2"}), day_from=date(2026, 2, 1)),
]


def _naive_totals(
    engine: Engine, group: reports.ConversionGroup, window: reports.Window, size: str | None
) -> dict[Any, tuple[int, int, int, float]]:
    """The products page's figures straight from the projections, in Python."""
    with engine.connect() as conn:
        catalog = {
            g: (c, z)
            for g, c, z in conn.execute(select(Product.gtin, Product.category, Product.size))
        }
        activity = conn.execute(
            select(Activity.store_id, Activity.day, Activity.gtin, Activity.kind, Activity.outcome)
        ).all()
        lines = conn.execute(
            select(
                SaleLine.store_id, SaleLine.day, SaleLine.gtin, SaleLine.quantity, SaleLine.amount
            )
        ).all()

    def keep(store: str, day: str, gtin: str | None) -> bool:
        if window.store_id is not None and store != window.store_id:
            return False
        if window.store_ids is not None and store not in window.store_ids:
            return False
        if window.day_from is not None and day < window.day_from.isoformat():
            return False
        if window.day_to is not None and day > window.day_to.isoformat():
            return False
        return size is None or catalog.get(gtin or "", ("", ""))[1] == size

    def key(store: str, day: str, gtin: str | None) -> Any:
        return {
            reports.ConversionGroup.PRODUCT: gtin,
            reports.ConversionGroup.CATEGORY: catalog.get(gtin or "", ("unknown", ""))[0],
            reports.ConversionGroup.STORE: store,
            reports.ConversionGroup.DAY: day,
        }[group]

    sums: dict[Any, list[float]] = {}
    for store, day, gtin, kind, outcome in activity:
        if kind == "tryon_outcome" and keep(store, day, gtin):
            row = sums.setdefault(key(store, day, gtin), [0, 0, 0, 0.0])
            row[0] += 1
            row[1] += outcome == "purchased"
    for store, day, gtin, quantity, amount in lines:
        if keep(store, day, gtin) and key(store, day, gtin) in sums:
            row = sums[key(store, day, gtin)]
            row[2] += quantity
            row[3] += amount
    return {k: (int(v[0]), int(v[1]), int(v[2]), round(v[3], 2)) for k, v in sums.items()}


def test_product_page_queries_match_the_projections(own_hq: tuple[TestClient, Engine]) -> None:
    """The period slicing (months + ragged days), store scopes and filters give what a scan
    of the projections gives, for every grouping."""
    client, engine = own_hq
    stores = [create_store(client, f"r{n}") for n in range(3)]
    client.put(
        "/api/v1/catalog",
        headers=ADMIN,
        json={
            "products": [
                {"gtin": g, "name": g, "category": f"c{n % 3}", "size": "SM"[n % 2], "price": 9}
                for n, g in enumerate(GTINS[:10])
            ]
        },
    )
    events = _mixed_events(random.Random(3), stores, [])
    for creds in stores:
        mine = [e for e in events if e["store_id"] == creds.store_id]
        assert post_events(client, creds, mine).json()["stored"] == len(mine)
    sessions = make_sessionmaker(engine)
    checked = 0
    with sessions() as session:
        for window, group, size in itertools.product(WINDOWS, reports.ConversionGroup, (None, "S")):
            got = {
                r[group.value]: (r["tries"], r["purchases"], r["units"], r["revenue"])
                for r in reports.product_totals(
                    session,
                    group=group,
                    window=window,
                    products=reports.ProductFilter(size=size),
                )
            }
            want = _naive_totals(engine, group, window, size)
            assert got == want, (window, group, size)
            checked += len(got)
    assert checked > 0


def test_period_slices_reach_the_last_dates_without_overflow() -> None:
    """A filter may name the last date there is (the contract fuzzer does): no overflow."""
    from datetime import date

    last = date.max
    assert rollups.period_slices(last, last)
    assert rollups.period_slices(date(9999, 12, 15), None)
    assert rollups.period_slices(date.min, date.min)
    assert rollups.period_slices(None, date(1, 1, 1))
    slices = rollups.period_slices(date(2026, 1, 15), last)
    assert slices[0] == rollups.Slice(rollups.DAY, "2026-01-15", "2026-01-31")
