"""``o2o-edge bench sync``: HQ ingestion throughput and a store's backlog drain, end to end.

1. A fresh PostgreSQL database and a real ``o2o-hq run --workers 2`` on it.
2. Ingestion: 50 simulated stores post pre-built, gzip'd batches of 500 realistic events
   (tag arrivals/moves/departures, try-ons, sales) concurrently -> ``events_per_s``.
3. Drain: one store's outbox with a 1,000,000-event backlog (``--quick``: 100,000, and the
   time scaled to 1M; ``drain_events`` says which) emptied by the real uploader ->
   ``drain_s_1m``; ``next_batch_ms`` and ``backlog_count_ms`` time the outbox's batch query
   and its backlog count on the full backlog.
4. Check in PostgreSQL: every event sent is stored once (``lost``, ``duplicates``), ``rows``,
   ``bytes_per_event`` (events table with its indexes and TOAST, per row).

The same harness (:func:`fresh_database`, :class:`HqProcess`) runs the real-HQ sync tests.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import logging
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from edge.events.base import Event, EventFactory, EventIdGenerator

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

STORES = 50
BATCH_EVENTS = 500
DRAIN_EVENTS = 1_000_000
QUICK_DRAIN_EVENTS = 100_000


def _progress(message: str) -> None:
    print(f"[bench sync] {message}", file=sys.stderr, flush=True)


# -- realistic store traffic ---------------------------------------------------------------


def store_events(store_id: str, n: int, *, start_ms: int, seed: bytes) -> list[Event]:
    """``n`` events of one store, 20 ms apart: mostly RFID tag traffic, some try-ons and
    anonymous sales, from a handful of sources (readers, fusion, till)."""
    from edge.events.base import ms_to_datetime
    from edge.events.fusion import (
        Sale,
        SaleLine,
        SalePayload,
        TryOnEnded,
        TryOnEndedPayload,
        TryOnStarted,
        TryOnStartedPayload,
    )
    from edge.events.rfid import (
        TagArrived,
        TagArrivedPayload,
        TagDeparted,
        TagDepartedPayload,
        TagMoved,
        TagMovedPayload,
    )

    factory = EventFactory(store_id, EventIdGenerator(seed))
    rng = random.Random(seed)
    events: list[Event] = []
    for i in range(n):
        ts_ms = start_ms + 20 * i
        epc = f"30340242201D8C40{rng.randrange(1 << 32):08X}"
        gtin = f"0401234500{rng.randrange(10_000):04d}"
        reader = f"dock-{i % 4}"
        tag: dict[str, Any] = {
            "epc": epc,
            "gtin": gtin,
            "reader_id": reader,
            "antenna": 1 + i % 4,
            "rssi_dbm": round(-40 - 30 * rng.random(), 1),
        }
        roll = i % 20
        event: Event
        if roll < 9:
            event = factory.make(
                TagArrived,
                ts_ms=ts_ms,
                source=f"reader:{reader}",
                payload=TagArrivedPayload(zone="shelf-a", zone_kind="shelf", **tag),
            )
        elif roll < 15:
            event = factory.make(
                TagMoved,
                ts_ms=ts_ms,
                source="rfid/tracker",
                payload=TagMovedPayload(
                    zone="fitting-1", zone_kind="fitting_room", from_zone="shelf-a", **tag
                ),
            )
        elif roll < 17:
            event = factory.make(
                TagDeparted,
                ts_ms=ts_ms,
                source="rfid/tracker",
                payload=TagDepartedPayload(
                    zone="shelf-a",
                    zone_kind="shelf",
                    via_exit=False,
                    last_seen=ms_to_datetime(ts_ms - 5_000),
                    **tag,
                ),
            )
        elif roll == 17:
            event = factory.make(
                TryOnStarted,
                ts_ms=ts_ms,
                source="fusion",
                payload=TryOnStartedPayload(
                    session_id=f"fs-{i}", zone="fitting-1", epc=epc, gtin=gtin
                ),
            )
        elif roll == 18:
            event = factory.make(
                TryOnEnded,
                ts_ms=ts_ms,
                source="fusion",
                payload=TryOnEndedPayload(
                    session_id=f"fs-{i - 1}",
                    zone="fitting-1",
                    epc=epc,
                    gtin=gtin,
                    started=ms_to_datetime(ts_ms - 180_000),
                    duration_s=180.0,
                ),
            )
        else:
            amount = round(10 + 90 * rng.random(), 2)
            event = factory.make(
                Sale,
                ts_ms=ts_ms,
                source="pos:till-1",
                payload=SalePayload(
                    sale_id=f"{store_id}-{i}",
                    till_id="till-1",
                    lines=[SaleLine(epc=epc, gtin=gtin, amount=amount)],
                    total=amount,
                ),
            )
        events.append(event)
    return events


# -- PostgreSQL and the o2o-hq process -----------------------------------------------------


def _psycopg_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


@contextlib.contextmanager
def fresh_database(base_url: str, prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database beside ``base_url``'s; dropped afterwards."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = _psycopg_url(base_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True, slots=True)
class StoreCredentials:
    store_id: str
    key_id: str
    secret: str


class HqProcess:
    """``o2o-hq run`` in its own process group (the master and its uvicorn workers)."""

    def __init__(
        self,
        database_url: str,
        *,
        workers: int = 1,
        port: int | None = None,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        secret_key: str | None = None,
        admin_token: str | None = None,
    ) -> None:
        from cryptography.fernet import Fernet

        self.database_url = database_url
        self.workers = workers
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_token = admin_token or secrets.token_urlsafe(24)
        self.secret_key = secret_key or Fernet.generate_key().decode()
        self._env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "O2O_HQ_ADMIN_TOKEN": self.admin_token,
            "O2O_HQ_SECRET_KEY": self.secret_key,
            **(env or {}),
        }
        self._workdir = Path(tempfile.mkdtemp(prefix="o2o-hq-"))
        self._log_path = log_path or self._workdir / "hq.log"
        self._process: subprocess.Popen[bytes] | None = None

    def twin(self, *, port: int | None = None, log_path: Path | None = None) -> HqProcess:
        """Another HQ process over the same database with the same server key (a second
        deployment of the same HQ), not started."""
        return HqProcess(
            self.database_url,
            workers=self.workers,
            port=port,
            log_path=log_path,
            secret_key=self.secret_key,
            admin_token=self.admin_token,
        )

    def start(self, timeout_s: float = 60.0) -> None:
        log = self._log_path.open("ab")
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cloud_sync.hq.cli",
                "run",
                "--database-url",
                self.database_url,
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
                "--log-level",
                "warning",
            ],
            cwd=self._workdir,
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"o2o-hq exited {self._process.returncode}:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if self.admin("GET", "/api/v1/admin/stores").status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"o2o-hq did not answer within {timeout_s} s:\n{self.log()}")

    def log(self) -> str:
        return self._log_path.read_text(errors="replace")[-4000:]

    def _signal(self, sig: int) -> None:
        if self._process is not None and self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, sig)

    def kill(self) -> None:
        """SIGKILL the master and every worker at once (a crash, not a shutdown)."""
        self._signal(signal.SIGKILL)
        if self._process is not None:
            self._process.wait(10)

    def stop(self) -> None:
        if self._process is None:
            return
        self._signal(signal.SIGTERM)
        try:
            self._process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()
        self._process = None

    def __enter__(self) -> HqProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def create_store(self, store_id: str) -> StoreCredentials:
        response = self.admin(
            "POST",
            "/api/v1/admin/stores",
            json={"id": store_id, "name": store_id, "latitude": 48.85, "longitude": 2.35},
        )
        if response.status_code != 201:
            raise RuntimeError(f"creating store {store_id}: {response.status_code} {response.text}")
        data = response.json()
        return StoreCredentials(store_id, data["key_id"], data["secret"])


def stored_event_ids(database_url: str, store_id: str) -> list[str]:
    import psycopg

    with psycopg.connect(_psycopg_url(database_url)) as conn:
        rows = conn.execute(
            "SELECT event_id::text FROM events WHERE store_id = %s", (store_id,)
        ).fetchall()
    return [str(row[0]) for row in rows]


# -- the benchmark -------------------------------------------------------------------------


def _ingest(hq: HqProcess, stores: list[StoreCredentials], batches: int) -> dict[str, Any]:
    from cloud_sync.client.http import HqClient

    _progress(f"building {len(stores) * batches * BATCH_EVENTS:,} events for {len(stores)} stores")
    bodies: dict[str, list[bytes]] = {}
    expected: dict[str, list[str]] = {}
    for n, store in enumerate(stores):
        events = store_events(
            store.store_id,
            batches * BATCH_EVENTS,
            start_ms=1_795_000_000_000 + n,
            seed=store.store_id.encode(),
        )
        expected[store.store_id] = [e.event_id for e in events]
        bodies[store.store_id] = [
            gzip.compress(
                b'{"events":['
                + b",".join(e.to_json().encode() for e in events[i : i + BATCH_EVENTS])
                + b"]}",
                compresslevel=5,
            )
            for i in range(0, len(events), BATCH_EVENTS)
        ]
    failures: list[str] = []
    start = threading.Barrier(len(stores) + 1)

    def one_store(store: StoreCredentials) -> None:
        client = HqClient(hq.url, store.key_id, store.secret, timeout_s=300)
        try:
            start.wait()
            for body in bodies[store.store_id]:
                response = client.post_events(store.store_id, body)
                if response.status_code != 200 or response.json()["stored"] != BATCH_EVENTS:
                    failures.append(
                        f"{store.store_id}: {response.status_code} {response.text[:200]}"
                    )
        except httpx.HTTPError as error:
            failures.append(f"{store.store_id}: {error!r}")
        finally:
            client.close()

    threads = [threading.Thread(target=one_store, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    _progress(f"{len(stores)} stores posting {batches} batches of {BATCH_EVENTS} events each")
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"{len(failures)} batches failed, first: {failures[0]}")
    total = len(stores) * batches * BATCH_EVENTS
    _progress(f"ingested {total:,} events in {elapsed:.1f} s ({total / elapsed:,.0f} events/s)")
    return {"events": total, "seconds": elapsed, "expected": expected}


def _drain(hq: HqProcess, store: StoreCredentials, n_events: int) -> dict[str, Any]:
    from cloud_sync.client.http import HqClient
    from cloud_sync.client.outbox import Outbox
    from cloud_sync.client.uploader import DrainProgress, Uploader
    from edge.config.sync import SyncConfig

    config = SyncConfig(
        enabled=True,
        hq_url=hq.url,
        api_key_id=store.key_id,
        api_secret=store.secret,
        max_batch_events=BATCH_EVENTS,
        progress_log_s=5.0,
    )
    with tempfile.TemporaryDirectory(prefix="o2o-drain-") as folder:
        outbox = Outbox(Path(folder) / "outbox.db")
        expected: list[str] = []
        chunk = 20_000
        for offset in range(0, n_events, chunk):
            events = store_events(
                store.store_id,
                min(chunk, n_events - offset),
                start_ms=1_795_100_000_000 + 20 * offset,
                seed=f"{store.store_id}/{offset}".encode(),
            )
            outbox.append_many(events)
            expected.extend(e.event_id for e in events)
            if offset and offset % 200_000 == 0:
                _progress(f"outbox backlog {offset:,} events")
        began = time.perf_counter()
        for _ in range(20):
            outbox.next_batch(BATCH_EVENTS, config.max_batch_bytes)
        next_batch_ms = (time.perf_counter() - began) / 20 * 1000
        began = time.perf_counter()
        outbox.backlog()
        backlog_ms = (time.perf_counter() - began) * 1000
        outbox_bytes = os.path.getsize(Path(folder) / "outbox.db")

        def show(progress: DrainProgress) -> None:
            _progress(
                f"drain: {progress.sent_events:,} sent, {progress.remaining_events:,} remaining, "
                f"{progress.rate_events_per_s:,.0f} events/s"
            )

        client = HqClient.from_config(config)
        uploader = Uploader(outbox, client, store.store_id, config, on_progress=show)
        _progress(f"draining {n_events:,} events through the uploader")
        began = time.perf_counter()
        drained = uploader.drain()
        elapsed = time.perf_counter() - began
        client.close()
        backlog = outbox.backlog()
        outbox.close()
    if not drained or backlog.pending or backlog.dead_letters:
        raise RuntimeError(f"drain incomplete: {backlog}, last error {uploader.state.last_error}")
    _progress(f"drained {n_events:,} events in {elapsed:.1f} s ({n_events / elapsed:,.0f}/s)")
    return {
        "seconds": elapsed,
        "expected": expected,
        "next_batch_ms": next_batch_ms,
        "backlog_ms": backlog_ms,
        "outbox_bytes_per_event": outbox_bytes / n_events,
        "failed_attempts": uploader.state.failed_attempts,
    }


def _verify(database_url: str, expected: dict[str, list[str]]) -> dict[str, int | float]:
    import psycopg

    lost = duplicates = unexpected = 0
    for store_id, ids in expected.items():
        stored = stored_event_ids(database_url, store_id)
        stored_set = set(stored)
        duplicates += len(stored) - len(stored_set)
        want = set(ids)
        lost += len(want - stored_set)
        unexpected += len(stored_set - want)
    with psycopg.connect(_psycopg_url(database_url)) as conn:
        (rows,) = conn.execute("SELECT count(*) FROM events").fetchone() or (0,)
        (size,) = conn.execute("SELECT pg_total_relation_size('events')").fetchone() or (0,)
    return {
        "lost": lost,
        "duplicates": duplicates,
        "unexpected": unexpected,
        "rows": int(rows),
        "bytes_per_event": round(size / rows, 1) if rows else 0.0,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns progress
    quick = bool(getattr(args, "quick", False))
    batches = 2 if quick else 12
    drain_events = QUICK_DRAIN_EVENTS if quick else DRAIN_EVENTS
    base_url = os.environ.get("O2O_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    with fresh_database(base_url, "o2o_bench_sync") as database_url:
        with HqProcess(database_url, workers=2) as hq:
            _progress(f"o2o-hq up at {hq.url} with 2 workers on {database_url.rsplit('/', 1)[1]}")
            stores = [hq.create_store(f"bench-{n:02d}") for n in range(STORES)]
            ingest = _ingest(hq, stores, batches)
            drain_store = hq.create_store("bench-drain")
            drain = _drain(hq, drain_store, drain_events)
        expected = {**ingest["expected"], drain_store.store_id: drain["expected"]}
        _progress("checking every event in PostgreSQL")
        checks = _verify(database_url, expected)
    return {
        "events_per_s": round(ingest["events"] / ingest["seconds"]),
        "ingest_events": ingest["events"],
        "ingest_stores": STORES,
        "batch_events": BATCH_EVENTS,
        "hq_workers": 2,
        "drain_s_1m": round(drain["seconds"] * DRAIN_EVENTS / drain_events, 1),
        "drain_events": drain_events,
        "drain_scaled_to_1m": drain_events != DRAIN_EVENTS,
        "drain_failed_attempts": drain["failed_attempts"],
        "next_batch_ms": round(drain["next_batch_ms"], 2),
        "backlog_count_ms": round(drain["backlog_ms"], 1),
        "outbox_bytes_per_event": round(drain["outbox_bytes_per_event"], 1),
        "quick": quick,
        **checks,
    }
