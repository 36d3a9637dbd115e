"""The edge as ``o2o-edge run`` builds it (the composition root), on the demo store with a
virtual clock, its API in a TestClient; tag reads and face observations go straight into its
owner loop, as the drivers hand them over: what the tablet, staff and dashboard endpoints see."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from edge.api.devices import DeviceRegistry, DeviceRole, NewDevice
from edge.api.hub import EventHub
from edge.app.compose import Edge as BuiltEdge
from edge.app.compose import EdgeOptions
from edge.clock import VirtualClock
from edge.config.store import StoreConfig
from edge.rfid.epc import encode_sgtin96
from edge.rfid.reads import TagRead
from edge.runtime.core import StoreCore
from edge.runtime.owner import OwnerLoop
from edge.service.store import StoreService
from tests.api.harness import demo_config, seen
from tests.edge_harness import private_store, running_edge

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
    built: BuiltEdge
    clock: VirtualClock
    client: TestClient
    t_ms: int = START_MS

    @property
    def config(self) -> StoreConfig:
        return self.built.config

    @property
    def owner(self) -> OwnerLoop:
        return self.built.owner

    @property
    def core(self) -> StoreCore:
        return self.built.owner.core

    @property
    def hub(self) -> EventHub:
        return self.built.hub

    @property
    def store(self) -> StoreService:
        return self.built.store

    @property
    def devices(self) -> DeviceRegistry:
        return self.built.devices

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
def edge(tmp_path: Path, store_id: str, mqtt_broker: tuple[str, int]) -> Iterator[Edge]:
    config = demo_config(store_id, tmp_path / "data", admin_token=ADMIN_TOKEN)
    clock = VirtualClock(START_MS)
    # Pairing codes expire on the test's clock too, so a test can move past their expiry.
    options = EdgeOptions(clock=clock, wall_clock=clock, live_cameras=False)
    with (
        private_store(config, f"o2o-test/{store_id}") as private,
        running_edge(private.config, options) as built,
        TestClient(built.http) as client,
    ):
        yield Edge(built, clock, client)


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
