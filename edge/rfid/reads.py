"""The unit every reader driver produces: one tag seen by one antenna at one time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TagRead:
    reader_id: str
    antenna: int
    epc: str
    """EPC as upper-case hex."""
    rssi_dbm: float
    ts_ms: int
    """Event time: the reader's timestamp, or receive time when the reader's clock drifted."""


ReadSink = Callable[[TagRead], None]
"""Where drivers hand their reads; thread-safe (the runtime's owner loop queue)."""


@dataclass(frozen=True, slots=True)
class ReaderStatus:
    """A driver's connection change (connected, lost), for reader health and alerts."""

    reader_id: str
    connected: bool
    ts_ms: int
    detail: str = ""


StatusSink = Callable[[ReaderStatus], None]
