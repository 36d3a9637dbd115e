"""Child process of the SIGKILL durability test: appends events to an outbox in a loop and
prints each event_id on stdout only after ``append``/``append_many`` has returned."""

from __future__ import annotations

import sys

from cloud_sync.client.outbox import Outbox
from edge.events.base import EventFactory, EventIdGenerator
from edge.events.rfid import TagArrived, TagArrivedPayload


def main(path: str, store_id: str) -> None:
    factory = EventFactory(store_id, EventIdGenerator(b"kill"))
    outbox = Outbox(path)
    i = 0
    while True:
        size = 1 + i % 7  # mix single appends and small batches
        events = [
            factory.make(
                TagArrived,
                ts_ms=1_795_000_000_000 + i + k,
                source=f"reader:r{(i + k) % 2}",
                payload=TagArrivedPayload(
                    epc=f"{i + k:024X}",
                    zone="z",
                    zone_kind="shelf",
                    reader_id="r",
                    antenna=1,
                    rssi_dbm=-50.0,
                ),
            )
            for k in range(size)
        ]
        if size == 1:
            outbox.append(events[0])
        else:
            outbox.append_many(events)
        sys.stdout.write("".join(f"{e.event_id}\n" for e in events))
        sys.stdout.flush()
        i += size


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
