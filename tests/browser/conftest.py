"""A live demo store for the browser tests, and headless Chromium.

The edge runs for real, built by the composition root as ``o2o-edge run`` builds it
(``edge.app.compose.build_edge``): its MQTT reader drivers and the staff acknowledgement input
on the real broker, the tag tracker, alert rules, fusion and the recommender around one owner
loop on the wall clock, its API served by uvicorn. A simulated capture of a fitting-room
scenario (``edge.replay.simulator``, timed to start now) is played onto the broker in real
time, as the readers would publish it; the shelf reader, a serial R2000 in the demo store, is
an MQTT reader here so that one feeder plays all readers. Chromium is Debian's
(``/usr/bin/chromium``), driven by Playwright.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from edge.api.devices import DeviceRole, NewDevice
from edge.api.server import ApiServer
from edge.app.compose import Edge, build_edge
from edge.clock import SystemClock
from edge.config.readers import ImpinjMqttReader, ZebraMqttReader
from edge.config.store import StoreConfig
from edge.replay.capture import Capture, MqttMessage
from edge.replay.scenarios import GONE, ItemSpec, Scenario, Stay
from edge.replay.simulator import simulate
from tests.api.harness import demo_config, seen

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
TABLET_VIEWPORT = {"width": 1280, "height": 800}
"""A 10-inch tablet in landscape."""


def _still(label: str, reference: str, serial: int, zone: str) -> ItemSpec:
    return ItemSpec(label, reference, serial, (Stay(0, zone),))


def fitting_room_scenario(start: datetime, extra: tuple[ItemSpec, ...] = ()) -> Scenario:
    """Two sweaters carried from shelf A into fitting room 1, where they stay; stock on the
    shelves (chinos, tees, the navy sweater in S) and in the backroom (the navy and red
    sweaters in L)."""
    into_room = (Stay(0, "shelf-a"), Stay(1, GONE), Stay(2, "fitting-1"))
    return Scenario(
        name="tablet_fitting_room",
        description="Two sweaters go into fitting room 1; stock on shelves and in the backroom",
        duration_s=300,
        start=start,
        items=(
            ItemSpec("sweater-navy-m", "011001", 1001, into_room),
            ItemSpec("sweater-red-m", "011002", 1002, into_room),
            _still("tee-white-s", "012001", 3001, "shelf-a"),
            _still("chino-beige-32", "013001", 3003, "shelf-b"),
            _still("chino-navy-34", "013002", 3004, "shelf-b"),
            _still("sweater-navy-s", "011101", 2002, "shelf-a"),
            _still("sweater-navy-l", "011102", 2001, "backroom"),
            _still("sweater-red-l", "011105", 2003, "backroom"),
            _still("carton-tee-white-m", "012003", 3005, "backroom"),
            *extra,
        ),
    )


def browser_store(store_id: str, data_dir: Path, namespace: str) -> StoreConfig:
    config = demo_config(store_id, data_dir, host="127.0.0.1", port=0)
    readers: list[Any] = []
    for reader in config.readers:
        if isinstance(reader, ZebraMqttReader | ImpinjMqttReader):
            readers.append(reader.model_copy(update={"topic": f"{namespace}/{reader.topic}"}))
        else:
            readers.append(
                ZebraMqttReader(
                    id=reader.id,
                    kind="zebra_mqtt",
                    antennas=reader.antennas,
                    topic=f"{namespace}/zebra/fx9600-shelf/data",
                )
            )
    return config.model_copy(update={"readers": readers})


class Feeder:
    """Publishes a capture's reader messages, on the topics the readers are configured with,
    at their own times (the capture starts now)."""

    def __init__(self, capture: Capture, host: str, port: int) -> None:
        import paho.mqtt.client as paho

        self._records = [r for r in capture.records() if isinstance(r, MqttMessage)]
        self._client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        self._client.connect(host, port)
        self._client.loop_start()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="capture-feeder", daemon=True)
        self.published = 0

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        for record in self._records:
            delay = (record.t_ms - time.time() * 1000) / 1000
            if delay > 0 and self._stop.wait(delay):
                return
            self._client.publish(record.topic, record.payload, qos=0)
            self.published += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._client.loop_stop()
        self._client.disconnect()


@dataclass
class LiveStore:
    config: StoreConfig
    edge: Edge
    server: ApiServer
    feeder: Feeder
    port: int
    tablet: NewDevice
    staff: NewDevice
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alerts_prefix(self) -> str:
        return f"{self.config.mqtt.topic_prefix}/{self.config.store_id}/alerts"

    def stop_api(self) -> None:
        """Stop the API server (the edge behind it keeps running)."""
        self.server.stop()
        self.edge.server = None

    def start_api(self) -> None:
        """Serve the same edge on the same port again."""
        self.server = self.edge.serve("127.0.0.1", self.port)


@pytest.fixture(scope="module")
def extra_items() -> tuple[ItemSpec, ...]:
    """Items a test module adds to the fitting-room scenario (override in the module)."""
    return ()


@pytest.fixture(scope="module")
def live_store(
    tmp_path_factory: pytest.TempPathFactory,
    mqtt_broker: tuple[str, int],
    extra_items: tuple[ItemSpec, ...],
) -> Iterator[LiveStore]:
    host, port = mqtt_broker
    store_id = f"b{uuid.uuid4().hex[:10]}"
    tmp = tmp_path_factory.mktemp("browser-store")
    config = browser_store(store_id, tmp / "data", f"o2o-test/{store_id}")
    config = config.model_copy(
        update={"mqtt": config.mqtt.model_copy(update={"host": host, "port": port})}
    )
    capture_dir = tmp / "capture"
    simulate(fitting_room_scenario(datetime.now(UTC), extra_items), config, capture_dir, seed=5)
    capture = Capture.open(capture_dir)

    clock = SystemClock()
    edge = build_edge(config)
    edge.start()
    assembly = edge.runtime
    assert assembly.store_inputs.wait_subscribed(10)
    for driver in assembly.mqtt_drivers.values():
        assert assembly.connection.wait_subscribed(driver.config.topic, 10)
    stop = threading.Event()

    def ticker() -> None:
        while not stop.wait(1.0):
            assembly.owner.submit_tick(clock.now_ms())

    threading.Thread(target=ticker, name="ticker", daemon=True).start()
    feeder = Feeder(capture, host, port)
    feeder.start()
    # The room's camera recognises Ana (consented, gold), as the face tracker reports it.
    assembly.owner.submit_observation(seen("m-ana", "fitting-1", clock.now_ms()))
    server = edge.serve("127.0.0.1", 0)
    tablet = edge.devices.add("tablet-fitting-1", DeviceRole.TABLET, "fitting-1")
    staff = edge.devices.add("maria", DeviceRole.STAFF)
    store = LiveStore(config, edge, server, feeder, server.port, tablet, staff, stop=stop)
    yield store
    stop.set()
    feeder.stop()
    edge.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed: scripts/bootstrap.sh --browser installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class AlertSubscriber:
    """A staff handheld: a real MQTT subscriber on the store's alert topics."""

    def __init__(self, host: str, port: int, topic: str) -> None:
        import paho.mqtt.client as paho

        self.messages: list[tuple[str, bytes]] = []
        self._subscribed = threading.Event()
        self._client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        self._client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_message = lambda _c, _u, m: self.messages.append((m.topic, m.payload))
        self._client.connect(host, port)
        self._client.loop_start()
        assert self._subscribed.wait(10), "subscription to the alert topic failed"

    def publish(self, topic: str, payload: str) -> None:
        self._client.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


@pytest.fixture
def handheld(live_store: LiveStore, mqtt_broker: tuple[str, int]) -> Iterator[AlertSubscriber]:
    subscriber = AlertSubscriber(*mqtt_broker, f"{live_store.alerts_prefix}/size_request")
    yield subscriber
    subscriber.close()
