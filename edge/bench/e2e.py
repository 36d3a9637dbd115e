"""``o2o-edge bench e2e``: from the tag read that confirms an item's arrival in a fitting room
to the ``recommendation`` event received by a subscriber on the real broker.

The real edge of firmware_configs/demo_store.yaml (``build_edge``: MQTT connection, Zebra
reader driver, owner loop with tracker, fusion and the shipped ONNX recommender, event
publisher, a 1 s ticker as ``o2o-edge run`` has) runs under a unique store id with only its
Zebra ``room-reader`` (antennas 1 fitting-1, 2 fitting-2, 4 backroom), moved to a unique
topic. This process plays the reader (Zebra IoT Connector JSON, live timestamps, QoS 1) and
a tablet (a paho subscriber on ``o2o/{store}/tablets/{zone}/recommendations``), each on its own paho
client; both time stamps are ``time.perf_counter()`` of this process.

Setup: two items of every catalog product are placed in the backroom, so the recommender has
stock. Then each session brings a new item (a new EPC, a random catalog product) into a room:
one read every 200 ms until the tracker's rule (``min_reads_for_zone`` reads and
``arrival_settle_s`` after the first) places it. That read's timestamp is the ``ts`` of the
arrival and of the recommendation it causes (every read's timestamp is unique), so the
recommendation received that lists the item is matched to the publish time of exactly that
read (the room's previous session, emptied by the last item's departure, ends with that read
too: its end is a recommendation without items, not timed). After it, two
strong backroom reads move the item out of the room (another recommendation, not timed) and
the slot brings the next item. Four items per room are in flight at once, staggered, in both
rooms: the room's tablet gets a recommendation per item as in a busy store.

Figures: ``p50_ms``, ``p90_ms``, ``p99_ms``, ``max_ms`` of that latency over ``sessions``
(target p99 < 100 ms), split into ``edge_*`` (read published -> the owner loop emits the
recommendation: broker hop in, driver, owner queue, tracker, fusion, recommender) and
``out_*`` (emitted -> received: JSON, publish, broker hop out); ``lost`` sessions (no
recommendation within 5 s), ``recs_per_session`` (products recommended with the item, up
to ``recommend.limit``); ``peak_rss_mb``, ``cpu_s`` and ``load_avg``
to read them on a shared machine. Then ``edge.bench.recommend`` (the recommender alone on a
20,000-product catalog, target p99 < 10 ms) adds its ``rec_*`` figures.

The bench's two clients turn Nagle's algorithm off (TCP_NODELAY),
as a latency-sensitive reader or tablet would; the edge's own connection and the broker are
measured as they are configured (Mosquitto's ``set_tcp_nodelay`` is off by default).
"""

from __future__ import annotations

import argparse
import functools
import heapq
import json
import os
import queue
import random
import resource
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from edge.app.compose import EdgeOptions, build_edge
from edge.clock import SystemClock
from edge.config.loader import load_store_config
from edge.config.readers import ZebraMqttReader
from edge.config.store import StoreConfig
from edge.events.base import Event, EventFactory, datetime_to_ms
from edge.events.fusion import Recommendation
from edge.mqtt.topics import status_topic, tablet_topic
from edge.replay.capture import format_utc
from edge.replay.scenarios import COMPANY_PREFIX
from edge.rfid.epc import encode_sgtin96, gtin_of

DEMO_STORE = Path(__file__).resolve().parents[2] / "firmware_configs" / "demo_store.yaml"
READER_ID = "room-reader"
ROOMS = {"fitting-1": 1, "fitting-2": 2}
"""Room -> antenna of the room reader (firmware_configs/demo_store.yaml)."""
BACKROOM_ANTENNA = 4
SESSIONS_FULL = 1_000
SESSIONS_QUICK = 50
ITEMS_PER_ROOM = 4
"""Items in flight per room at once (staggered)."""
READ_INTERVAL_MS = 200
ROOM_RSSI_DBM = -60
BACKROOM_RSSI_DBM = -40
"""Strong enough to beat the room by the move threshold at once."""
STOCK_PER_PRODUCT = 2
STOCK_BATCH = 100
"""Tag data events per message while stocking the backroom (the IoT Connector batches)."""
NEXT_ITEM_GAP_S = 0.05
LOST_AFTER_S = 5.0
TARGET_P99_MS = 100.0
SESSION_SERIAL_BASE = 1_000_000


def _say(message: str) -> None:
    print(f"bench e2e: {message}", file=sys.stderr, flush=True)


def bench_config(
    base: StoreConfig, store_id: str, data_dir: Path, reader_topic: str
) -> StoreConfig:
    """The demo store under its own id, data folder and reader topic, with only the room
    reader (the serial shelf reader has no port here; the door reader is not needed)."""
    room = next(r for r in base.readers if r.id == READER_ID)
    assert isinstance(room, ZebraMqttReader)
    return base.model_copy(
        update={
            "store_id": store_id,
            "data_dir": data_dir,
            "readers": [room.model_copy(update={"topic": reader_topic})],
            "cameras": [],
        }
    )


def epc_for(gtin: str, serial: int) -> str:
    """SGTIN-96 of a demo-catalog GTIN (company prefix 0614141; indicator digit first)."""
    epc = encode_sgtin96(COMPANY_PREFIX, gtin[0] + gtin[1 + len(COMPANY_PREFIX) : 13], serial)
    if gtin_of(epc) != gtin:
        raise ValueError(f"GTIN {gtin} is not under the demo company prefix {COMPANY_PREFIX}")
    return epc


def zebra_event(epc: str, antenna: int, rssi_dbm: int, ts_ms: int) -> dict[str, Any]:
    """One IoT Connector tag data event (edge/rfid/zebra.py)."""
    return {
        "data": {"antenna": antenna, "format": "epc", "idHex": epc.lower(), "peakRssi": rssi_dbm},
        "timestamp": format_utc(ts_ms)[:-1] + "+0000",
        "type": "INVENTORY",
    }


def percentiles(values_ms: list[float]) -> dict[str, float]:
    if len(values_ms) < 2:
        only = values_ms[0] if values_ms else 0.0
        return {"p50": only, "p90": only, "p99": only, "max": only}
    cuts = statistics.quantiles(values_ms, n=100, method="inclusive")
    return {"p50": cuts[49], "p90": cuts[89], "p99": cuts[98], "max": max(values_ms)}


class EmitProbe:
    """An owner-loop sink before the MQTT one: when each recommendation with items left the
    core (a session's end, which may share the arrival's timestamp, shows no items)."""

    def __init__(self) -> None:
        self.emitted_s: dict[int, float] = {}

    def emit(self, event: Event) -> None:
        if isinstance(event, Recommendation) and event.payload.items:
            self.emitted_s[event.ts_ms] = time.perf_counter()

    def close(self) -> None:
        pass


def _no_delay(_client: paho.Client, _userdata: Any, sock: Any) -> None:
    """Nagle's algorithm holds a small MQTT packet until the previous one is acknowledged,
    and the peer's delayed ACK takes up to 40 ms: a latency-sensitive client turns it off."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def mqtt_client(client_id: str, host: str, port: int) -> paho.Client:
    client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id)
    client.on_socket_open = _no_delay
    client.connect(host, port, keepalive=30)
    client.loop_start()
    return client


@dataclass
class _Session:
    room: str
    epc: str
    gtin: str
    first_ts_ms: int = 0
    reads: int = 0
    confirm_ts_ms: int = 0
    confirm_pub_s: float = 0.0
    done: bool = False


@dataclass
class _Measured:
    total_ms: float
    edge_ms: float | None
    recommendations: int


class SessionDriver:
    """Plays the reader and the tablet on this thread; times come from paho's threads."""

    def __init__(
        self,
        reader: paho.Client,
        reader_topic: str,
        clock: SystemClock,
        probe: EmitProbe,
        gtins: list[str],
        sessions: int,
        settle_ms: int,
        min_reads: int,
    ) -> None:
        self._reader = reader
        self._topic = reader_topic
        self._clock = clock
        self._probe = probe
        self._gtins = gtins
        self._target = sessions
        self._settle_ms = settle_ms
        self._min_reads = min_reads
        self._rng = random.Random(1)
        self._last_ts_ms = 0
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = 0
        self.inbox: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()
        self._pending: dict[int, _Session] = {}
        """Confirming read's ts -> its session, until its recommendation arrives."""
        self.started = 0
        self.lost = 0
        self.reads_published = 0
        self.measured: list[_Measured] = []

    # -- publishing ------------------------------------------------------------------------
    def next_ts_ms(self) -> int:
        """Now, but strictly after every earlier read: each read's timestamp is unique."""
        self._last_ts_ms = max(self._clock.now_ms(), self._last_ts_ms + 1)
        return self._last_ts_ms

    def publish(self, events: list[dict[str, Any]]) -> float:
        body = json.dumps(events[0] if len(events) == 1 else events)
        published_s = time.perf_counter()
        self._reader.publish(self._topic, body, qos=1)
        self.reads_published += len(events)
        return published_s

    def stock_backroom(self, serials: range) -> int:
        """Two rounds of backroom reads, ``arrival_settle_s`` apart; returns the tag count."""
        epcs = [epc_for(gtin, serial) for gtin in self._gtins for serial in serials]
        for round_number in range(max(2, self._min_reads)):
            ts_ms = self.next_ts_ms()
            for start in range(0, len(epcs), STOCK_BATCH):
                self.publish(
                    [
                        zebra_event(epc, BACKROOM_ANTENNA, BACKROOM_RSSI_DBM, ts_ms)
                        for epc in epcs[start : start + STOCK_BATCH]
                    ]
                )
            if round_number == 0:
                time.sleep(self._settle_ms / 1000 + 0.05)
        return len(epcs)

    # -- scheduling ------------------------------------------------------------------------
    def _at(self, delay_s: float, action: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (time.perf_counter() + max(0.0, delay_s), self._seq, action))

    def run(self) -> None:
        cycle_s = (self._settle_ms + READ_INTERVAL_MS) / 1000
        for slot in range(ITEMS_PER_ROOM):
            for room in ROOMS:
                self._at(slot * cycle_s / ITEMS_PER_ROOM, functools.partial(self._start, room))
        next_report = max(1, self._target // 10)
        while len(self.measured) + self.lost < self._target:
            now = time.perf_counter()
            while self._heap and self._heap[0][0] <= now:
                heapq.heappop(self._heap)[2]()
            wait_s = self._heap[0][0] - time.perf_counter() if self._heap else 0.5
            try:
                received_s, payload = self.inbox.get(timeout=max(0.0, wait_s))
            except queue.Empty:
                continue
            self._received(received_s, payload)
            if len(self.measured) >= next_report:
                done = [m.total_ms for m in self.measured]
                _say(
                    f"{len(done)}/{self._target} sessions, p50 {statistics.median(done):.1f} ms, "
                    f"max {max(done):.1f} ms, lost {self.lost}"
                )
                next_report += max(1, self._target // 10)

    # -- one session -----------------------------------------------------------------------
    def _start(self, room: str) -> None:
        if self.started >= self._target:
            return
        gtin = self._rng.choice(self._gtins)
        session = _Session(room, epc_for(gtin, SESSION_SERIAL_BASE + self.started), gtin)
        self.started += 1
        self._arrival_read(session)

    def _arrival_read(self, session: _Session) -> None:
        ts_ms = self.next_ts_ms()
        rssi = ROOM_RSSI_DBM + self._rng.randint(-2, 2)
        published_s = self.publish([zebra_event(session.epc, ROOMS[session.room], rssi, ts_ms)])
        if session.reads == 0:
            session.first_ts_ms = ts_ms
        session.reads += 1
        placed = ts_ms - session.first_ts_ms >= self._settle_ms
        if session.reads >= self._min_reads and placed:
            # The tracker places the tag on this read (edge/rfid/tracker.py).
            session.confirm_ts_ms, session.confirm_pub_s = ts_ms, published_s
            self._pending[ts_ms] = session
            self._at(LOST_AFTER_S, lambda: self._give_up(session))
            return
        due_ms = session.first_ts_ms + session.reads * READ_INTERVAL_MS
        due_ms = min(due_ms, session.first_ts_ms + max(self._settle_ms, READ_INTERVAL_MS))
        self._at((due_ms - self._clock.now_ms()) / 1000, lambda: self._arrival_read(session))

    def _received(self, received_s: float, payload: bytes) -> None:
        event = json.loads(payload)
        ts_ms = datetime_to_ms(datetime.fromisoformat(event["ts"]))
        session = self._pending.get(ts_ms)
        if session is None or session.gtin not in event["payload"]["items"]:
            # Not timed: the recommendation after an item left, or the end of the room's
            # previous session, which the arrival's read may close at the same timestamp.
            return
        del self._pending[ts_ms]
        emitted_s = self._probe.emitted_s.pop(ts_ms, None)
        self.measured.append(
            _Measured(
                total_ms=(received_s - session.confirm_pub_s) * 1000,
                edge_ms=(emitted_s - session.confirm_pub_s) * 1000 if emitted_s else None,
                recommendations=len(event["payload"]["recommendations"]),
            )
        )
        self._finish(session)

    def _give_up(self, session: _Session) -> None:
        if self._pending.pop(session.confirm_ts_ms, None) is not None:
            self.lost += 1
            _say(f"no recommendation for {session.epc} in {session.room} in {LOST_AFTER_S} s")
            self._finish(session)

    def _finish(self, session: _Session) -> None:
        """Take the item to the backroom and bring the room's next one."""
        if session.done:
            return
        session.done = True
        self.publish(
            [
                zebra_event(session.epc, BACKROOM_ANTENNA, BACKROOM_RSSI_DBM, self.next_ts_ms())
                for _ in range(self._min_reads)
            ]
        )
        self._at(NEXT_ITEM_GAP_S, lambda: self._start(session.room))


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"bench e2e: {what} did not happen within {timeout_s:.0f} s")
        time.sleep(0.1)


def tick_every_second(
    tick: Callable[[int], None], clock: SystemClock, stop: threading.Event
) -> None:
    while not stop.wait(1.0):
        tick(clock.now_ms())


def run(args: argparse.Namespace) -> dict[str, Any]:
    quick = bool(getattr(args, "quick", False))
    target = SESSIONS_QUICK if quick else SESSIONS_FULL
    run_id = uuid.uuid4().hex[:10]
    store_id = f"bench-e2e-{run_id}"
    reader_topic = f"o2o-bench/{run_id}/zebra/fx9600-room/data"
    clock = SystemClock()
    probe = EmitProbe()
    with tempfile.TemporaryDirectory(prefix="o2o-bench-e2e-") as data_dir:
        config = bench_config(load_store_config(DEMO_STORE), store_id, Path(data_dir), reader_topic)
        host, port = config.mqtt.host, config.mqtt.port
        # The edge as `o2o-edge run` builds it, without the sync (measured in `bench sync`).
        built = build_edge(
            config,
            EdgeOptions(
                clock=clock,
                factory=EventFactory(store_id),
                sinks=[probe],
                live_cameras=False,
                sync=False,
            ),
        )
        assembly = built.runtime
        recommender = assembly.owner.core.recommender
        if recommender is None:
            raise RuntimeError("bench e2e: the recommender did not load (see the log above)")
        gtins = list(recommender.catalog.gtins)

        tablet = mqtt_client(f"{store_id}-tablet", host, port)
        reader = mqtt_client(f"{store_id}-reader", host, port)
        driver = SessionDriver(
            reader,
            reader_topic,
            clock,
            probe,
            gtins,
            target,
            round(config.tracker.arrival_settle_s * 1000),
            config.tracker.min_reads_for_zone,
        )
        subscribed = threading.Event()
        tablet.on_subscribe = lambda *_: subscribed.set()
        tablet.on_message = lambda _c, _u, message: driver.inbox.put(
            (time.perf_counter(), bytes(message.payload))
        )
        for room in ROOMS:
            tablet.subscribe(
                tablet_topic(config.mqtt.topic_prefix, store_id, room, "recommendations"), qos=1
            )
        stop_ticker = threading.Event()
        ticker = threading.Thread(
            target=tick_every_second,
            args=(assembly.owner.submit_tick, clock, stop_ticker),
            daemon=True,
        )
        try:
            wait_for(subscribed.is_set, 10, "the tablet's subscription")
            assembly.start()
            try:
                wait_for(
                    lambda: assembly.connection.wait_subscribed(reader_topic, 0.1),
                    10,
                    "the edge's subscription to the reader",
                )
                ticker.start()
                _say(f"edge {store_id} up; stocking the backroom ({len(gtins)} products)")
                stocked = driver.stock_backroom(range(1, STOCK_PER_PRODUCT + 1))
                wait_for(
                    lambda: assembly.owner.call(lambda core: core.tracker.tags_present) >= stocked,
                    30,
                    f"{stocked} items placed in the backroom",
                )
                _say(f"{stocked} items in the backroom; {target} sessions in {len(ROOMS)} rooms")
                cpu_before, wall_before = time.process_time(), time.perf_counter()
                driver.run()
                cpu_s = time.process_time() - cpu_before
                wall_s = time.perf_counter() - wall_before
                load_avg = os.getloadavg()[0]
                counters = assembly.connection.counters()
            finally:
                stop_ticker.set()
                assembly.stop()
                clear_retained(reader, config)
        finally:
            for client in (reader, tablet):
                client.disconnect()
                client.loop_stop()
    if not driver.measured:
        raise RuntimeError(f"bench e2e: no recommendation arrived ({driver.lost} sessions lost)")
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = percentiles([m.total_ms for m in driver.measured])
    edge = percentiles([m.edge_ms for m in driver.measured if m.edge_ms is not None])
    outbound = percentiles(
        [m.total_ms - m.edge_ms for m in driver.measured if m.edge_ms is not None]
    )
    _say(f"done: {len(driver.measured)} sessions in {wall_s:.0f} s; p99 {total['p99']:.1f} ms")
    figures: dict[str, Any] = {
        "sessions": len(driver.measured),
        "lost": driver.lost,
        "p50_ms": round(total["p50"], 2),
        "p90_ms": round(total["p90"], 2),
        "p99_ms": round(total["p99"], 2),
        "max_ms": round(total["max"], 2),
        "mean_ms": round(statistics.fmean(m.total_ms for m in driver.measured), 2),
        "edge_p50_ms": round(edge["p50"], 2),
        "edge_p99_ms": round(edge["p99"], 2),
        "out_p50_ms": round(outbound["p50"], 2),
        "out_p99_ms": round(outbound["p99"], 2),
        "target_p99_ms": TARGET_P99_MS,
        "recs_per_session": round(statistics.fmean(m.recommendations for m in driver.measured), 2),
        "rooms": len(ROOMS),
        "items_per_room": ITEMS_PER_ROOM,
        "stock_items": stocked,
        "catalog_size": len(gtins),
        "reads_published": driver.reads_published,
        "events_published": counters.published,
        "events_dropped": counters.dropped,
        "wall_s": round(wall_s, 1),
        "cpu_s": round(cpu_s, 1),
        "load_avg": round(load_avg, 2),
        "cpus": os.cpu_count(),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "topic": "tablets/{zone}/recommendations",
        "bench_clients_tcp_nodelay": True,
        "quick": quick,
    }
    figures.update(_recommender_alone(args))
    return figures


def _recommender_alone(args: argparse.Namespace) -> dict[str, Any]:
    """``edge.bench.recommend``'s latency figures (its catalog size under ``rec_``)."""
    from edge.bench import recommend

    _say("recommender alone (edge.bench.recommend)")
    figures = recommend.run(args)
    merged = {key: value for key, value in figures.items() if key.startswith("rec_")}
    merged["rec_catalog_size"] = figures["catalog_size"]
    merged["rec_calls"] = figures["calls"]
    merged["target_rec_p99_ms"] = figures["target_rec_p99_ms"]
    return merged


def clear_retained(client: paho.Client, config: StoreConfig) -> None:
    """The edge leaves retained status messages; a bench store must not litter the broker."""
    components = ["edge", *(f"reader-{reader.id}" for reader in config.readers)]
    for component in components:
        topic = status_topic(config.mqtt.topic_prefix, config.store_id, component)
        client.publish(topic, b"", qos=1, retain=True).wait_for_publish(2.0)
