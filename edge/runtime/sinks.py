"""Where emitted events go: a JSON-lines file (replays), MQTT, the console (demo)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from cloud_sync.client.service import SyncClient
from edge.events.alerts import AlertRaised
from edge.events.base import Event
from edge.mqtt.publisher import EventPublisher


class JsonLinesSink:
    """Every event as one JSON line, flushed per event so a crash loses nothing written."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("w", encoding="utf-8")

    def emit(self, event: Event) -> None:
        self._file.write(event.to_json() + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class MqttSink:
    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher

    def emit(self, event: Event) -> None:
        self._publisher.publish(event)

    def close(self) -> None:
        pass


class ConsoleSink:
    """One readable line per event for people watching the demo; alerts stand out."""

    def __init__(self, stream: TextIO = sys.stdout) -> None:
        self._stream = stream

    def emit(self, event: Event) -> None:
        if isinstance(event, AlertRaised):
            line = f"{event.ts:%H:%M:%S} ALERT {event.payload.kind}: {event.payload.text}"
        else:
            line = f"{event.ts:%H:%M:%S} {event.type:<16} {summarise(event)}"
        print(line, file=self._stream, flush=True)

    def close(self) -> None:
        pass


def summarise(event: Event) -> str:
    payload = event.payload
    fields = payload.model_dump() if hasattr(payload, "model_dump") else dict(payload)
    shown = {k: v for k, v in fields.items() if k in _SUMMARY_KEYS and v is not None}
    return " ".join(f"{k}={v}" for k, v in shown.items())


_SUMMARY_KEYS = ("epc", "gtin", "from_zone", "zone", "member_id", "camera_id", "count", "via_exit")


class OutboxSink:
    """Commits every event to the outbox (SQLite, synchronous) before any later sink sees it:
    first in the list, so nothing is acknowledged anywhere that could still be lost."""

    def __init__(self, sync: SyncClient) -> None:
        self._sync = sync

    def emit(self, event: Event) -> None:
        self._sync.outbox.append(event)
        if self._sync.uploader is not None:
            self._sync.uploader.notify()

    def close(self) -> None:
        pass
