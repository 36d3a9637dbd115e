"""The state of a store's devices, as the dashboard shows it and as the store reports it to
headquarters (``store.health``): one reading of the same views for both."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from cloud_sync.client.status import SyncStatus
from edge.alerts.rules import ReaderHealth
from edge.clock import Clock
from edge.events.alerts import AlertKind
from edge.events.base import Event, EventFactory
from edge.events.health import StoreHealth, StoreHealthPayload
from edge.service.store import DashboardView, StoreService

log = logging.getLogger(__name__)


def reader_state(reader: ReaderHealth) -> str:
    """online, offline, or unknown (nothing heard yet)."""
    if reader.last_alive_ms is None and reader.connected is None:
        return "unknown"
    down = reader.offline_since_ms is not None or reader.connected is False
    return "offline" if down else "online"


def camera_state(camera_id: str, view: DashboardView) -> str:
    if any(
        alert.kind is AlertKind.CAMERA_OFFLINE and alert.subject == camera_id
        for alert in view.open_alerts
    ):
        return "offline"
    said = view.cameras.get(camera_id)
    return "unknown" if said is None else "online" if said.online else "offline"


def health_payload(
    view: DashboardView, camera_ids: list[str], open_alarms: int, sync: SyncStatus | None
) -> StoreHealthPayload:
    return StoreHealthPayload(
        backlog=sync.backlog_events if sync is not None else 0,
        dead_letters=sync.dead_letters if sync is not None else 0,
        readers_offline=sorted(r.reader_id for r in view.readers if reader_state(r) == "offline"),
        cameras_offline=sorted(c for c in camera_ids if camera_state(c, view) == "offline"),
        open_alarms=open_alarms,
        open_alerts=len(view.open_alerts),
    )


class HealthReporter:
    """Every ``interval_s``, a ``store.health`` event into the outbox (not through the owner
    loop: it is about the edge, not the shop floor, and needs no MQTT or dashboard line)."""

    def __init__(
        self,
        store: StoreService,
        sync_status: Callable[[], SyncStatus | None],
        send: list[Callable[[Event], None]],
        factory: EventFactory,
        clock: Clock,
        camera_ids: list[str],
        interval_s: float,
    ) -> None:
        self._store = store
        self._sync_status = sync_status
        self._send = send
        self._factory = factory
        self._clock = clock
        self._camera_ids = camera_ids
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="health-report", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def report(self) -> StoreHealth:
        payload = health_payload(
            self._store.dashboard(),
            self._camera_ids,
            len(self._store.gate_alarms()),
            self._sync_status(),
        )
        event = self._factory.make(
            StoreHealth, ts_ms=self._clock.now_ms(), source="edge", payload=payload
        )
        for send in self._send:
            send(event)
        return event

    def _run(self) -> None:
        # The first report soon after start: HQ learns at once that the store is up.
        wait_s = min(5.0, self._interval_s)
        while not self._stop.wait(wait_s):
            wait_s = self._interval_s
            try:
                self.report()
            except Exception:
                log.exception("health report failed; trying again in %.0f s", self._interval_s)
