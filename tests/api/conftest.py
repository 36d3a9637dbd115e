"""The runtime's real store core (tracker, alert rules, fusion, recommender) behind the API,
fed with tag reads and face observations directly (no broker): what the tablet, staff and
dashboard endpoints see."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from edge.api.app import create_app
from edge.api.devices import DeviceRegistry, DeviceRole, NewDevice
from edge.api.hub import EventHub
from edge.clock import VirtualClock
from edge.config.store import StoreConfig
from edge.events.base import EventFactory
from edge.rfid.epc import encode_sgtin96
from edge.rfid.reads import TagRead
from edge.runtime.core import StoreCore, load_recommender
from edge.runtime.owner import OwnerLoop
from edge.runtime.services import ActivityLog, EdgeServices
from tests.api.harness import demo_config, seen

START_MS = 1_772_877_600_000  # 2026-03-07 10:00 UTC
ANTENNAS = {
    "shelf-a": ("shelf-reader", 1),
    "shelf-b": ("shelf-reader", 3),
    "fitting-1": ("room-reader", 1),
    "fitting-2": ("room-reader", 2),
    "backroom": ("room-reader", 4),
}
NAVY_M = "00614141110018"
RED_M = "00614141110025"
ADMIN_TOKEN = "admin-token-0123456789"


@dataclass
class Edge:
    config: StoreConfig
    clock: VirtualClock
    core: StoreCore
    owner: OwnerLoop
    hub: EventHub
    services: EdgeServices
    devices: DeviceRegistry
    client: TestClient
    t_ms: int = START_MS

    def place(self, item_reference: str, serial: int, zone: str) -> str:
        """Three reads of one item by the antenna of ``zone``, over the tracker's arrival
        settle time: enough to place it there."""
        reader, antenna = ANTENNAS[zone]
        epc = encode_sgtin96("0614141", item_reference, serial)
        for _ in range(3):
            self.t_ms += 500
            self.owner.submit_read(TagRead(reader, antenna, epc, -55.0, self.t_ms))
        self.owner.sync()
        self.clock.set_ms(self.t_ms)
        return epc

    def member_seen(self, member_id: str, zone: str) -> None:
        self.t_ms += 50
        self.owner.submit_observation(seen(member_id, zone, self.t_ms))
        self.owner.sync()
        self.clock.set_ms(self.t_ms)

    def add(self, name: str, role: DeviceRole, zone: str | None = None) -> NewDevice:
        return self.devices.add(name, role, zone)


def auth(device: NewDevice | str) -> dict[str, str]:
    token = device if isinstance(device, str) else device.token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[Edge]:
    config = demo_config("apitest", tmp_path, admin_token=ADMIN_TOKEN)
    clock = VirtualClock(START_MS)
    factory = EventFactory(config.store_id)
    recommender = load_recommender(config)
    assert recommender is not None
    core = StoreCore(config, factory, recommender=recommender)
    hub = EventHub(config.api.ws_queue_size)
    activity = ActivityLog()
    owner = OwnerLoop(core, [activity, hub])
    owner.start()
    services = EdgeServices(
        owner, config, clock, catalog_of=lambda: recommender.catalog, activity=activity
    )
    devices = DeviceRegistry.from_store_config(config, clock)
    app = create_app(config, services=services, devices=devices, hub=hub, clock=clock)
    with TestClient(app) as client:
        yield Edge(config, clock, core, owner, hub, services, devices, client)
    owner.stop()


@pytest.fixture
def stocked(edge: Edge) -> Edge:
    """Stock on the shelves and in the backroom, two sweaters in fitting room 1."""
    edge.place("012001", 3001, "shelf-a")  # tee white S
    edge.place("013001", 3003, "shelf-b")  # chino beige 32
    edge.place("013002", 3004, "shelf-b")  # chino navy 34
    edge.place("011102", 2001, "backroom")  # sweater navy L
    edge.place("011001", 1001, "fitting-1")  # sweater navy M
    edge.place("011002", 1002, "fitting-1")  # sweater red M
    return edge
