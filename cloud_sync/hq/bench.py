"""``o2o-hq bench NAME``: HQ's speed targets, each printing one JSON object on stdout
(progress on stderr).

- ``availability``: the online channels' stock query at a chain's size (issue: p95 <= 20 ms at
  500 stores x 20,000 GTINs on PostgreSQL). A fresh database is filled by COPY (10 M stock
  rows), then random GTINs, sizes and places are asked through the HTTP app, as a channel.
"""

from __future__ import annotations

import io
import json
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
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


def availability(args: Any) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from cloud_sync.hq.app import create_app
    from cloud_sync.hq.core.config import Settings
    from cloud_sync.hq.core.db import upgrade
    from cloud_sync.hq.core.security import new_server_key

    rng = random.Random(7)
    with _fresh_database(args.database_url, args.keep) as url:
        _progress(f"database {url.rsplit('/', 1)[1]}: migrating")
        upgrade(url)
        started = time.monotonic()
        _fill(url, args.stores, args.gtins, rng)
        load_s = time.monotonic() - started
        settings = Settings(
            database_url=url,
            admin_token="bench-admin",
            secret_key=new_server_key(),
            rate_limit_requests=10**9,
        )
        with TestClient(create_app(settings)) as http:
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


BENCHES: dict[str, Callable[[Any], dict[str, Any]]] = {"availability": availability}


def cmd_bench(args: Any) -> int:
    print(json.dumps(BENCHES[args.name](args)))
    return 0
