"""Fans the edge's events out to WebSocket clients (tablets, staff pages, the dashboard).

An :class:`EventHub` is a sink of the owner loop: ``emit`` runs on the owner thread and only
hands the event to the API's asyncio loop (``call_soon_threadsafe``), so a slow or dead client
never stalls the store. On the loop, each connected client gets the events its filter lets
through in a bounded queue: when it is full the oldest message is dropped and counted (a
tablet catches up by re-fetching its room anyway).

A tablet's filter lets through only its own zone's try-ons, recommendations, tag moves and
size requests, and the updates (acknowledged, resolved) of its zone's size-request alerts;
staff and admin clients get every other event. No client gets ``member.seen`` or ``visit.*``:
they name recognised members whether or not they agreed to personalised service in the store,
and the pages show members only through the room snapshot (consented members only).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from dataclasses import dataclass

from edge.events.alerts import AlertAcknowledged, AlertKind, AlertRaised, AlertResolved
from edge.events.base import Event

log = logging.getLogger(__name__)

TABLET_TYPES = ("tryon.", "recommendation", "size_request", "tag.")
"""Event type prefixes a zone's tablet receives (when they concern its zone)."""
PRIVATE_TYPES = ("member.seen", "visit.")
"""Never sent to a browser (see the module docstring)."""
ALERT_MEMORY = 10_000
"""Alert ids whose zone the hub remembers, to route their acknowledgements."""


def event_zones(event: Event) -> tuple[str, ...]:
    """The zones an event concerns: its zone and, for moves, the zone the item left."""
    payload = event.payload
    zones = tuple(
        zone
        for zone in (getattr(payload, "zone", None), getattr(payload, "from_zone", None))
        if isinstance(zone, str)
    )
    return zones


@dataclass(frozen=True, slots=True)
class ClientFilter:
    zone: str | None = None
    """A tablet's zone; None: every event (staff, admin)."""


class HubClient:
    """One WebSocket connection's queue; used on the API's event loop only."""

    def __init__(self, client_filter: ClientFilter, queue_size: int) -> None:
        self.filter = client_filter
        self._queue: deque[str] = deque()
        self._size = queue_size
        self._wake = asyncio.Event()
        self.dropped = 0
        self.closed = False

    def put(self, message: str) -> None:
        if len(self._queue) >= self._size:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(message)
        self._wake.set()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    async def next(self, timeout_s: float) -> str | None:
        """The next message; None after ``timeout_s`` without one, or when closed."""
        if not self._queue and not self.closed:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout_s)
            except TimeoutError:
                return None
        if self._queue:
            return self._queue.popleft()
        return None


class EventHub:
    def __init__(self, queue_size: int = 256) -> None:
        self.queue_size = queue_size
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: set[HubClient] = set()
        self._alert_zones: OrderedDict[str, str | None] = OrderedDict()
        """Alert id -> zone, for size-request alerts (the ones tablets follow)."""
        self.events = 0
        self.delivered = 0
        self._dropped_by_gone = 0
        self.closed = False

    # Owner thread -------------------------------------------------------------------------
    def emit(self, event: Event) -> None:
        loop = self._loop
        if loop is None or self.closed:
            return
        # RuntimeError: the API server stopped between the check and the call; nobody listens.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._dispatch, event)

    def close(self) -> None:
        self.closed = True
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._close_clients)

    # API event loop -----------------------------------------------------------------------
    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver to clients on ``loop`` (the API server's; called when it starts)."""
        self._loop = loop

    def detach(self) -> None:
        self._close_clients()
        self._loop = None

    def connect(self, client_filter: ClientFilter) -> HubClient:
        client = HubClient(client_filter, self.queue_size)
        if self.closed:
            client.close()
        else:
            self._clients.add(client)
        return client

    def disconnect(self, client: HubClient) -> None:
        self._clients.discard(client)
        self._dropped_by_gone += client.dropped
        if client.dropped:
            log.info("WebSocket client dropped %d events (slow reader)", client.dropped)

    @property
    def clients(self) -> int:
        return len(self._clients)

    @property
    def dropped(self) -> int:
        """Messages dropped for slow clients since the start, connected or gone."""
        return self._dropped_by_gone + sum(client.dropped for client in self._clients)

    def _close_clients(self) -> None:
        for client in list(self._clients):
            client.close()
        self._clients.clear()

    def _dispatch(self, event: Event) -> None:
        self.events += 1
        self._remember_alert(event)
        message: str | None = None
        for client in self._clients:
            if self._accepts(client.filter, event):
                if message is None:
                    message = event.to_json()
                client.put(message)
                self.delivered += 1

    def _remember_alert(self, event: Event) -> None:
        if isinstance(event, AlertRaised) and event.payload.kind is AlertKind.SIZE_REQUEST:
            self._alert_zones[event.payload.alert_id] = event.payload.zone
            if len(self._alert_zones) > ALERT_MEMORY:
                self._alert_zones.popitem(last=False)

    def _accepts(self, client_filter: ClientFilter, event: Event) -> bool:
        if event.type.startswith(PRIVATE_TYPES):
            return False
        zone = client_filter.zone
        if zone is None:
            return True
        if isinstance(event, AlertRaised | AlertResolved):
            return event.payload.kind is AlertKind.SIZE_REQUEST and event.payload.zone == zone
        if isinstance(event, AlertAcknowledged):
            alert_id = event.payload.alert_id
            return alert_id in self._alert_zones and self._alert_zones[alert_id] == zone
        return event.type.startswith(TABLET_TYPES) and zone in event_zones(event)
