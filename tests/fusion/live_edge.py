"""A running edge for the fusion tests that go through the composition root: the fusion test
store (no cameras, no readers), a virtual clock, every emitted event collected in order."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from edge.app.compose import Edge, EdgeOptions
from edge.clock import VirtualClock
from edge.events.base import Event
from tests.edge_harness import running_edge
from tests.fusion.fusion_store import T0, store_config


@dataclass
class Collector:
    """An event sink that keeps what the owner loop emits."""

    events: list[Event] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def emit(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def close(self) -> None:
        pass

    def snapshot(self) -> list[Event]:
        with self._lock:
            return list(self.events)


@contextmanager
def live_edge(store_id: str, data_dir: Path) -> Iterator[tuple[Edge, VirtualClock, Collector]]:
    clock = VirtualClock(T0)
    collector = Collector()
    config = store_config(store_id, cameras=[], data_dir=str(data_dir))
    options = EdgeOptions(clock=clock, wall_clock=clock, sinks=[collector], sync=False)
    with running_edge(config, options) as edge:
        yield edge, clock, collector
