"""A broker restart, a headquarters outage and an edge restart, survived without losing an
event: the real ``o2o-edge run`` process, a real Mosquitto (SIGKILLed and restarted) and a real
``o2o-hq`` on PostgreSQL (SIGKILLed and restarted).

"Without losing an event" is checked end to end: every business event the edge committed to
its outbox is in HQ's ``events`` table exactly once, and every tag read the edge could receive
became an event. Reads a reader publishes while the broker is down never reach the edge (the
reader side loses them), so those are not expected.
"""

from __future__ import annotations

import time

import psycopg
import pytest
from resilience_rig import ReadStream, Store, epcs, read_outbox, wait_until

pytestmark = [pytest.mark.network, pytest.mark.slow]

READER_STATUS = "reader-zebra-1"


def _hq_event_ids(store: Store) -> list[str]:
    url = store.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT event_id::text FROM events WHERE store_id = %s", (store.store_id,)
        ).fetchall()
    return [str(row[0]) for row in rows]


def _start_edge(store: Store, *, since_s: float = 0.0) -> None:
    """Start ``o2o-edge run`` and wait until its reader subscription is live: the reader's
    ``online`` status is published after the subscription was sent on the same link."""
    store.edge.start()
    try:
        store.watcher.wait_state(READER_STATUS, "online", since_s=since_s, timeout_s=30)
    except AssertionError:
        raise AssertionError(f"the edge did not come up:\n{store.edge.log()}") from None


def _wait_arrived(store: Store, wanted: list[str], timeout_s: float = 15) -> None:
    wait_until(
        lambda: set(wanted) <= read_outbox(store.config_path).arrived_epcs,
        timeout_s,
        f"tag.arrived of {len(wanted)} tags in the outbox",
    )


def _stop_cleanly(store: Store) -> None:
    """After the ordeal the edge still stops as systemd stops it: SIGTERM, exit 0, and a
    retained ``stopped`` instead of the last will."""
    stopping_s = time.monotonic()
    assert store.edge.stop() == 0, store.edge.log()
    store.watcher.wait_state("edge", "stopped", since_s=stopping_s, timeout_s=10)


def _assert_all_in_hq_exactly_once(store: Store, timeout_s: float = 30) -> int:
    """Wait for the outbox to drain; then HQ holds exactly the outbox's events, once each."""

    def drained() -> bool:
        outbox = read_outbox(store.config_path)
        return outbox.pending == 0 and set(_hq_event_ids(store)) == set(outbox.event_ids)

    wait_until(drained, timeout_s, "the outbox to drain into HQ")
    outbox = read_outbox(store.config_path)
    stored = _hq_event_ids(store)
    assert outbox.dead_letters == 0
    assert len(stored) == len(set(stored)), "an event is stored twice"
    assert sorted(stored) == sorted(outbox.event_ids)
    seen_on_mqtt = store.watcher.event_ids()
    assert seen_on_mqtt, "the edge published no event on MQTT"
    assert seen_on_mqtt <= set(stored), "an event shown on MQTT never reached HQ"
    return len(stored)


def test_broker_restart_loses_no_event(persistent_store: Store) -> None:
    store = persistent_store
    _start_edge(store)
    before = epcs(1, 30)
    store.watcher.publish_reads(before)
    _wait_arrived(store, before)

    with ReadStream(store.watcher, block=2) as stream:
        time.sleep(1.0)
        killed_s = time.monotonic()
        store.broker.kill()
        time.sleep(2.0)
        store.broker.start()
        store.watcher.wait_connected()
        store.watcher.wait_state("edge", "online", since_s=killed_s, timeout_s=30)
        online_s = time.monotonic()
        time.sleep(1.0)
    # Reads sent after the edge was back (on the same link as its "online") must all count.
    _wait_arrived(store, stream.published_since(online_s))
    after = epcs(3, 30)
    store.watcher.publish_reads(after)
    _wait_arrived(store, after)

    assert store.edge.alive(), store.edge.log()
    arrived = read_outbox(store.config_path).arrived_epcs
    assert arrived <= set(before) | set(stream.published) | set(after)
    stored = _assert_all_in_hq_exactly_once(store)
    assert stored >= len(before) + len(after)
    _stop_cleanly(store)


def test_hq_outage_loses_no_event(store: Store) -> None:
    _start_edge(store)
    before = epcs(1, 20)
    store.watcher.publish_reads(before)
    _wait_arrived(store, before)
    delivered_before = _assert_all_in_hq_exactly_once(store)

    store.hq.kill()
    with ReadStream(store.watcher, block=2) as stream:
        time.sleep(3.0)
    _wait_arrived(store, stream.published)
    backlog = read_outbox(store.config_path).pending
    assert backlog >= len(stream.published) > 0, "events made during the outage must wait"
    assert len(_hq_event_ids(store)) == delivered_before

    store.hq.start()
    stored = _assert_all_in_hq_exactly_once(store)
    assert stored >= delivered_before + len(stream.published)
    _stop_cleanly(store)


def test_edge_restart_loses_no_event(store: Store) -> None:
    _start_edge(store)
    before = epcs(1, 20)
    store.watcher.publish_reads(before)
    _wait_arrived(store, before)
    _assert_all_in_hq_exactly_once(store)

    # HQ away: what the edge commits now stays in the outbox when the edge dies.
    store.hq.kill()
    with ReadStream(store.watcher, block=2) as stream:
        time.sleep(2.0)
        killed_s = time.monotonic()
        store.edge.kill()
        time.sleep(0.5)
    store.watcher.wait_state("edge", "offline", since_s=killed_s, timeout_s=10)
    committed = read_outbox(store.config_path)
    assert committed.pending > 0
    assert committed.arrived_epcs & set(stream.published)

    restarted_s = time.monotonic()
    _start_edge(store, since_s=restarted_s)
    store.watcher.wait_state("edge", "online", since_s=restarted_s, timeout_s=10)
    wait_until(
        lambda: any(
            s.payload.get("backlog_events", 0) >= committed.pending
            for s in store.watcher.statuses("sync", since_s=restarted_s)
        ),
        10,
        "status/sync to show the backlog left by the dead edge",
    )
    after = epcs(3, 20)
    store.watcher.publish_reads(after)
    _wait_arrived(store, after)

    store.hq.start()
    _assert_all_in_hq_exactly_once(store)
    assert set(committed.event_ids) <= set(_hq_event_ids(store))
    _stop_cleanly(store)


def test_edge_killed_while_uploading_stores_each_event_once(store: Store) -> None:
    """HQ up, uploads in flight when the edge dies. Usually HQ has stored a batch the dead
    edge had not yet marked delivered (seen in most runs): it is sent again after the restart
    and HQ, answering ``duplicate``, keeps one copy."""
    _start_edge(store)
    with ReadStream(store.watcher, block=1, interval_s=0.005) as stream:
        time.sleep(2.0)
        store.edge.kill()
    committed = read_outbox(store.config_path)
    assert committed.arrived_epcs & set(stream.published)

    restarted_s = time.monotonic()
    _start_edge(store, since_s=restarted_s)
    _assert_all_in_hq_exactly_once(store)
    assert set(committed.event_ids) <= set(_hq_event_ids(store))
    _stop_cleanly(store)
