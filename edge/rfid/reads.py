"""What reader drivers produce: tag reads, and statuses about the reader's health.

``TagRead`` is one tag seen by one antenna at one time. ``ReaderStatus`` is one thing learnt
about a reader: its link came up or went down, it reported itself alive (and whether it is
inventorying), or events were lost. docs/readers.md lists which signal each kind gives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

NO_ANTENNA = 0
"""``TagRead.antenna`` of a read whose reader did not say which antenna read it (a Zebra
reader in SIMPLE mode, an Impinj reader with ``antennaPort`` switched off in its eventConfig).
Port 0 of such a reader maps to its configured ``default_zone``."""


class TagDirection(StrEnum):
    """Direction of travel a reader reported for a read (Zebra DIRECTIONALITY events)."""

    IN = "in"
    OUT = "out"


@dataclass(frozen=True, slots=True)
class TagRead:
    reader_id: str
    antenna: int
    """Antenna port (1, 2, ...), or :data:`NO_ANTENNA` when the reader did not report it."""
    epc: str
    """EPC as upper-case hex."""
    rssi_dbm: float | None
    """Peak RSSI in dBm; None when the reader did not report it (switched off in its
    configuration)."""
    ts_ms: int
    """Event time: the reader's timestamp, or receive time when the reader's clock drifted."""
    direction: TagDirection | None = None
    """Direction the reader reported (IN/OUT), for gate rules; None when it reported none."""


ReadSink = Callable[[TagRead], None]
"""Where drivers hand their reads; thread-safe (the runtime's owner loop queue)."""


class ReaderSignal(StrEnum):
    """Where a :class:`ReaderStatus` comes from, i.e. how far it can be trusted as health."""

    LINK = "link"
    """The edge's own path to the reader: serial port, HTTP stream, broker subscription.
    ``connected`` is the state of that path; up says nothing yet of the reader itself."""
    READER = "reader"
    """The reader said something about itself: a heartbeat, an inventory status, a keep-alive,
    an event without a tag, an overflow, or event numbers that skipped. Always connected."""
    LAST_WILL = "last_will"
    """The reader's own MQTT status topic: its connect message (connected) or its last will /
    disconnect message (not connected), published by or for the reader on the broker."""


class ReaderState(StrEnum):
    """What a reader says it is doing, where it says so."""

    INVENTORYING = "inventorying"
    """Reading tags (Impinj inventoryStatus ``running``, Zebra radioActivity ``active``)."""
    ARMED = "armed"
    """Waiting for its start trigger (Impinj inventoryStatus ``armed``): healthy."""
    IDLE = "idle"
    """Connected but not inventorying (Impinj ``idle`` or inventoryTerminated, Zebra
    radioActivity ``inactive`` or radio disconnected): its tags will age out, not healthy."""


@dataclass(frozen=True, slots=True)
class ReaderStatus:
    """One health signal of a reader, for reader health and alerts (docs/readers.md).

    The first four fields are what every driver always reported (a link change, or a sign of
    life as ``connected=True``); the others default so that such statuses read as before.
    """

    reader_id: str
    connected: bool
    ts_ms: int
    detail: str = ""
    signal: ReaderSignal = ReaderSignal.LINK
    state: ReaderState | None = None
    """What the reader says it is doing; None when this status does not say."""
    lost_events: int = 0
    """Events the reader dropped (Impinj overflowEvent ``eventsPurged``) or that never arrived
    (a gap in Zebra ``eventNum``) since the previous status that reported a loss."""

    @property
    def alive(self) -> bool:
        """A sign that the reader works: connected and not saying it stopped inventorying."""
        return self.connected and self.state is not ReaderState.IDLE


StatusSink = Callable[[ReaderStatus], None]
