"""Clocks injected into every stateful stage (docs/architecture.md, principle 1).

Stages never call ``time.time()`` themselves: live runs hand them a :class:`SystemClock`,
replays a :class:`VirtualClock` that the replayer advances to each recorded timestamp, so a
capture replayed at any speed produces byte-identical events.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch (UTC)."""
        ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class VirtualClock:
    """A clock set from outside (the replayer); it never moves backwards."""

    def __init__(self, start_ms: int = 0) -> None:
        self._now_ms = start_ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        return self._now_ms

    def set_ms(self, now_ms: int) -> None:
        with self._lock:
            if now_ms > self._now_ms:
                self._now_ms = now_ms
