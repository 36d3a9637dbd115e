"""The uploader against a scripted HQ at the HTTP seam: batching, ordering, retries,
Retry-After and dead letters. (The real o2o-hq is in test_sync_hq.py.)"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from fake_hq import Answer, FakeHq, all_stored, serve_fake_hq
from sync_events import T0_MS, tag_events

from cloud_sync.client.http import HqClient
from cloud_sync.client.outbox import Outbox
from cloud_sync.client.uploader import (
    DrainProgress,
    Uploader,
    backoff_s,
    batch_ready,
    parse_retry_after,
)
from edge.clock import VirtualClock
from edge.config.sync import SyncConfig

SECRET = "s3cret-for-tests"


def _config(**overrides: Any) -> SyncConfig:
    values: dict[str, Any] = {
        "enabled": True,
        "hq_url": "http://127.0.0.1:1",
        "api_key_id": "key-1",
        "api_secret": SECRET,
        "max_batch_events": 10,
        "max_batch_age_s": 2.0,
        "retry_base_s": 1.0,
        "retry_max_s": 60.0,
    }
    values.update(overrides)
    return SyncConfig(**values)


@pytest.fixture
def fake() -> Iterator[FakeHq]:
    with serve_fake_hq(SECRET) as fake:
        yield fake


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0_MS)


def _uploader(
    tmp_path: Path, url: str, store_id: str, clock: VirtualClock, **overrides: Any
) -> Uploader:
    config = _config(hq_url=url, **overrides)
    outbox = Outbox(tmp_path / "outbox.db", clock=clock)
    client = HqClient(url, "key-1", SECRET, clock=clock, timeout_s=5)
    return Uploader(outbox, client, store_id, config, clock=clock, rng=random.Random(0))


def _sent_ids(fake: FakeHq) -> list[str]:
    return [e["event_id"] for batch in fake.batches for e in batch]


def _answer(statuses: dict[int, str]) -> Any:
    """A responder giving the events at these batch positions a status; the rest are stored."""

    def respond(events: list[dict[str, Any]]) -> Answer:
        results = [
            {"event_id": e["event_id"], "status": statuses.get(i, "stored"), "detail": "x"}
            for i, e in enumerate(events)
        ]
        return 200, {}, {"results": results, "stored": 0, "duplicates": 0, "rejected": 0}

    return respond


def _status(code: int, headers: dict[str, str] | None = None) -> Any:
    return lambda events: (code, headers or {}, {"detail": f"status {code}"})


def test_events_flow_signed_gzip_in_seq_order(
    tmp_path: Path, fake: FakeHq, store_id: str, clock: VirtualClock
) -> None:
    uploader = _uploader(tmp_path, fake.url, store_id, clock)
    events = tag_events(store_id, 25)
    uploader.outbox.append_many(events)
    assert uploader.drain()
    assert _sent_ids(fake) == [e.event_id for e in events]
    assert [len(b) for b in fake.batches] == [10, 10, 5]
    assert fake.bad_signatures == 0
    assert uploader.outbox.backlog().pending == 0
    assert uploader.state.delivered_events == 25
    assert uploader.state.last_success_ms == clock.now_ms()


def test_partial_batch_waits_for_its_age(
    tmp_path: Path, fake: FakeHq, store_id: str, clock: VirtualClock
) -> None:
    uploader = _uploader(tmp_path, fake.url, store_id, clock)
    uploader.outbox.append_many(tag_events(store_id, 3, start_ms=clock.now_ms()))
    assert uploader.step() == pytest.approx(2.0)
    assert fake.batches == []
    clock.set_ms(clock.now_ms() + 1500)
    assert uploader.step() == pytest.approx(0.5)
    clock.set_ms(clock.now_ms() + 500)
    assert uploader.step() == 0.0
    assert len(fake.batches) == 1 and uploader.outbox.backlog().pending == 0


def test_full_batch_goes_at_once(
    tmp_path: Path, fake: FakeHq, store_id: str, clock: VirtualClock
) -> None:
    uploader = _uploader(tmp_path, fake.url, store_id, clock)
    uploader.outbox.append_many(tag_events(store_id, 12, start_ms=clock.now_ms()))
    assert uploader.step() == 0.0
    assert [len(b) for b in fake.batches] == [10]


def test_retry_after_is_honoured_and_nothing_is_sent_before(
    tmp_path: Path, fake: FakeHq, store_id: str, clock: VirtualClock
) -> None:
    uploader = _uploader(tmp_path, fake.url, store_id, clock)
    uploader.outbox.append_many(tag_events(store_id, 10))
    fake.script = [_status(429, {"Retry-After": "7"}), _status(503, {"Retry-After": "3"})]
    wait_s = uploader.step()
    assert 7.0 <= wait_s <= 7.7
    clock.set_ms(clock.now_ms() + 6_900)
    assert uploader.step() > 0 and len(fake.batches) == 1  # still waiting, nothing sent
    clock.set_ms(clock.now_ms() + 1_000)
    assert 3.0 <= uploader.step() <= 3.3
    assert uploader.state.last_error == "HTTP 503: status 503"
    clock.set_ms(clock.now_ms() + 3_400)
    assert uploader.step() == 0.0
    assert len(fake.batches) == 3 and uploader.outbox.backlog().pending == 0
    assert uploader.state.consecutive_failures == 0


def test_server_errors_back_off_exponentially_with_a_cap(
    tmp_path: Path, fake: FakeHq, store_id: str, clock: VirtualClock
) -> None:
    """HQ failing on everything is an outage: back off, look for a bad event by halving the
    batch, but dead-letter nothing."""
    uploader = _uploader(tmp_path, fake.url, store_id, clock, retry_max_s=8.0)
    uploader.outbox.append_many(tag_events(store_id, 10))
    fake.script = [_status(500)] * 8
    waits = []
    for _ in range(8):
        wait_s = uploader.step()
        waits.append(wait_s)
        clock.set_ms(clock.now_ms() + int(wait_s * 1000) + 1)
    ceilings = [1, 2, 4, 8, 8, 8, 8, 8]
    for wait_s, ceiling in zip(waits, ceilings, strict=True):
        assert ceiling / 2 <= wait_s <= ceiling
    assert [len(b) for b in fake.batches] == [10, 10, 5, 5, 2, 2, 1, 1]
    assert uploader.outbox.backlog().dead_letters == 0  # nothing got through: no poison known
    while uploader.step(flush=True) >= 0:
        pass
    assert uploader.outbox.backlog().pending == 0 and uploader.state.delivered_events == 10


def test_one_event_hq_fails_on_cannot_stall_a_backlog_of_ten_thousand(
    tmp_path: Path, fake: FakeHq, store_id: str, clock: VirtualClock
) -> None:
    uploader = _uploader(tmp_path, fake.url, store_id, clock, max_batch_events=500)
    events = tag_events(store_id, 10_000)
    poison = events[4_321].event_id
    uploader.outbox.append_many(events)

    def fail_on_poison(batch: list[dict[str, Any]]) -> Answer:
        if any(e["event_id"] == poison for e in batch):
            return 500, {}, {"detail": "Internal Server Error"}
        return all_stored(batch)

    fake.default = fail_on_poison
    waited_s = 0.0
    while (wait_s := uploader.step(flush=True)) >= 0:
        waited_s += wait_s
        clock.set_ms(clock.now_ms() + int(wait_s * 1000) + 1)
    assert uploader.state.delivered_events == 9_999
    dead = dict(uploader.outbox.dead_letters())
    assert dead.keys() == {poison} and "HQ failed on this event alone" in dead[poison]
    assert waited_s < 30, waited_s  # back-offs while isolating it: seconds, not a stall
    assert len(fake.batches) < 20 + 10_000 // 500 * 2


def test_refused_connection_is_retried_and_backlog_kept(
    tmp_path: Path, store_id: str, clock: VirtualClock
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    uploader = _uploader(tmp_path, url, store_id, clock)
    uploader.outbox.append_many(tag_events(store_id, 10))
    assert 0.5 <= uploader.step() <= 1.0
    assert uploader.state.last_error is not None and "Connect" in uploader.state.last_error
    assert uploader.outbox.backlog().pending == 10


def test_conflict_and_invalid_go_to_dead_letters_and_are_never_resent(
    tmp_path: Path, fake: FakeHq, store_id: str, clock: VirtualClock
) -> None:
    uploader = _uploader(tmp_path, fake.url, store_id, clock)
    events = tag_events(store_id, 10)
    uploader.outbox.append_many(events)
    fake.script = [_answer({2: "conflict", 5: "invalid", 7: "duplicate"})]
    assert uploader.drain()
    assert len(fake.batches) == 1
    dead = dict(uploader.outbox.dead_letters())
    assert set(dead) == {events[2].event_id, events[5].event_id}
    assert dead[events[2].event_id].startswith("conflict")
    backlog = uploader.outbox.backlog()
    assert (backlog.pending, backlog.dead_letters) == (0, 2)
    assert uploader.state.duplicate_events == 1 and uploader.state.rejected_events == 2


def test_missing_results_keep_those_events_pending(
    tmp_path: Path, fake: FakeHq, store_id: str, clock: VirtualClock
) -> None:
    uploader = _uploader(tmp_path, fake.url, store_id, clock)
    uploader.outbox.append_many(tag_events(store_id, 4))

    def half(events: list[dict[str, Any]]) -> Answer:
        return all_stored(events[:2])

    fake.script = [half]
    assert uploader.step(flush=True) > 0
    assert uploader.outbox.backlog().pending == 2
    assert "no usable result for 2 of 4" in (uploader.state.last_error or "")


def test_unusable_body_is_split_until_the_bad_event_is_alone(
    tmp_path: Path, fake: FakeHq, store_id: str, clock: VirtualClock
) -> None:
    uploader = _uploader(tmp_path, fake.url, store_id, clock, max_batch_events=8)
    events = tag_events(store_id, 8)
    poison = events[5].event_id
    uploader.outbox.append_many(events)

    def choke_on_poison(batch: list[dict[str, Any]]) -> Answer:
        if any(e["event_id"] == poison for e in batch):
            return 422, {}, {"detail": "body unusable"}
        return all_stored(batch)

    fake.default = choke_on_poison
    assert uploader.drain()
    # 8 refused; 4 ok, 4 refused; 2 refused; 1 ok, 2 refused; the poison alone; the rest.
    assert [len(b) for b in fake.batches] == [8, 4, 4, 2, 1, 2, 1, 2]
    assert dict(uploader.outbox.dead_letters()).keys() == {poison}
    assert uploader.state.delivered_events == 7
    assert uploader.state.batch_limit == 4  # growing back, one doubling per success


def test_bad_credentials_are_retried_not_dead_lettered(
    tmp_path: Path, fake: FakeHq, store_id: str, clock: VirtualClock
) -> None:
    config = _config(hq_url=fake.url)
    outbox = Outbox(tmp_path / "outbox.db", clock=clock)
    client = HqClient(fake.url, "key-1", "wrong-secret", clock=clock)
    uploader = Uploader(outbox, client, store_id, config, clock=clock, rng=random.Random(0))
    outbox.append_many(tag_events(store_id, 3))
    assert uploader.step(flush=True) > 0
    assert fake.bad_signatures == 1
    assert uploader.state.last_error == "HTTP 401: Bad signature"
    assert outbox.backlog().pending == 3 and outbox.backlog().dead_letters == 0


def test_order_per_source_holds_through_failures(
    tmp_path: Path, fake: FakeHq, store_id: str, clock: VirtualClock
) -> None:
    uploader = _uploader(tmp_path, fake.url, store_id, clock, max_batch_events=7)
    events = tag_events(store_id, 60, sources=4)
    uploader.outbox.append_many(events)
    rng = random.Random(1)
    fake.default = lambda batch: _status(500)(batch) if rng.random() < 0.4 else all_stored(batch)
    while uploader.outbox.backlog().pending:
        clock.set_ms(clock.now_ms() + int(uploader.step(flush=True) * 1000) + 1)
    first_seen: list[str] = []
    for event_id in _sent_ids(fake):
        if event_id not in first_seen:
            first_seen.append(event_id)
    assert first_seen == [e.event_id for e in events]
    # A batch is re-sent whole until acknowledged: the next one never overtakes it.
    starts = [batch[0]["event_id"] for batch in fake.batches]
    assert starts == sorted(starts)


def test_thread_delivers_and_reports_progress(tmp_path: Path, fake: FakeHq, store_id: str) -> None:
    progress: list[DrainProgress] = []
    config = _config(hq_url=fake.url, max_batch_age_s=0.05, progress_log_s=0.001)
    outbox = Outbox(tmp_path / "outbox.db")
    client = HqClient(fake.url, "key-1", SECRET)
    uploader = Uploader(outbox, client, store_id, config, on_progress=progress.append)
    outbox.append_many(tag_events(store_id, 35))
    uploader.start()
    try:
        deadline = time.monotonic() + 10
        while outbox.backlog().pending and time.monotonic() < deadline:
            time.sleep(0.02)
        outbox.append_many(tag_events(store_id, 3, seed=b"later"))
        uploader.notify()
        while outbox.backlog().pending and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        uploader.stop()
    assert outbox.backlog().pending == 0 and len(_sent_ids(fake)) == 38
    assert progress and progress[-1].remaining_events == 0
    assert max(p.sent_events for p in progress) >= 35


def test_backoff_and_retry_after_rules() -> None:
    rng = random.Random(3)
    assert [backoff_s(n, base_s=1, cap_s=10, rng=rng) <= min(10, 2 ** (n - 1)) for n in (1, 5)]
    assert all(5 <= backoff_s(n, base_s=1, cap_s=10, rng=rng) <= 10 for n in range(5, 40))
    now = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(later, int(now.timestamp() * 1000)) == pytest.approx(90)
    assert parse_retry_after("12", 0) == 12.0
    assert parse_retry_after("soon", 0) is None


@pytest.mark.parametrize(
    ("events", "size", "age_s", "wait_s"),
    [(10, 100, 0.0, 0.0), (3, 600_000, 0.0, 0.0), (3, 100, 0.5, 1.5), (3, 100, 9.0, 0.0)],
    ids=["full-by-count", "full-by-bytes", "young", "old"],
)
def test_batch_ready(events: int, size: int, age_s: float, wait_s: float) -> None:
    config = _config(max_batch_bytes=1_000_000)
    assert batch_ready(events, size, age_s, config=config) == pytest.approx(wait_s)
