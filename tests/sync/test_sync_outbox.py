"""The outbox: durable, idempotent, ordered, with dead letters and pruning."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sync_events import tag_events

from cloud_sync.client.outbox import Outbox
from edge.clock import VirtualClock
from edge.events.base import parse_event

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_append_is_idempotent_and_batches_keep_seq_order(tmp_path: Path, store_id: str) -> None:
    events = tag_events(store_id, 10)
    with Outbox(tmp_path / "outbox.db") as outbox:
        assert outbox.append_many(events[:6]) == 6
        outbox.append(events[3])  # a replayed event: no-op
        assert outbox.append_many(events) == 4
        batch = outbox.next_batch(max_events=100, max_bytes=10_000_000)
        assert [row.event_id for row in batch] == [e.event_id for e in events]
        assert [row.seq for row in batch] == sorted(row.seq for row in batch)
        assert parse_event(batch[0].body) == events[0]
        assert batch[0].source == events[0].source and batch[0].type == "tag.arrived"
        backlog = outbox.backlog()
        assert backlog.pending == 10
        assert backlog.oldest_pending_ts_ms == events[0].ts_ms


def test_next_batch_limits_by_count_and_bytes_but_never_returns_nothing(
    tmp_path: Path, store_id: str
) -> None:
    events = tag_events(store_id, 20)
    size = len(events[0].to_json())
    with Outbox(tmp_path / "outbox.db") as outbox:
        outbox.append_many(events)
        assert len(outbox.next_batch(max_events=5, max_bytes=10_000_000)) == 5
        assert len(outbox.next_batch(max_events=50, max_bytes=size * 3 + 1)) == 3
        assert len(outbox.next_batch(max_events=50, max_bytes=1)) == 1


def test_delivered_rows_leave_the_backlog_and_are_pruned_after_retention(
    tmp_path: Path, store_id: str
) -> None:
    clock = VirtualClock(1_000_000)
    events = tag_events(store_id, 10)
    with Outbox(tmp_path / "outbox.db", retention_s=3600, clock=clock) as outbox:
        outbox.append_many(events)
        outbox.mark_delivered([e.event_id for e in events[:4]])
        assert [r.event_id for r in outbox.next_batch(3, 10_000_000)] == [
            e.event_id for e in events[4:7]
        ]
        assert outbox.backlog().pending == 6
        assert outbox.backlog().oldest_pending_ts_ms == events[4].ts_ms
        clock.set_ms(1_000_000 + 3599_000)
        assert outbox.prune() == 0
        clock.set_ms(1_000_000 + 3601_000)
        assert outbox.prune(chunk=3) == 4
        outbox.append(events[0])  # pruned rows may come back only as new appends
        assert outbox.backlog().pending == 7


def test_rejected_event_moves_to_dead_letters_and_is_never_offered_again(
    tmp_path: Path, store_id: str
) -> None:
    events = tag_events(store_id, 3)
    with Outbox(tmp_path / "outbox.db") as outbox:
        outbox.append_many(events)
        outbox.mark_rejected(events[1].event_id, "conflict: same id, different body")
        assert [r.event_id for r in outbox.next_batch(10, 10_000_000)] == [
            events[0].event_id,
            events[2].event_id,
        ]
        backlog = outbox.backlog()
        assert (backlog.pending, backlog.dead_letters) == (2, 1)
        assert outbox.dead_letters() == [(events[1].event_id, "conflict: same id, different body")]


def test_outbox_reopens_with_its_backlog(tmp_path: Path, store_id: str) -> None:
    events = tag_events(store_id, 5)
    with Outbox(tmp_path / "outbox.db") as outbox:
        outbox.append_many(events)
        outbox.mark_delivered([events[0].event_id])
    with Outbox(tmp_path / "outbox.db") as outbox:
        assert outbox.backlog().pending == 4
        mode = outbox._db.execute("PRAGMA journal_mode").fetchone()[0]
        sync = outbox._db.execute("PRAGMA synchronous").fetchone()[0]
        assert (mode, sync) == ("wal", 2)  # 2 = FULL


def test_sigkill_during_appends_loses_no_acknowledged_event(tmp_path: Path, store_id: str) -> None:
    path = tmp_path / "outbox.db"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "outbox_writer.py"), str(path), store_id],
        stdout=subprocess.PIPE,
        env=env,
        cwd=REPO_ROOT,
    )
    assert child.stdout is not None
    acknowledged: list[str] = []
    deadline = time.monotonic() + 30
    while len(acknowledged) < 2000 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        acknowledged.append(line.decode().strip())
    os.kill(child.pid, signal.SIGKILL)  # in the middle of the next append
    rest = child.stdout.read().decode().split()  # acknowledged before the kill landed
    child.wait()
    acknowledged += rest
    assert len(acknowledged) >= 2000, "the writer did not get going"

    # Reopen as the restarted edge would (WAL recovery happens here).
    with Outbox(path) as outbox:
        assert outbox.integrity_check() == "ok"
        rows = outbox.next_batch(max_events=1_000_000, max_bytes=1 << 40)
        assert outbox.backlog().pending == len(rows)  # the trigger-kept count survived too
    stored = {row.event_id: row for row in rows}
    missing = [event_id for event_id in acknowledged if event_id not in stored]
    assert missing == []
    for row in rows:  # no half rows: every body is a whole, valid event
        event = parse_event(row.body)
        assert event.event_id == row.event_id and event.source == row.source
    assert len(rows) - len(acknowledged) <= 7  # at most the batch that was being written
    seqs = [row.seq for row in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
