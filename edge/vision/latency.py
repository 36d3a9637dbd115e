"""A latency histogram the recognition worker keeps (its producer), read by ``/metrics``."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence

RECOGNITION_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Recognition round trips: tens of ms on a small face, seconds when a worker restarts."""


class LatencyBuckets:
    """A thread-safe latency histogram with fixed bucket bounds (seconds, ascending)."""

    def __init__(self, bounds_s: Sequence[float] = RECOGNITION_BUCKETS_S) -> None:
        if list(bounds_s) != sorted(set(bounds_s)) or not bounds_s:
            raise ValueError(f"bucket bounds must ascend strictly, got {list(bounds_s)}")
        self.bounds_s = tuple(bounds_s)
        self._counts = [0] * (len(self.bounds_s) + 1)  # the last one: above every bound
        self._sum_s = 0.0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        index = bisect.bisect_left(self.bounds_s, seconds)
        with self._lock:
            self._counts[index] += 1
            self._sum_s += seconds

    def snapshot(self) -> tuple[list[tuple[str, float]], float]:
        """Cumulative ``(le, count)`` pairs ending with ``+Inf``, and the sum of seconds."""
        with self._lock:
            counts = list(self._counts)
            sum_s = self._sum_s
        buckets = []
        running = 0
        for bound, count in zip((*map(str, self.bounds_s), "+Inf"), counts, strict=True):
            running += count
            buckets.append((bound, float(running)))
        return buckets, sum_s
