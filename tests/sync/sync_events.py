"""Event builders shared by the sync tests (a plain module: conftest files are not importable
unambiguously when several test folders have one)."""

from __future__ import annotations

from edge.events.base import EventFactory, EventIdGenerator
from edge.events.rfid import TagArrived, TagArrivedPayload

T0_MS = 1_795_000_000_000


def tag_events(
    store_id: str,
    n: int,
    *,
    start_ms: int = T0_MS,
    step_ms: int = 100,
    sources: int = 3,
    seed: bytes = b"",
) -> list[TagArrived]:
    """``n`` tag.arrived events, ``step_ms`` apart, round-robin over ``sources`` readers."""
    # Seeded per store, as live edges seed randomly: ids are unique across stores at HQ.
    factory = EventFactory(store_id, EventIdGenerator(store_id.encode() + seed))
    return [
        factory.make(
            TagArrived,
            ts_ms=start_ms + step_ms * i,
            source=f"reader:dock-{i % sources}",
            payload=TagArrivedPayload(
                epc=f"30340242201D8C4000{i:06X}",
                gtin="04012345000019",
                zone="shelf-a",
                zone_kind="shelf",
                reader_id=f"dock-{i % sources}",
                antenna=1 + i % 4,
                rssi_dbm=-55.5,
            ),
        )
        for i in range(n)
    ]
