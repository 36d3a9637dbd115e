"""A bounded frame queue that drops the oldest frame when recognition falls behind.

Camera frames are the one thing the edge may drop (docs/architecture.md, principle 3): a stale
frame is worth
less than the newest one, so a full queue discards its head, counts the drop and keeps going.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FrameQueueStats:
    put: int
    """Frames offered to the queue."""
    dropped: int
    """Frames discarded unprocessed because a newer frame arrived while the queue was full."""
    taken: int
    depth: int
    max_size: int


class FrameQueue(Generic[T]):
    """Thread-safe; one or more producers, one consumer; ``close`` wakes a waiting consumer."""

    def __init__(self, max_size: int) -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1 (value: {max_size})")
        self._items: deque[T] = deque()
        self._max_size = max_size
        self._cond = threading.Condition()
        self._put = 0
        self._dropped = 0
        self._taken = 0
        self._closed = False

    def put(self, item: T) -> bool:
        """Add ``item``; returns False when an older item had to be dropped to make room."""
        with self._cond:
            self._put += 1
            dropped = len(self._items) >= self._max_size
            if dropped:
                self._items.popleft()
                self._dropped += 1
            self._items.append(item)
            self._cond.notify()
            return not dropped

    def get(self, timeout_s: float | None = None) -> T | None:
        """The oldest waiting item, or None after ``timeout_s`` or once closed and empty."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self._closed, timeout_s):
                return None
            if not self._items:
                return None
            self._taken += 1
            return self._items.popleft()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def stats(self) -> FrameQueueStats:
        with self._cond:
            return FrameQueueStats(
                put=self._put,
                dropped=self._dropped,
                taken=self._taken,
                depth=len(self._items),
                max_size=self._max_size,
            )
