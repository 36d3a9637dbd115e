"""reader_offline from the readers' own signals: a reader that says it stopped inventorying
(Impinj inventoryTerminated / inventoryStatus idle, Zebra heartbeat with the radio inactive)
gives no sign of life, however connected it is."""

from __future__ import annotations

from typing import Any

from edge.alerts.rules import AlertDraft, AlertNotice, AlertResolution, AlertRules
from edge.config.loader import parse_store_config
from edge.rfid.reads import ReaderSignal, ReaderState, ReaderStatus
from tests.alerts.test_rules import T0, S, keep_alive, store_config, ticks


def status(ts_ms: int, state: ReaderState | None, lost: int = 0) -> ReaderStatus:
    return ReaderStatus("dock-1", True, ts_ms, "event", ReaderSignal.READER, state, lost)


def test_connected_but_not_inventorying_is_not_a_sign_of_life() -> None:
    rules = AlertRules.from_store_config(store_config())
    keep_alive(rules, "door-1", T0, T0 + 120 * S)
    assert rules.on_reader_status(status(T0, ReaderState.INVENTORYING)) == []
    # The reader stops inventorying and keeps telling so: still offline after 30 s.
    for ts in range(T0 + 5 * S, T0 + 30 * S, 5 * S):
        assert rules.on_reader_status(status(ts, ReaderState.IDLE)) == []
    assert ticks(rules, T0, T0 + 29 * S) == []
    [draft] = rules.tick(T0 + 30 * S)
    assert isinstance(draft, AlertDraft) and draft.subject == "dock-1"
    # Inventory runs again: resolved.
    [back] = rules.on_reader_status(status(T0 + 60 * S, ReaderState.INVENTORYING))
    assert isinstance(back, AlertResolution)


def test_armed_heartbeats_and_losses_are_signs_of_life() -> None:
    rules = AlertRules.from_store_config(store_config())
    keep_alive(rules, "door-1", T0, T0 + 120 * S)
    for n, ts in enumerate(range(T0, T0 + 120 * S, 10 * S)):
        state = (ReaderState.ARMED, None, None)[n % 3]
        assert rules.on_reader_status(status(ts, state, lost=n % 2)) == []
    assert ticks(rules, T0, T0 + 120 * S) == []


def test_status_alive_property() -> None:
    assert ReaderStatus("r", True, T0).alive
    assert not ReaderStatus("r", False, T0).alive
    assert not status(T0, ReaderState.IDLE).alive
    assert status(T0, ReaderState.ARMED).alive


# -- offline from each kind's own signal, silence only where there is none ------------------

QUIET_STORE: dict[str, Any] = {
    "store_id": "quiet-store",
    "zones": [{"id": "exit", "kind": "exit"}, {"id": "shelf", "kind": "shelf"}],
    "readers": [
        {"id": "serial", "kind": "r2000_serial", "port": "/dev/null", "antennas": {1: "shelf"}},
        {
            "id": "zebra-hb",
            "kind": "zebra_mqtt",
            "topic": "z/d",
            "management_topic": "z/m",
            "antennas": {1: "exit"},
        },
        {"id": "zebra-reads", "kind": "zebra_mqtt", "topic": "z2/d", "antennas": {1: "exit"}},
        {
            "id": "impinj-will",
            "kind": "impinj_mqtt",
            "topic": "i/e",
            "status_topic": "i/s",
            "antennas": {1: "exit"},
        },
        {"id": "impinj-reads", "kind": "impinj_mqtt", "topic": "i2/e", "antennas": {1: "exit"}},
        {
            "id": "impinj-http",
            "kind": "impinj_http",
            "url": "https://r700.local",
            "antennas": {1: "exit"},
        },
    ],
}


def test_default_offline_after_follows_each_kinds_signal() -> None:
    config = parse_store_config(QUIET_STORE)
    got = {r.id: (r.health_source().value, r.offline_after()) for r in config.readers}
    assert got == {
        "serial": ("heartbeat", 30.0),
        "zebra-hb": ("heartbeat", 180.0),
        "zebra-reads": ("reads", 7200.0),
        "impinj-will": ("connection", 30.0),
        "impinj-reads": ("reads", 7200.0),
        "impinj-http": ("heartbeat", 90.0),
    }


def test_a_quiet_hour_raises_no_reader_offline_for_readers_that_only_read() -> None:
    rules = AlertRules.from_store_config(parse_store_config(QUIET_STORE))
    # Heartbeat readers keep beating (R2000 rounds every 5 s, Zebra every 60 s, HTTP 30 s);
    # the MQTT readers without heartbeats say nothing for an hour and a half.
    notices = []
    for ts in range(T0, T0 + 5400 * S, 5 * S):
        notices += rules.on_reader_status(ReaderStatus("serial", True, ts, "round"))
        if (ts - T0) % (60 * S) == 0:
            notices += rules.on_reader_status(
                ReaderStatus("zebra-hb", True, ts, "heartbeat", ReaderSignal.READER)
            )
        if (ts - T0) % (30 * S) == 0:
            notices += rules.on_reader_status(
                ReaderStatus("impinj-http", True, ts, "keep-alive", ReaderSignal.READER)
            )
        notices += rules.tick(ts)
    assert notices == []
    # Two hours of silence: those readers are offline (the one with a last will never is).
    # (The heartbeat readers, which stopped beating at 5400 s, are offline by then too.)
    late = ticks(rules, T0 + 5400 * S, T0 + 7199 * S)
    assert sorted(n.subject for n in late) == ["impinj-http", "serial", "zebra-hb"]
    late = ticks(rules, T0 + 7200 * S, T0 + 7210 * S)
    assert sorted(n.subject for n in late) == ["impinj-reads", "zebra-reads"]


def test_last_will_makes_offline_after_its_grace_and_connect_makes_online() -> None:
    rules = AlertRules.from_store_config(parse_store_config(QUIET_STORE))
    rules.tick(T0)

    def will(ts: int, connected: bool) -> list[AlertNotice]:
        text = "connected" if connected else "connection lost"
        return list(
            rules.on_reader_status(
                ReaderStatus("impinj-will", connected, ts, text, ReaderSignal.LAST_WILL)
            )
        )

    # A flap shorter than the grace (30 s) is no outage.
    assert will(T0 + 10 * S, False) == []
    assert [n for n in rules.tick(T0 + 20 * S) if n.subject == "impinj-will"] == []
    assert will(T0 + 25 * S, True) == []
    assert [n for n in rules.tick(T0 + 60 * S) if n.subject == "impinj-will"] == []
    # A real drop: offline 30 s after the will, since the will.
    assert will(T0 + 100 * S, False) == []
    assert [n for n in rules.tick(T0 + 129 * S) if n.subject == "impinj-will"] == []
    [down] = [n for n in rules.tick(T0 + 130 * S) if n.subject == "impinj-will"]
    assert isinstance(down, AlertDraft) and down.cause is not None
    assert down.cause["connected"] is False
    [back] = will(T0 + 200 * S, True)
    assert isinstance(back, AlertResolution)
