"""reader_offline from the readers' own signals: a reader that says it stopped inventorying
(Impinj inventoryTerminated / inventoryStatus idle, Zebra heartbeat with the radio inactive)
gives no sign of life, however connected it is."""

from __future__ import annotations

from edge.alerts.rules import AlertDraft, AlertResolution, AlertRules
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
