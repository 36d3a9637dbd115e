"""The hand-over count the replayer waits on (edge/progress.py)."""

from __future__ import annotations

import threading
import time

from edge.progress import Progress


def test_a_waiter_wakes_when_another_thread_advances_the_count() -> None:
    progress = Progress()
    woke_at: list[float] = []

    def wait() -> None:
        assert progress.wait_until(lambda: progress.count >= 3, timeout_s=5)
        woke_at.append(time.monotonic())

    waiter = threading.Thread(target=wait)
    waiter.start()
    progress.advance(2)
    time.sleep(0.05)
    assert not woke_at  # 2 < 3: still waiting
    advanced_at = time.monotonic()
    progress.advance()
    waiter.join(5)
    assert woke_at and woke_at[0] - advanced_at < 1.0
    assert progress.count == 3


def test_changed_wakes_a_waiter_on_state_beside_the_count() -> None:
    progress = Progress()
    held: dict[str, int | None] = {"due": 5}
    results: list[bool] = []
    waiter = threading.Thread(
        target=lambda: results.append(progress.wait_until(lambda: held["due"] is None, 5))
    )
    waiter.start()
    time.sleep(0.05)
    held["due"] = None
    progress.changed()
    waiter.join(5)
    assert results == [True]


def test_wait_until_gives_up_after_its_timeout() -> None:
    progress = Progress()
    started = time.monotonic()
    assert progress.wait_until(lambda: progress.count > 0, timeout_s=0.05) is False
    assert time.monotonic() - started >= 0.05
