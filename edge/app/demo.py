"""``o2o-edge demo``: the whole demo store on one command, with no set-up beyond the install.

It starts headquarters on SQLite (``o2o-hq run``, a child process), registers the demo store
there and uploads its catalog, makes sure an MQTT broker answers (the one on 127.0.0.1:1883,
or an embedded amqtt broker it starts), simulates a store day (the start of a busy Saturday:
serial and MQTT readers, POS sales, and two cameras filming members who consented and
strangers, built from the shared face photographs when they are present) and replays it
through the real edge in real time (``--fast``: as fast as possible), with its events flowing
to headquarters through the real outbox and uploader. It prints the pages to open, the MQTT
topics and, at the end, a summary.
"""

from __future__ import annotations

import gzip
import itertools
import json
import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from cloud_sync.client.http import HqClient
from cloud_sync.client.service import SyncClient
from cloud_sync.client.status import SyncStatus
from edge.api.devices import DeviceRegistry, DeviceRole
from edge.app.demo_store import (
    DAY_MEMBERS,
    DAY_STRANGERS,
    Headquarters,
    HqError,
    enrol_members,
    face_data_dir,
    missing_people,
    store_day,
)
from edge.app.embedded_broker import EmbeddedBroker, broker_answers
from edge.app.replay import ReplaySetup, replay_edge
from edge.clock import SystemClock
from edge.config.loader import load_store_config
from edge.config.store import StoreConfig
from edge.config.sync import SyncConfig
from edge.config.zones import ZoneKind
from edge.events.alerts import AlertRaised
from edge.events.base import Event, EventFactory
from edge.events.fusion import TryOnOutcome, TryOnOutcomeEvent
from edge.events.stock import (
    StockChanged,
    StockChangedPayload,
    StockLevel,
    StockSnapshot,
    StockSnapshotPayload,
)
from edge.replay.capture import Capture
from edge.replay.replayer import ReplayStats
from edge.replay.simulator import simulate
from edge.runtime.owner import EventSink
from edge.runtime.sinks import ConsoleSink

log = logging.getLogger(__name__)

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware_configs"
DEMO_CONFIG = FIRMWARE / "demo_store.yaml"
DEMO_CAMERAS_CONFIG = FIRMWARE / "demo_store_cameras.yaml"
DEMO_MEMBER_PHONE = "+33600000001"
DEMO_CATALOG = FIRMWARE / "demo_catalog.json"
NEIGHBOUR_ID = "demo-opera"
NEIGHBOUR_NAME = "Paris Opéra"
NEIGHBOUR_AT = (48.8708, 2.3317)
"""2.1 km from the demo store (Hôtel de Ville)."""
NEIGHBOUR_HEARTBEAT_S = 240.0
"""Below the edge's stock heartbeat (300 s): the tablets never show counts gone stale."""
DAY_MINUTES = 10.0
DRAIN_TIMEOUT_S = 120.0


class CountingSink:
    """What the summary reports, counted as the events are emitted."""

    def __init__(self) -> None:
        self.by_type: Counter[str] = Counter()
        self.alerts: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()

    def emit(self, event: Event) -> None:
        self.by_type[event.type] += 1
        if isinstance(event, AlertRaised):
            self.alerts[event.payload.kind] += 1
        elif isinstance(event, TryOnOutcomeEvent):
            self.outcomes[event.payload.outcome] += 1

    def close(self) -> None:
        pass


class FollowAlongSink:
    """The console, without the tag events: thousands of them would bury the story."""

    def __init__(self) -> None:
        self._console = ConsoleSink()

    def emit(self, event: Event) -> None:
        if not event.type.startswith("tag."):
            self._console.emit(event)

    def close(self) -> None:
        pass


def pair_demo_devices(config: StoreConfig) -> dict[str, str]:
    """One tablet per fitting room and a staff device; returns the URL of each page."""
    registry = DeviceRegistry.from_store_config(config, SystemClock())
    host = config.api.host
    shown = lan_address() if host in ("0.0.0.0", "::", "") else host
    base = f"http://{shown}:{config.api.port}"
    urls = {"dashboard": f"{base}/#token={registry.add('demo-staff', DeviceRole.STAFF).token}"}
    urls["staff page"] = urls["dashboard"].replace(f"{base}/#", f"{base}/staff#")
    for zone in config.zones:
        if zone.kind is ZoneKind.FITTING_ROOM:
            token = registry.add(f"demo-tablet-{zone.id}", DeviceRole.TABLET, zone.id).token
            urls[f"tablet {zone.id}"] = f"{base}/tablet/{zone.id}#token={token}"
    return urls


def camera_photos() -> tuple[Path | None, str]:
    """The face photographs the cameras' videos are built from, or why there are none."""
    faces = face_data_dir()
    if faces is None:
        return None, (
            "face photographs not found (put the shared data set in ../shared/data/faces "
            "beside the repository, or name its folder in O2O_FACE_DATA)"
        )
    missing = missing_people(faces)
    if missing:
        return None, f"{faces} lacks photographs of {', '.join(missing)}"
    return faces, ""


def connect_to_hq(hq: Headquarters, config: StoreConfig) -> StoreConfig:
    """Register the store at HQ, upload the catalog; the store's config with sync on."""
    hq.start()
    key_id, secret = hq.create_store(config.store_id, config.name)
    products = hq.upload_catalog(DEMO_CATALOG)
    print(
        f"Headquarters (SQLite) at {hq.url}  (API docs: {hq.url}/docs, admin bearer token: "
        f"{hq.admin_token}); store '{config.store_id}' registered, {products} products uploaded"
    )
    members = hq.create_day_members(config.store_id)
    hq.create_demo_member(config.store_id, DEMO_MEMBER_PHONE)
    print(f"{members} loyalty members of the day created at headquarters (points, RFM)")
    print(
        f"Member page (a phone's view): {hq.url}/me  log in with phone {DEMO_MEMBER_PHONE}; "
        "the login code is shown here when you ask for it"
    )
    password = hq.create_console_users(config.store_id)
    print(
        f"HQ console: {hq.url}/console  log in as demo-admin / {password} "
        f"(demo-manager / {password}: the store manager's view)"
    )
    threading.Thread(target=_show_login_codes, args=(hq,), daemon=True).start()
    # Short batch age: the summary should not wait on a half-full batch.
    sync = SyncConfig(
        enabled=True, hq_url=hq.url, api_key_id=key_id, api_secret=secret, max_batch_age_s=0.5
    )
    return config.model_copy(update={"sync": sync})


@dataclass
class Neighbour:
    """The demo's second store: only its stock reaches HQ."""

    gtins: int
    events: int = 0
    """Events HQ stored from it (the summary counts the demo store's own)."""


def start_neighbour(hq: Headquarters) -> Neighbour:
    """Register the neighbouring store and send HQ its stock: every other size of the catalog,
    then an empty change every few minutes so that its counts stay fresh."""
    key_id, secret = hq.create_store(NEIGHBOUR_ID, NEIGHBOUR_NAME, NEIGHBOUR_AT)
    products = json.loads(DEMO_CATALOG.read_text(encoding="utf-8"))["products"]
    gtins = sorted(str(p["gtin"]) for p in products)[::2]
    levels = [StockLevel(gtin=g, floor=1, backroom=1) for g in gtins]
    client = HqClient(hq.url, key_id, secret)
    factory = EventFactory(NEIGHBOUR_ID)
    clock = SystemClock()
    neighbour = Neighbour(len(gtins))

    def send(event: Event) -> None:
        body = b'{"events":[' + event.model_dump_json().encode() + b"]}"
        response = client.post_events(NEIGHBOUR_ID, gzip.compress(body))
        if response.status_code != 200:
            log.warning("demo: %s's stock refused: HTTP %s", NEIGHBOUR_NAME, response.status_code)
            return
        neighbour.events += sum(r["status"] == "stored" for r in response.json()["results"])

    snapshot = StockSnapshotPayload(stream="demo", seq=1, part=1, parts=1, levels=levels)
    send(factory.make(StockSnapshot, ts_ms=clock.now_ms(), source="demo", payload=snapshot))

    def heartbeat() -> None:
        for seq in itertools.count(2):
            time.sleep(NEIGHBOUR_HEARTBEAT_S)
            change = StockChangedPayload(stream="demo", seq=seq, levels=[])
            event = factory.make(StockChanged, ts_ms=clock.now_ms(), source="demo", payload=change)
            try:
                send(event)
            except httpx.HTTPError as error:  # HQ stopping with the demo
                log.info("demo: %s's heartbeat not sent: %s", NEIGHBOUR_NAME, error)

    threading.Thread(target=heartbeat, name="o2o-demo-neighbour", daemon=True).start()
    print(
        f"A second store of the chain, {NEIGHBOUR_NAME} (2.1 km away), reports its stock to "
        f"headquarters ({neighbour.gtins} sizes): the tablets name it for a size this store lacks"
    )
    return neighbour


def _show_login_codes(hq: Headquarters) -> None:
    """The demo's stand-in for an SMS: codes HQ sends to the demo member, printed."""
    offset = 0
    while True:
        codes, offset = hq.login_codes(offset)
        for code in codes:
            print(f"Member page login code: {code}", flush=True)
        time.sleep(0.5)


def print_follow_along(config: StoreConfig) -> None:
    prefix = f"{config.mqtt.topic_prefix}/{config.store_id}"
    print(
        "Subscribe to follow along, e.g.:\n"
        f"  mosquitto_sub -h {config.mqtt.host} -p {config.mqtt.port} -v -t '{prefix}/#'\n"
        f"  events: {prefix}/events/<type>   alerts: {prefix}/alerts/<kind>   "
        f"status: {prefix}/status/<component>"
    )
    if config.api.enabled:
        print("Open in a browser (each link carries its device token):")
        for page, url in pair_demo_devices(config).items():
            print(f"  {page:<18} {url}")


def wait_for_drain(sync: SyncClient, timeout_s: float) -> int:
    """Wait until the outbox has handed every event to HQ; returns the backlog left."""
    deadline = time.monotonic() + timeout_s
    while (backlog := sync.status().backlog_events) and time.monotonic() < deadline:
        time.sleep(0.2)
    return backlog


def replay_day(
    config: StoreConfig,
    work: Path,
    *,
    fast: bool,
    speed: float,
    minutes: float,
    after_day: Callable[[ReplayStats, CountingSink, SyncStatus], None],
) -> None:
    """Replay the day through the real edge, then ``after_day`` while the edge still serves
    (the summary; in the interactive demo, staying up until Ctrl-C)."""
    faces, no_cameras = camera_photos()
    if faces is not None:
        config = load_store_config(DEMO_CAMERAS_CONFIG).model_copy(
            update={
                field: getattr(config, field) for field in ("store_id", "data_dir", "api", "sync")
            }
        )
    scenario = store_day(minutes * 60, cameras=faces is not None)
    capture_dir = work / "capture"
    simulate(scenario, config, capture_dir, seed=0)
    if faces is None:
        print(f"Cameras off: {no_cameras}; the demo runs without its camera part.")
    else:
        from edge.config.vision import GALLERY_KEY_ENV
        from edge.replay.camera_scenes import build_camera_capture
        from edge.vision.gallery_file import generate_key

        # The recognition worker processes inherit the gallery key from the environment.
        os.environ.setdefault(GALLERY_KEY_ENV, generate_key())
        capture_dir = work / "camera-capture"
        capture = build_camera_capture(work / "capture", faces, capture_dir)
        enrol_members(config, faces, capture.start_ms)
        print(
            f"Cameras on: {len(DAY_MEMBERS)} members enrolled with consent, "
            f"{len(DAY_STRANGERS)} unknown shoppers (never stored); videos built from {faces}"
        )
    print_follow_along(config)
    counter = CountingSink()
    sinks: list[EventSink] = [counter] if fast else [FollowAlongSink(), counter]
    pace = 0.0 if fast else speed
    # The real outbox first, as in a live store. The members were enrolled here, not at HQ:
    # HQ's (empty) gallery must not replace them.
    setup = ReplaySetup(speed=pace, serve=config.api.enabled, sync=True, sync_gallery=False)
    with replay_edge(Capture.open(capture_dir), config, sinks, setup) as (edge, replayer):
        assert edge.sync is not None
        print(
            f"Replaying '{scenario.name}' ({scenario.duration_s / 60:.0f} min): "
            f"{scenario.description}\n"
            + ("As fast as possible" if fast else f"At {pace:g}x real time")
            + "; Ctrl-C stops.\n",
            flush=True,
        )
        stats = replayer.play(edge.runtime)
        left = wait_for_drain(edge.sync, DRAIN_TIMEOUT_S)
        if left:
            print(f"{left} events still in the outbox after {DRAIN_TIMEOUT_S:.0f} s")
        status = edge.sync.status()
        after_day(stats, counter, status)


def print_summary(
    stats: ReplayStats,
    counter: CountingSink,
    status: SyncStatus,
    hq: Headquarters,
    store_id: str,
    others: int = 0,
) -> None:
    """``others``: events HQ stored from other stores than the demo's (its neighbour)."""
    tried = sum(counter.outcomes.values())
    purchased = counter.outcomes[TryOnOutcome.PURCHASED]
    hq_view = hq.conversion(store_id)
    alerts = ", ".join(f"{kind} {n}" for kind, n in sorted(counter.alerts.items())) or "none"
    print(
        f"\nSummary: {stats.records} records replayed in {stats.wall_s:.1f} s "
        f"({stats.speedup:.0f}x real time), {stats.events} events\n"
        f"  visits: {counter.by_type['visit.started']}\n"
        f"  try-ons: {counter.by_type['tryon.started']}\n"
        f"  conversions: {purchased} / {tried} tried items purchased"
        + (f" ({purchased / tried:.0%})" if tried else "")
        + f"\n  sales: {counter.by_type['sale']}\n"
        f"  alerts: {alerts}\n"
        f"  events synced to headquarters: {hq.events_stored() - others} "
        f"(outbox delivered {status.delivered_events}, backlog {status.backlog_events}, "
        f"dead letters {status.dead_letters}); HQ conversion report: "
        f"{hq_view.get('purchases', 0)} / {hq_view.get('tries', 0)}",
        flush=True,
    )


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def port_taken(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def lan_address() -> str:
    """This machine's address on its LAN (the route to a public address; nothing is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def run_demo(
    *,
    fast: bool,
    speed: float,
    port: int = 8080,
    host: str = "127.0.0.1",
    stay_up: bool = False,
    data_dir: Path | None = None,
    clean: bool = False,
    minutes: float = DAY_MINUTES,
    store_id: str | None = None,
) -> int:
    # One line per upload would bury the story.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # A plain `kill` stops the demo as Ctrl-C does, HQ (in its own session) included.
    signal.signal(signal.SIGTERM, _terminate)
    if port_taken(host, port):
        print(f"o2o-edge demo: port {port} on {host} is in use; choose another with --port")
        return 2
    if data_dir is None:
        work = Path(tempfile.mkdtemp(prefix="o2o-demo-"))
    else:
        # Each run in its own named folder, kept afterwards (HQ's database, the outbox).
        if clean and data_dir.is_dir():
            shutil.rmtree(data_dir)
        work = data_dir.resolve() / time.strftime("%Y%m%d-%H%M%S")
        work.mkdir(parents=True, exist_ok=False)
        print(f"Data of this run: {work} (kept; --clean removes earlier runs)")
    config = load_store_config(DEMO_CONFIG)
    # The demo keeps its state (devices, outbox, gallery, HQ's database) in a scratch folder.
    config = config.model_copy(
        update={
            "data_dir": work / "data",
            "api": config.api.model_copy(update={"port": port, "host": host}),
            "store_id": store_id or config.store_id,
        }
    )
    config.data_dir.mkdir(parents=True)
    broker = None
    hq = Headquarters(work / "hq")
    try:
        if broker_answers(config.mqtt.host, config.mqtt.port):
            print(f"Using the MQTT broker at {config.mqtt.host}:{config.mqtt.port}")
        else:
            broker = EmbeddedBroker(config.mqtt.host, config.mqtt.port)
            broker.start()
            print(f"Started an embedded MQTT broker on {config.mqtt.host}:{config.mqtt.port}")
        config = connect_to_hq(hq, config)
        neighbour = start_neighbour(hq)

        def after_day(stats: ReplayStats, counter: CountingSink, status: SyncStatus) -> None:
            print_summary(stats, counter, status, hq, config.store_id, neighbour.events)
            if stay_up:
                print(
                    "\nThe day is over; the pages and headquarters stay up to explore. "
                    "Ctrl-C stops.",
                    flush=True,
                )
                while True:
                    time.sleep(3600)

        replay_day(config, work, fast=fast, speed=speed, minutes=minutes, after_day=after_day)
    except KeyboardInterrupt:
        print("\nStopped.")
        return 130
    except HqError as error:
        print(f"Headquarters failed: {error}\n{hq.log_tail()}")
        return 1
    finally:
        hq.stop()
        if broker is not None:
            broker.stop()
        if data_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0
