"""A count that a driver thread advances once it has delivered what an input produced, and
that a replayer blocks on (docs/architecture.md, "Replay").

The replayer hands a driver one recorded input at a time and must not move its virtual clock
before the driver is done with it. Polling the count with sleeps costs more than the driver's
own work per input (a serial chunk takes tens of microseconds); waiting on a condition that
the driver signals wakes the replayer as soon as the count moves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Progress:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._count = 0

    @property
    def count(self) -> int:
        return self._count

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more, after their results were delivered."""
        with self._changed:
            self._count += n
            self._changed.notify_all()

    def changed(self) -> None:
        """Wake waiters: state other than the count that they may be waiting on has moved
        (it must be updated before this call)."""
        with self._changed:
            self._changed.notify_all()

    def wait_until(self, done: Callable[[], bool], timeout_s: float) -> bool:
        """Block until ``done()`` holds (checked on every change); False after ``timeout_s``."""
        with self._changed:
            return self._changed.wait_for(done, timeout_s)
