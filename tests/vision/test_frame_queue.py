"""The frame queue drops the oldest frame when full, counts it, and wakes a closed consumer."""

from __future__ import annotations

import threading

import pytest

from edge.vision.frame_queue import FrameQueue, FrameQueueStats


def test_drops_the_oldest_and_counts() -> None:
    queue: FrameQueue[int] = FrameQueue(3)
    assert [queue.put(n) for n in range(5)] == [True, True, True, False, False]
    assert queue.stats == FrameQueueStats(put=5, dropped=2, taken=0, depth=3, max_size=3)
    assert [queue.get(0), queue.get(0), queue.get(0)] == [2, 3, 4]
    assert queue.get(0) is None
    assert queue.stats == FrameQueueStats(put=5, dropped=2, taken=3, depth=0, max_size=3)


def test_slow_consumer_gets_the_newest_frames() -> None:
    queue: FrameQueue[int] = FrameQueue(2)
    taken: list[int] = []
    for n in range(100):
        queue.put(n)
        if n % 10 == 9:  # the consumer keeps up with only one frame in ten
            item = queue.get(0)
            assert item is not None
            taken.append(item)
    assert taken == [n - 1 for n in range(9, 100, 10)]
    assert queue.stats.dropped == 100 - 10 - queue.stats.depth


def test_close_wakes_a_waiting_consumer() -> None:
    queue: FrameQueue[int] = FrameQueue(1)
    got: list[int | None] = []
    consumer = threading.Thread(target=lambda: got.append(queue.get(timeout_s=30)))
    consumer.start()
    queue.close()
    consumer.join(5)
    assert not consumer.is_alive()
    assert got == [None]
    assert queue.closed


def test_blocking_get_receives_a_later_put() -> None:
    queue: FrameQueue[str] = FrameQueue(1)
    got: list[str | None] = []
    consumer = threading.Thread(target=lambda: got.append(queue.get(timeout_s=30)))
    consumer.start()
    queue.put("frame")
    consumer.join(5)
    assert got == ["frame"]


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_size must be at least 1"):
        FrameQueue(0)
