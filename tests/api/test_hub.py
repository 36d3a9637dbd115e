"""The event hub: per-client filters, bounded queues that drop the oldest, hand-over from the
owner thread to the API's event loop."""

from __future__ import annotations

import asyncio
import json
import threading

from edge.api.hub import ClientFilter, EventHub
from edge.events.alerts import (
    AlertAcknowledged,
    AlertAckPayload,
    AlertKind,
    AlertPayload,
    AlertRaised,
    Severity,
)
from edge.events.base import Event, EventFactory, ms_to_datetime
from edge.events.rfid import TagArrived, TagArrivedPayload

T0 = 1_772_877_600_000
factory = EventFactory("hubtest")


def arrived(zone: str, serial: int = 1) -> Event:
    return factory.make(
        TagArrived,
        ts_ms=T0 + serial,
        source="test",
        payload=TagArrivedPayload(
            epc=f"3034257BF40ABE40000003{serial:02X}",
            zone=zone,
            zone_kind="fitting_room",
            reader_id="room-reader",
            antenna=1,
            rssi_dbm=-55.0,
        ),
    )


def alert(kind: AlertKind, zone: str) -> AlertRaised:
    return factory.make(
        AlertRaised,
        ts_ms=T0,
        source="test",
        payload=AlertPayload(
            alert_id=f"{kind.value}-{zone}",
            kind=kind,
            severity=Severity.WARNING,
            zone=zone,
            subject="s",
            text="t",
            created=ms_to_datetime(T0),
        ),
    )


def ack(alert_id: str) -> Event:
    return factory.make(
        AlertAcknowledged,
        ts_ms=T0,
        source="test",
        payload=AlertAckPayload(
            alert_id=alert_id, staff_id="maria", acknowledged=ms_to_datetime(T0)
        ),
    )


async def drain(client: object) -> list[str]:
    types = []
    while (message := await client.next(0.05)) is not None:  # type: ignore[attr-defined]
        types.append(
            json.loads(message)["type"] + ":" + json.loads(message)["payload"].get("zone", "")
        )
    return types


def test_a_tablet_gets_only_its_zone_and_its_size_requests() -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        hub = EventHub()
        hub.attach(asyncio.get_running_loop())
        tablet = hub.connect(ClientFilter(zone="fitting-1"))
        staff = hub.connect(ClientFilter())
        size_request = alert(AlertKind.SIZE_REQUEST, "fitting-1")
        events = [
            arrived("fitting-1"),
            arrived("fitting-2", 2),
            size_request,
            alert(AlertKind.SIZE_REQUEST, "fitting-2"),
            alert(AlertKind.EXIT_UNSOLD, "fitting-1"),
            ack(size_request.payload.alert_id),
            ack("size_request-fitting-2"),
        ]
        emitter = threading.Thread(target=lambda: [hub.emit(e) for e in events])
        emitter.start()
        emitter.join()
        await asyncio.sleep(0.05)
        return await drain(tablet), await drain(staff)

    tablet, staff = asyncio.run(scenario())
    assert tablet == [
        "tag.arrived:fitting-1",
        "alert.raised:fitting-1",
        "alert.acknowledged:",
    ]
    assert len(staff) == 7


def test_a_slow_client_loses_the_oldest_events_and_they_are_counted() -> None:
    async def scenario() -> tuple[list[str], int]:
        hub = EventHub(queue_size=3)
        hub.attach(asyncio.get_running_loop())
        client = hub.connect(ClientFilter())
        for serial in range(5):
            hub.emit(arrived("fitting-1", serial))
        await asyncio.sleep(0.05)
        dropped = hub.dropped
        messages = []
        while (message := await client.next(0.01)) is not None:
            messages.append(json.loads(message)["payload"]["epc"][-2:])
        return messages, dropped

    messages, dropped = asyncio.run(scenario())
    assert messages == ["02", "03", "04"]
    assert dropped == 2


def test_closing_the_hub_ends_every_client_and_later_events_go_nowhere() -> None:
    async def scenario() -> tuple[bool, str | None]:
        hub = EventHub()
        hub.attach(asyncio.get_running_loop())
        client = hub.connect(ClientFilter())
        hub.close()
        await asyncio.sleep(0.01)
        hub.emit(arrived("fitting-1"))
        return client.closed, await client.next(0.05)

    assert asyncio.run(scenario()) == (True, None)


def test_events_before_the_server_starts_are_dropped_quietly() -> None:
    hub = EventHub()
    hub.emit(arrived("fitting-1"))  # no loop attached: nobody to deliver to
    assert hub.events == 0
