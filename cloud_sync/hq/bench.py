"""``o2o-hq bench NAME``: HQ's speed targets, each printing one JSON object on stdout
(progress on stderr).

- ``reports``: the console's page queries (cloud_sync/hq/reports.py) over a year of a chain
  (issue 16: 100 stores, 1 M members, 10 M try-ons, 10 M sale lines; ``--scale`` shrinks it),
  generated inside PostgreSQL, rollups built in bulk; p95 per query, target <= 300 ms.
- ``availability``: the online channels' stock query at a chain's size (issue: p95 <= 20 ms at
  500 stores x 20,000 GTINs on PostgreSQL). A fresh database is filled by COPY (10 M stock
  rows), then random GTINs, sizes and places are asked through the HTTP app, as a channel.
- ``nearby``: the stores' nearby-stock downlink on the same chain: signed store GETs through
  the HTTP app, a full answer (the stock of every GTIN at the stores near by) and then a 304.
"""

from __future__ import annotations

import io
import json
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

SIZES = ("XS", "S", "M", "L", "XL")


def _progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


@contextmanager
def _fresh_database(base_url: str, keep: bool) -> Iterator[str]:
    import psycopg

    name = f"o2o_bench_{uuid.uuid4().hex[:10]}"
    admin = base_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fill(url: str, stores: int, gtins: int, rng: random.Random) -> None:
    import psycopg

    now = datetime.now(UTC)
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY products (gtin, name, category, size, colour, price, image) FROM STDIN"
        ) as copy:
            for n in range(gtins):
                style, size = divmod(n, len(SIZES))
                copy.write(
                    f"{n:014d}\tStyle {style}\tcat-{style % 40}\t{SIZES[size]}\tnavy\t49.9\t\n"
                )
        with cur.copy(
            "COPY stores (id, name, latitude, longitude, key_id, secret_encrypted, active, "
            "created_at) FROM STDIN"
        ) as copy:
            for s in range(stores):
                lat, lon = rng.uniform(22.0, 40.0), rng.uniform(100.0, 122.0)
                copy.write_row((f"s{s:04d}", f"Store {s}", lat, lon, f"k{s}", b"x", True, now))
        with cur.copy(
            "COPY stock_streams (store_id, stream, last_seq, snapshot_from, complete, as_of, "
            "snapshot_requests, gaps, generation) FROM STDIN"
        ) as copy:
            for s in range(stores):
                # Most stores reported in the last minutes; a few are late (stale).
                age = rng.uniform(0, 300) if rng.random() < 0.95 else rng.uniform(1000, 5000)
                as_of = now - timedelta(seconds=age)
                copy.write_row((f"s{s:04d}", "s1", 10, 1, True, as_of, 0, 0, 10))
        conn.commit()
        cur.execute("ALTER TABLE store_stock DROP CONSTRAINT pk_store_stock")
        started = time.monotonic()
        with cur.copy("COPY store_stock (gtin, store_id, floor, backroom, seq) FROM STDIN") as copy:
            for s in range(stores):
                block = io.StringIO()
                counts = [rng.randrange(0, 6) for _ in range(2 * gtins)]
                for n in range(gtins):
                    block.write(f"{n:014d}\ts{s:04d}\t{counts[2 * n]}\t{counts[2 * n + 1]}\t1\n")
                copy.write(block.getvalue())
                if s % 50 == 49:
                    rate = (s + 1) * gtins / (time.monotonic() - started)
                    _progress(
                        f"stock rows: {(s + 1) * gtins:,} of {stores * gtins:,} ({rate:,.0f}/s)"
                    )
        _progress("building the primary key (gtin, store_id)")
        cur.execute(
            "ALTER TABLE store_stock ADD CONSTRAINT pk_store_stock PRIMARY KEY (gtin, store_id)"
        )
        conn.commit()
        cur.execute("ANALYZE")
        conn.commit()


@contextmanager
def _stocked_hq(args: Any, rng: random.Random, **settings: Any) -> Iterator[tuple[Any, float]]:
    """A fresh database with ``args.stores`` stores' stock of ``args.gtins`` GTINs, and an
    o2o-hq app on it (admin token ``bench-admin``); yields its test client and the load time."""
    from fastapi.testclient import TestClient

    from cloud_sync.hq.app import create_app
    from cloud_sync.hq.core.config import Settings
    from cloud_sync.hq.core.db import upgrade
    from cloud_sync.hq.core.security import new_server_key

    args.stores = args.stores or 500
    with _fresh_database(args.database_url, args.keep) as url:
        _progress(f"database {url.rsplit('/', 1)[1]}: migrating")
        upgrade(url)
        started = time.monotonic()
        _fill(url, args.stores, args.gtins, rng)
        load_s = time.monotonic() - started
        made = Settings(
            database_url=url,
            admin_token="bench-admin",
            secret_key=new_server_key(),
            rate_limit_requests=10**9,
            **settings,
        )
        with TestClient(create_app(made)) as http:
            yield http, load_s


def availability(args: Any) -> dict[str, Any]:
    rng = random.Random(7)
    with _stocked_hq(args, rng) as (http, load_s):
        made = http.post(
            "/api/v1/admin/staff",
            json={"name": "web shop", "role": "channel"},
            headers={"Authorization": "Bearer bench-admin"},
        )
        headers = {"Authorization": f"Bearer {made.json()['token']}"}

        def ask() -> dict[str, Any]:
            query: dict[str, Any] = {"gtin": f"{rng.randrange(args.gtins):014d}"}
            if rng.random() < 0.5:
                query["size"] = rng.choice(SIZES)
            if rng.random() < 0.8:
                query |= {
                    "lat": rng.uniform(22, 40),
                    "lon": rng.uniform(100, 122),
                    "radius_km": rng.choice((25, 100, 500)),
                }
            response = http.get("/api/v1/availability", params=query, headers=headers)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

        for _ in range(50):  # warm the caches and the connection pool
            ask()
        timings, answered = _timed(ask, args.requests)
    timings.sort()
    return {
        "stores": args.stores,
        "gtins": args.gtins,
        "stock_rows": args.stores * args.gtins,
        "load_s": round(load_s, 1),
        "requests": len(timings),
        "stores_per_answer": round(answered / len(timings), 1),
        "p50_ms": round(timings[len(timings) // 2], 2),
        "p95_ms": round(timings[int(len(timings) * 0.95)], 2),
        "p99_ms": round(timings[int(len(timings) * 0.99)], 2),
        "target_p95_ms": 20,
    }


def _timed(ask: Callable[[], dict[str, Any]], requests: int) -> tuple[list[float], int]:
    timings: list[float] = []
    answered = 0
    for n in range(requests):
        t0 = time.perf_counter()
        body = ask()
        timings.append((time.perf_counter() - t0) * 1000)
        answered += len(body["stores"])
        if n % 500 == 499:
            _progress(f"{n + 1} of {requests} requests")
    return timings, answered


# --- reports: the console's page queries over a year of a chain --------------------------------

YEAR_START = date(2025, 1, 1)
YEAR_DAYS = 365
GTINS = 5_000
"""1,000 styles in 5 sizes, 40 categories: a fashion chain's live assortment."""

# Per-scale-1 volumes (issue 16): a year of 100 stores.
MEMBERS = 1_000_000
TRYONS = 10_000_000
SALE_LINES = 10_000_000
VISITS = 3_000_000
"""Recognised members' visits (visit.started)."""
VISITOR_COUNTS = 5_000_000
"""Cameras' per-minute anonymous counts (zone.visitors), about 4 people each."""

# Generated inside PostgreSQL (INSERT ... SELECT over generate_series): no row crosses the
# client, which is faster still than COPY from Python. Skewed choices: power(random(), k)
# makes a few GTINs and members popular, as in a shop. {placeholders} are integers.
_STORE = "'s' || lpad(floor(random() * {stores})::int::text, 3, '0')"
_TS = (
    "timestamptz '{start} 10:00+00' + floor(random() * {days}) * interval '1 day' "
    "+ random() * interval '12 hours'"
)
_GTIN = "floor({gtins} * power(random(), 2.5))::int"
_PRICE = "(20 + (({g}) / 5) % 180)"

_FILL_SQL = (
    """INSERT INTO products (gtin, name, category, size, colour, price, image, style)
    SELECT lpad(n::text, 14, '0'), 'Style ' || n / 5, 'cat-' || (n / 5) % 40,
           (ARRAY['XS', 'S', 'M', 'L', 'XL'])[n % 5 + 1], 'navy', {price_n}, '', 'st-' || n / 5
    FROM generate_series(0, {gtins} - 1) AS n""",
    """INSERT INTO stores (id, name, latitude, longitude, key_id, secret_encrypted, active,
                        created_at)
    SELECT 's' || lpad(n::text, 3, '0'), 'Store ' || n, 22 + random() * 18,
           100 + random() * 22, 'k' || n, '\\x00'::bytea, true, now()
    FROM generate_series(0, {stores} - 1) AS n""",
    """INSERT INTO members (id, name, tier, home_store_id, created_at, updated_at)
    SELECT 'm' || lpad(n::text, 8, '0'), NULL, 'standard',
           's' || lpad((n % {stores})::text, 3, '0'), now(), now()
    FROM generate_series(0, {members} - 1) AS n""",
    # Each try-on is a tryon.started and, three minutes later, its tryon.outcome.
    """INSERT INTO activity (event_id, store_id, kind, ts, day, hour, member_id, gtin, outcome,
                          quantity)
    SELECT gen_random_uuid(), t.store, k.kind, k.ts, to_char(k.ts, 'YYYY-MM-DD'),
           extract(hour FROM k.ts)::int, t.member, lpad(t.g::text, 14, '0'), k.outcome, 1
    FROM (SELECT """
    + _STORE
    + " AS store, "
    + _TS
    + """ AS ts,
                 CASE WHEN random() < 0.3
                      THEN 'm' || lpad(floor(random() * {members})::int::text, 8, '0') END
                      AS member, """
    + _GTIN
    + """ AS g
          FROM generate_series(1, {tryons})) AS t,
         LATERAL (VALUES ('tryon', t.ts, NULL),
                         ('tryon_outcome', t.ts + interval '3 minutes',
                          CASE WHEN random() < 0.18 THEN 'purchased'
                               ELSE 'returned_to_floor' END)) AS k(kind, ts, outcome)""",
    # A recognised member's visit, at their home store four times in five.
    """INSERT INTO activity (event_id, store_id, kind, ts, day, hour, member_id, gtin, outcome,
                          quantity)
    SELECT gen_random_uuid(),
           CASE WHEN random() < 0.8 THEN 's' || lpad((v.m % {stores})::text, 3, '0')
                ELSE """
    + _STORE
    + """ END,
           'visit', v.ts, to_char(v.ts, 'YYYY-MM-DD'), extract(hour FROM v.ts)::int,
           'm' || lpad(v.m::text, 8, '0'), NULL, NULL, 1
    FROM (SELECT floor({members} * power(random(), 1.5))::int AS m, """
    + _TS
    + """ AS ts
          FROM generate_series(1, {visits})) AS v""",
    """INSERT INTO activity (event_id, store_id, kind, ts, day, hour, member_id, gtin, outcome,
                          quantity)
    SELECT gen_random_uuid(), v.store, 'visitors', v.ts, to_char(v.ts, 'YYYY-MM-DD'),
           extract(hour FROM v.ts)::int, NULL, NULL, NULL, 1 + floor(random() * 7)::int
    FROM (SELECT """
    + _STORE
    + " AS store, date_trunc('minute', "
    + _TS
    + """) AS ts
          FROM generate_series(1, {visitor_counts})) AS v""",
    # Sales of 1-3 lines (two on average); 40% name a member, who buys at their home store
    # four times in five, else at one of the three next stores; 4% are returns.
    """INSERT INTO sale_lines (event_id, store_id, sale_id, ts, day, member_id, gtin, quantity,
                            amount, currency)
    SELECT s.event_id,
           CASE WHEN s.m IS NULL THEN s.store
                WHEN s.near < 0.8 THEN 's' || lpad((s.m % {stores})::text, 3, '0')
                ELSE 's' || lpad(((s.m + 1 + floor(s.near * 15)::int % 3) % {stores})::text,
                                 3, '0')
           END,
           s.sale_id, s.ts, to_char(s.ts, 'YYYY-MM-DD'),
           'm' || lpad(s.m::text, 8, '0'),
           lpad(l.g::text, 14, '0'), s.sign * l.q, s.sign * l.q * {price_g}, 'EUR'
    FROM (SELECT gen_random_uuid() AS event_id, """
    + _STORE
    + """ AS store, 'S' || n AS sale_id, """
    + _TS
    + """ AS ts,
                 CASE WHEN random() < 0.4 THEN floor({members} * power(random(), 1.5))::int
                 END AS m,
                 random() AS near,
                 CASE WHEN random() < 0.04 THEN -1 ELSE 1 END AS sign,
                 1 + floor(random() * 3)::int AS lines
          FROM generate_series(1, {sales}) AS n) AS s,
         LATERAL (SELECT """
    + _GTIN
    + """ AS g, CASE WHEN random() < 0.1 THEN 2 ELSE 1 END AS q
                  FROM generate_series(1, s.lines)) AS l""",
)


def _strip_indexes(cur: Any, tables: Sequence[str]) -> list[tuple[str, str]]:
    """Drop the tables' primary keys and indexes; their definitions, to build them again.
    Loading bare tables, then indexing once, is several times faster than maintaining the
    indexes row by row."""
    saved: list[tuple[str, str]] = []
    for table_name in tables:
        cur.execute(
            "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "JOIN pg_class t ON t.oid = c.conrelid WHERE t.relname = %s AND c.contype = 'p'",
            (table_name,),
        )
        for name, definition in cur.fetchall():
            saved.append((name, f"ALTER TABLE {table_name} ADD CONSTRAINT {name} {definition}"))
            cur.execute(f"ALTER TABLE {table_name} DROP CONSTRAINT {name}")
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", (table_name,)
        )
        for name, definition in cur.fetchall():
            saved.append((name, definition))
            cur.execute(f"DROP INDEX {name}")
    return saved


def _build_indexes(conn: Any, saved: list[tuple[str, str]]) -> None:
    t0 = time.monotonic()
    for name, definition in saved:
        conn.execute(definition)
        conn.commit()
        _progress(f"index {name} built ({time.monotonic() - t0:,.0f} s so far)")


def _fill_reports(url: str, *, scale: float, stores: int) -> dict[str, float]:
    import psycopg

    from cloud_sync.hq import rollups
    from cloud_sync.hq.core.db import make_engine

    sizes = {
        "stores": stores,
        "gtins": GTINS,
        "members": max(50, round(MEMBERS * scale)),
        "tryons": max(200, round(TRYONS * scale)),
        "visits": max(50, round(VISITS * scale)),
        "visitor_counts": max(50, round(VISITOR_COUNTS * scale)),
        "sales": max(100, round(SALE_LINES * scale / 2.1)),
        "days": YEAR_DAYS,
    }
    values: dict[str, Any] = {
        **sizes,
        "start": YEAR_START.isoformat(),
        "price_n": _PRICE.format(g="n"),
        "price_g": _PRICE.format(g="l.g"),
    }
    timings: dict[str, float] = {}
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    started = time.monotonic()
    with psycopg.connect(plain) as conn, conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute("SET synchronous_commit TO off")
        cur.execute("SET work_mem TO '256MB'")
        cur.execute("SET maintenance_work_mem TO '1GB'")
        # The same chain every run: random() below draws from this session's seed.
        cur.execute("SELECT setseed(0.2)")
        saved = _strip_indexes(cur, ("activity", "sale_lines", *(t.name for t in rollups.ROLLUPS)))
        conn.commit()
        for n, statement in enumerate(_FILL_SQL, 1):
            t0 = time.monotonic()
            filled = statement.split("INSERT INTO ", 1)[1].split(" ", 1)[0]
            # Placeholders are {name}; SQL's own braces never occur in these statements.
            cur.execute(statement.format(**values).encode())
            conn.commit()
            _progress(
                f"[{n}/{len(_FILL_SQL)}] {filled}: {cur.rowcount:,} rows in "
                f"{time.monotonic() - t0:,.0f} s"
            )
        _build_indexes(conn, [d for d in saved if "rollup" not in d[0]])
        timings["load_s"] = time.monotonic() - started
    t0 = time.monotonic()
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn2:
            conn2.exec_driver_sql("SET LOCAL work_mem TO '256MB'")
            conn2.exec_driver_sql("SET LOCAL synchronous_commit TO off")
            for target in rollups.ROLLUPS:
                t1 = time.monotonic()
                rollups.rebuild_one(conn2, target)
                _progress(f"rollup {target.name} in {time.monotonic() - t1:,.0f} s")
    finally:
        engine.dispose()
    with psycopg.connect(plain) as conn:
        conn.execute("SET maintenance_work_mem TO '1GB'")
        _build_indexes(conn, [d for d in saved if "rollup" in d[0]])
    timings["rollups_s"] = time.monotonic() - t0
    with psycopg.connect(plain, autocommit=True) as conn:
        t0 = time.monotonic()
        conn.execute("VACUUM ANALYZE")
        timings["vacuum_analyze_s"] = time.monotonic() - t0
    return timings


def _random_window(rng: random.Random, stores: int, *, scoped: bool = True) -> Any:
    from cloud_sync.hq.reports import Window

    length = rng.choice((1, 7, 30, 90, 365))
    end = YEAR_START + timedelta(days=rng.randrange(YEAR_DAYS))
    start = max(YEAR_START, end - timedelta(days=length - 1))
    pick = rng.random() if scoped else 1.0
    if pick < 0.3:
        return Window(store_id=f"s{rng.randrange(stores):03d}", day_from=start, day_to=end)
    if pick < 0.45:  # a store manager's few stores
        few = frozenset(f"s{rng.randrange(stores):03d}" for _ in range(5))
        return Window(store_ids=few, day_from=start, day_to=end)
    return Window(day_from=start, day_to=end)


def _home_scope(rng: random.Random, stores: int) -> frozenset[str] | None:
    """All members (analysts) or a store manager's home members."""
    return None if rng.random() < 0.6 else frozenset({f"s{rng.randrange(stores):03d}"})


def _random_products(rng: random.Random) -> Any:
    from cloud_sync.hq.reports import ProductFilter

    return ProductFilter(
        category=f"cat-{rng.randrange(40)}" if rng.random() < 0.4 else None,
        size=rng.choice(SIZES) if rng.random() < 0.3 else None,
    )


def _page_queries(
    rng: random.Random, stores: int, settings: Any, members: int
) -> dict[str, Callable[[Any], list[Any]]]:
    """Each console page query with randomly varied filters: session -> rows."""
    from cloud_sync.hq import reports
    from cloud_sync.hq.reports import ConversionGroup, OverviewBy

    def overview(by: OverviewBy) -> Callable[[Any], list[Any]]:
        return lambda s: reports.overview(s, window=_random_window(rng, stores), by=by)

    def products(group: ConversionGroup) -> Callable[[Any], list[Any]]:
        return lambda s: reports.product_totals(
            s, group=group, window=_random_window(rng, stores), products=_random_products(rng)
        )

    def tried_often(s: Any) -> list[Any]:
        window = _random_window(rng, stores)
        listed = reports.tried_not_bought(
            s,
            window=window,
            min_tries=rng.choice((1, 5, 20)),
            max_conversion=rng.choice((0.1, 0.2, 0.3)),
            products=_random_products(rng),
            limit=50,
        )
        trend = reports.product_trend(s, window=window, gtins=[r["product"] for r in listed])
        return listed + trend

    def day_window() -> Any:
        window = _random_window(rng, stores)
        return window.__class__(
            store_id=window.store_id,
            store_ids=window.store_ids,
            day_from=max(window.day_from, window.day_to - timedelta(days=89)),
            day_to=window.day_to,
        )

    return {
        "overview_by_store": overview(OverviewBy.STORE),
        "overview_by_day": overview(OverviewBy.DAY),
        "overview_chain": overview(OverviewBy.CHAIN),
        "products_by_product": products(ConversionGroup.PRODUCT),
        "products_by_category": products(ConversionGroup.CATEGORY),
        "products_by_store": products(ConversionGroup.STORE),
        "products_by_day": lambda s: reports.product_totals(
            s, group=ConversionGroup.DAY, window=day_window(), products=_random_products(rng)
        ),
        "tried_often_bought_rarely": tried_often,
        "hourly": lambda s: reports.hourly(
            s,
            window=reports.Window(
                store_id=f"s{rng.randrange(stores):03d}",
                day_from=(d := YEAR_START + timedelta(days=rng.randrange(YEAR_DAYS - 7))),
                day_to=d + timedelta(days=6),
            ),
        ),
        "segments_grid": lambda s: reports.segments_grid(s, home_stores=_home_scope(rng, stores)),
        "segment_members": lambda s: reports.segment_members(
            s,
            segment_name=rng.choice(("champions", "loyal", "at_risk", "hibernating")),
            home_stores=_home_scope(rng, stores),
        ),
        "stores_revenue": lambda s: reports.revenue_share(
            s, settings=settings, window=_random_window(rng, stores, scoped=False)
        ),
        **_console_pages(rng, stores, settings, members),
    }


CONSOLE_PAGE = "console_"
"""Prefix of the entries that time a whole console page (all its queries together)."""


def _console_pages(
    rng: random.Random, stores: int, settings: Any, members: int
) -> dict[str, Callable[[Any], list[Any]]]:
    """Every query one console page makes, together, as the page makes them."""
    from cloud_sync.hq.console import queries as console
    from cloud_sync.hq.reports import ConversionGroup

    now = datetime.combine(YEAR_START, datetime.min.time(), UTC) + timedelta(days=YEAR_DAYS)

    def scope() -> tuple[Any, frozenset[str] | None]:
        w = _random_window(rng, stores)
        chosen = w.store_ids or (frozenset({w.store_id}) if w.store_id else None)
        return console.Period(w.day_from, w.day_to), chosen

    def overview(s: Any) -> list[Any]:
        period, chosen = scope()
        shown = console.overview(s, period=period, stores=chosen)
        return [*shown["stores"], *console.store_health(s, stores=chosen, now=now)]

    def products(s: Any) -> list[Any]:
        period, chosen = scope()
        f = _random_products(rng)
        rows = console.products(s, period=period, stores=chosen, category=f.category, size=f.size)
        flagged = console.tried_often_bought_rarely(rows, min_tries=3, max_conversion=0.2)
        console.daily_tries(
            s, period=period, stores=chosen, gtins=[r["gtin"] for r in flagged[:50]]
        )
        for group in (ConversionGroup.CATEGORY, ConversionGroup.STORE):
            console.conversion_by(
                s, group=group, period=period, stores=chosen, category=f.category, size=f.size
            )
        return rows

    def member(s: Any) -> list[Any]:
        found = console.find_members(
            s, query=f"m{rng.randrange(members):08d}", stores=_home_scope(rng, stores)
        )
        return [console.member_detail(s, member=m, stores=None) for m in found]

    def stores_page(s: Any) -> list[Any]:
        period, chosen = scope()
        rows = console.stores_page(s, period=period, stores=chosen, settings=settings)
        return rows + console.reserve_to_buy(s, period=period, stores=chosen)

    return {
        "console_overview_page": overview,
        "console_products_page": products,
        "console_member_page": member,
        "console_segments_page": lambda s: [console.segments(s, stores=_home_scope(rng, stores))],
        "console_stores_page": stores_page,
        "console_notifications_page": lambda s: [
            console.notification_counts(s, stores=(scoped := _home_scope(rng, stores))),
            *console.deliveries(s, stores=scoped, failed_only=rng.random() < 0.5),
        ],
        "console_catalog_page": lambda s: [
            console.catalog_and_models(s, stores=_home_scope(rng, stores))
        ],
    }


def time_queries(
    url: str, *, stores: int, runs: int, rng: random.Random, members: int
) -> dict[str, dict[str, Any]]:
    """Each page query ``runs`` times (after 3 warm-up runs) with varied filters."""
    from cloud_sync.hq.core.config import Settings
    from cloud_sync.hq.core.db import make_engine, make_sessionmaker
    from cloud_sync.hq.core.security import new_server_key

    settings = Settings(database_url=url, secret_key=new_server_key())
    engine = make_engine(url, pool_size=1)
    sessions = make_sessionmaker(engine)
    results: dict[str, dict[str, Any]] = {}
    try:
        for name, query in _page_queries(rng, stores, settings, members).items():
            timings_ms: list[float] = []
            most = 0
            with sessions() as session:
                for _ in range(3):  # warm the caches and the connection
                    query(session)
                for _ in range(runs):
                    t0 = time.perf_counter()
                    rows = query(session)
                    timings_ms.append((time.perf_counter() - t0) * 1000)
                    most = max(most, len(rows))
            timings_ms.sort()
            results[name] = {
                "runs": len(timings_ms),
                "p50_ms": round(timings_ms[len(timings_ms) // 2], 1),
                "p95_ms": round(
                    timings_ms[min(len(timings_ms) - 1, int(len(timings_ms) * 0.95))], 1
                ),
                "max_rows": most,
            }
            _progress(f"{name}: p50 {results[name]['p50_ms']} ms, p95 {results[name]['p95_ms']} ms")
    finally:
        engine.dispose()
    return results


def reports_bench(args: Any) -> dict[str, Any]:
    from sqlalchemy import text

    from cloud_sync.hq import rollups
    from cloud_sync.hq.core.db import make_engine, make_sessionmaker, upgrade

    rng = random.Random(16)
    stores = args.stores or 100
    with _fresh_database(args.database_url, args.keep) as url:
        _progress(f"database {url.rsplit('/', 1)[1]}: migrating")
        upgrade(url)
        timings = _fill_reports(url, scale=args.scale, stores=stores)
        engine = make_engine(url, pool_size=1)
        sessions = make_sessionmaker(engine)
        try:
            with sessions() as session:
                t0 = time.monotonic()
                scored = rollups.refresh_segments(
                    session,
                    as_of=datetime.combine(YEAR_START, datetime.min.time(), UTC)
                    + timedelta(days=YEAR_DAYS),
                )
                timings["segments_refresh_s"] = time.monotonic() - t0
                _progress(f"segments: {scored:,} members scored")
                counts = {
                    name: int(session.scalar(text(f"SELECT count(*) FROM {name}")) or 0)
                    for name in (
                        "members",
                        "products",
                        "activity",
                        "sale_lines",
                        *(t.name for t in rollups.ROLLUPS),
                        "segment_scores",
                        "segment_cells",
                    )
                }
                size = session.execute(
                    text(
                        "SELECT pg_database_size(current_database()), "
                        "pg_size_pretty(pg_database_size(current_database()))"
                    )
                ).one()
        finally:
            engine.dispose()
        results = time_queries(
            url, stores=stores, runs=args.runs, rng=rng, members=counts["members"]
        )
    # A console page makes several page queries: the target is per query, the whole pages
    # are shown beside it.
    pages = {n: r for n, r in results.items() if n.startswith(CONSOLE_PAGE)}
    results = {n: r for n, r in results.items() if n not in pages}
    slowest = max(results, key=lambda n: results[n]["p95_ms"])
    return {
        "scale": args.scale,
        "stores": stores,
        "days": YEAR_DAYS,
        "rows": counts,
        "database_bytes": int(size[0]),
        "database_size": size[1],
        **{k: round(v, 1) for k, v in timings.items()},
        "queries": results,
        "pages": pages,
        "page_p95_ms": results[slowest]["p95_ms"],
        "whole_page_p95_ms": max((r["p95_ms"] for r in pages.values()), default=None),
        "slowest_query": slowest,
        "target_p95_ms": 300,
    }


NEARBY_BENCH_RADIUS_KM = 150.0
"""The bench's stores are spread over 18 x 22 degrees of eastern China (one per ~8,400 km2):
150 km gathers about 8 of them, the neighbours of a store in a dense city."""


def nearby_bench(args: Any) -> dict[str, Any]:
    from cloud_sync import protocol

    rng = random.Random(7)
    admin = {"Authorization": "Bearer bench-admin"}
    with _stocked_hq(args, rng, nearby_radius_km=NEARBY_BENCH_RADIUS_KM) as (http, load_s):
        asking = rng.sample(range(args.stores), min(args.stores, 100))
        keys: list[tuple[str, str, str]] = []
        for s in asking:
            made = http.post(f"/api/v1/admin/stores/s{s:04d}/rotate-key", headers=admin)
            assert made.status_code == 200, made.text
            keys.append((f"s{s:04d}", made.json()["key_id"], made.json()["secret"]))

        def get(store_id: str, key_id: str, secret: str, etag: str = "") -> Any:
            path = f"/api/v1/stores/{store_id}/nearby-stock"
            now = int(time.time())
            headers = {
                protocol.HEADER_KEY_ID: key_id,
                protocol.HEADER_TIMESTAMP: str(now),
                protocol.HEADER_SIGNATURE: protocol.sign(secret, now, "GET", path, b""),
            }
            if etag:
                headers["If-None-Match"] = etag
            return http.get(path, headers=headers)

        for key in keys[:10]:  # warm the caches and the connection pool
            get(*key)
        full: list[float] = []
        unchanged: list[float] = []
        sizes: list[int] = []
        wire: list[int] = []
        stores: list[int] = []
        entries: list[int] = []
        for n in range(args.requests):
            key = keys[n % len(keys)]
            t0 = time.perf_counter()
            response = get(*key)
            full.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.text
            body = response.json()
            sizes.append(len(response.content))
            wire.append(response.num_bytes_downloaded)
            stores.append(len(body["stores"]))
            entries.append(sum(len(at) for at in body["stock"].values()))
            t0 = time.perf_counter()
            again = get(*key, etag=response.headers["ETag"])
            unchanged.append((time.perf_counter() - t0) * 1000)
            assert again.status_code == 304, again.status_code
            if n % 100 == 99:
                _progress(f"{n + 1} of {args.requests} stores asked")
    full.sort()
    unchanged.sort()
    return {
        "stores": args.stores,
        "gtins": args.gtins,
        "stock_rows": args.stores * args.gtins,
        "load_s": round(load_s, 1),
        "radius_km": NEARBY_BENCH_RADIUS_KM,
        "requests": len(full),
        "nearby_stores_per_answer": round(sum(stores) / len(stores), 1),
        "entries_per_answer": round(sum(entries) / len(entries)),
        "bytes_per_answer": round(sum(sizes) / len(sizes)),
        "gzip_bytes_per_answer": round(sum(wire) / len(wire)),
        "p50_ms": round(full[len(full) // 2], 2),
        "p95_ms": round(full[int(len(full) * 0.95)], 2),
        "not_modified_p50_ms": round(unchanged[len(unchanged) // 2], 2),
        "not_modified_p95_ms": round(unchanged[int(len(unchanged) * 0.95)], 2),
    }


BENCHES: dict[str, Callable[[Any], dict[str, Any]]] = {
    "availability": availability,
    "nearby": nearby_bench,
    "reports": reports_bench,
}


def cmd_bench(args: Any) -> int:
    print(json.dumps(BENCHES[args.name](args)))
    return 0
