"""A store for fusion scenarios: the engine fed as the runtime's owner loop feeds it.

Tag changes are applied to a real :class:`StockView` first (as the tag tracker does before it
reports them), departures also go through the real ``exit_unsold`` rule, and every output is
turned into events with a seeded factory, alert events being recorded for acknowledgements.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edge.alerts.rules import AlertRules
from edge.config.loader import parse_store_config
from edge.config.store import StoreConfig
from edge.events.base import Event, EventFactory, EventIdGenerator
from edge.events.fusion import SalePayload
from edge.events.rfid import TagDeparted
from edge.fusion.directory import MemberDirectory, MemberProfile
from edge.fusion.engine import FusionEngine, FusionOutput, Recommend, to_events
from edge.fusion.sales import SaleResult
from edge.recommend.catalog import Catalog
from edge.rfid.epc import encode_sgtin96, gtin_of
from edge.rfid.stock import StockView
from edge.rfid.tracker import ChangeKind, TagChange, apply_change
from edge.vision.face_tracker import MemberSeenObservation
from edge.vision.frames import CameraStatus

REPO = Path(__file__).resolve().parents[2]
CATALOG = Catalog.load(REPO / "firmware_configs" / "demo_catalog.json")

T0 = 1_795_000_000_000
"""2026-11-18T...: every scenario starts here."""
S = 1000
MIN = 60 * S

SWEATER_NAVY_M = "011001"
SWEATER_RED_M = "011002"
CARDIGAN_GREY_M = "011003"
CHINO_BEIGE_32 = "013001"

ZONES = [
    {"id": "entrance", "kind": "entrance", "name": "Entrance"},
    {"id": "shelf-a", "kind": "shelf", "name": "Shelf A"},
    {"id": "shelf-b", "kind": "shelf", "name": "Shelf B"},
    {"id": "fitting-1", "kind": "fitting_room", "name": "Fitting room 1"},
    {"id": "fitting-2", "kind": "fitting_room", "name": "Fitting room 2"},
    {"id": "pos", "kind": "pos", "name": "Checkout"},
    {"id": "exit", "kind": "exit", "name": "Exit gate"},
    {"id": "backroom", "kind": "backroom", "name": "Stock room"},
]
KINDS = {zone["id"]: zone["kind"] for zone in ZONES}


def store_config(store_id: str = "fusion-test", **overrides: Any) -> StoreConfig:
    data: dict[str, Any] = {
        "store_id": store_id,
        "zones": ZONES,
        "cameras": [
            {"id": "cam-door", "zone": "entrance", "source": 0},
            {"id": "cam-fit1", "zone": "fitting-1", "source": 1},
        ],
        "alerts": {"repeat_interval_s": 300},
        "api": {"admin_token": "sales-token-0123456789"},
        # This harness feeds tag changes, not reads: exit_unsold comes from the departure
        # rule here (the gate's exit-read rule is tested in tests/alerts/test_gate.py).
        "gate": {"enabled": False},
    }
    data.update(overrides)
    return parse_store_config(data, "test")


def epc(item_reference: str, serial: int) -> str:
    return encode_sgtin96("0614141", item_reference, serial)


def gtin(item_reference: str) -> str:
    found = gtin_of(epc(item_reference, 1))
    assert found is not None
    return found


ANNA = MemberProfile(
    member_id="m-anna",
    first_name="Anna",
    tier="gold",
    consent=True,
    sizes=("M",),
    history_gtins=(),
)
BOB = MemberProfile(member_id="m-bob", first_name="Bob", tier="standard", consent=True)
CARL = MemberProfile(member_id="m-carl", first_name="Carl", tier="platinum", consent=False)


class Store:
    def __init__(
        self,
        config: StoreConfig | None = None,
        *,
        members: Sequence[MemberProfile] = (ANNA, BOB, CARL),
        recommend: Recommend | None = None,
        stock: StockView | None = None,
    ) -> None:
        self.config = config or store_config()
        self.stock = stock or StockView()
        self.rules = AlertRules.from_store_config(self.config)
        self.engine = FusionEngine(
            self.config,
            self.rules,
            stock_of=self.stock.stock_of,
            directory=MemberDirectory(members),
            catalog_of=lambda: CATALOG,
            recommend=recommend,
        )
        self.factory = EventFactory(self.config.store_id, EventIdGenerator(seed=b"fusion-tests"))
        self.events: list[Event] = []
        self._zones: dict[str, str] = {}

    # Inputs, as the owner loop hands them over -------------------------------------------
    def put(self, epc_hex: str, zone: str, ts_ms: int) -> list[Event]:
        """The tracker places a tag in ``zone`` (arrived, moved or returned)."""
        before = self._zones.get(epc_hex)
        if before == zone:
            return []
        if before is None:
            kind = ChangeKind.ARRIVED
        elif before == "":
            kind = ChangeKind.RETURNED
        else:
            kind = ChangeKind.MOVED
        change = self._change(kind, epc_hex, zone, ts_ms, from_zone=before or None)
        self._zones[epc_hex] = zone
        return self._feed(change)

    def depart(self, epc_hex: str, ts_ms: int, *, via_exit: bool = False) -> list[Event]:
        zone = self._zones[epc_hex]
        change = self._change(
            ChangeKind.DEPARTED,
            epc_hex,
            zone,
            ts_ms,
            via_exit=via_exit,
            last_zone="exit" if via_exit else zone,
            last_seen_ms=ts_ms - 30 * S,
        )
        self._zones[epc_hex] = ""
        return self._feed(change)

    def seen(
        self,
        member_id: str,
        zone: str,
        ts_ms: int,
        camera_id: str | None = None,
        *,
        first_seen_ms: int | None = None,
    ) -> list[Event]:
        """``member_id`` recognised in ``zone`` at ``ts_ms`` (the decision), by ``camera_id``
        (default: the camera the config puts in that zone)."""
        if camera_id is None:
            cameras = [camera.id for camera in self.config.cameras if camera.zone == zone]
            camera_id = cameras[0] if cameras else "cam"
        obs = MemberSeenObservation(
            member_id=member_id,
            camera_id=camera_id,
            zone=zone,
            confidence=0.9,
            distance=0.4,
            votes=3,
            first_seen_ms=ts_ms - 500 if first_seen_ms is None else first_seen_ms,
            last_seen_ms=ts_ms,
        )
        return self.emit(self.engine.on_member_seen(obs))

    def sale(
        self, payload: SalePayload | dict[str, Any], ts_ms: int
    ) -> tuple[SaleResult, list[Event]]:
        if isinstance(payload, dict):
            payload = SalePayload.model_validate(payload)
        result, outputs = self.engine.on_sale(payload, ts_ms)
        return result, self.emit(outputs)

    def size_request(
        self,
        zone: str,
        gtin_: str,
        ts_ms: int,
        *,
        size: str | None = None,
        colour: str | None = None,
    ) -> list[Event]:
        return self.emit(
            self.engine.on_size_request(zone, gtin_, size=size, colour=colour, ts_ms=ts_ms)
        )

    def ack(self, alert_id: str, staff_id: str, ts_ms: int) -> list[Event]:
        return self.emit(self.engine.on_alert_ack(alert_id, staff_id, ts_ms))

    def camera(self, camera_id: str, online: bool, ts_ms: int, detail: str = "") -> list[Event]:
        return self.emit(
            self.engine.on_camera_status(CameraStatus(camera_id, online, ts_ms, detail))
        )

    def tick(self, now_ms: int) -> list[Event]:
        alerts = [n.to_event(self.factory) for n in self.rules.tick(now_ms)]
        self.engine.record_alerts(alerts)
        self.events.extend(alerts)
        return alerts + self.emit(self.engine.tick(now_ms))

    def emit(self, outputs: Sequence[FusionOutput]) -> list[Event]:
        events = to_events(outputs, self.factory)
        self.engine.record_alerts(events)
        self.events.extend(events)
        return events

    # Helpers ------------------------------------------------------------------------------
    def _change(
        self, kind: ChangeKind, epc_hex: str, zone: str, ts_ms: int, **more: Any
    ) -> TagChange:
        from edge.config.zones import ZoneKind

        return TagChange(
            kind=kind,
            epc=epc_hex,
            gtin=gtin_of(epc_hex),
            zone=zone,
            zone_kind=ZoneKind(KINDS[zone]),
            reader_id="reader-1",
            antenna=1,
            rssi_dbm=-55.0,
            ts_ms=ts_ms,
            **more,
        )

    def _feed(self, change: TagChange) -> list[Event]:
        apply_change(self.stock, change)
        tag_event = change.to_event(self.factory)
        events: list[Event] = [tag_event]
        if isinstance(tag_event, TagDeparted):
            events += [n.to_event(self.factory) for n in self.rules.on_tag_departed(tag_event)]
        self.engine.record_alerts(events)
        self.events.extend(events)
        return events + self.emit(self.engine.on_tag_change(change))


def kinds(events: Sequence[Event]) -> list[str]:
    """Event types, with the alert kind for alerts (tag events left out)."""
    out = []
    for event in events:
        if event.type.startswith("tag."):
            continue
        if event.type in ("alert.raised", "alert.resolved"):
            out.append(f"{event.type}:{event.payload.kind}")
        else:
            out.append(event.type)
    return out


def payloads(events: Sequence[Event], event_type: str) -> list[dict[str, Any]]:
    return [json.loads(e.payload.model_dump_json()) for e in events if e.type == event_type]
