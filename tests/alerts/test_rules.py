"""Alert rules as scenarios on injected time: exit_unsold and reader_offline, with throttling."""

from __future__ import annotations

from typing import Any

import pytest

from edge.alerts.rules import AlertDraft, AlertResolution, AlertRules
from edge.config.loader import parse_store_config
from edge.config.store import StoreConfig
from edge.events.alerts import AlertKind, AlertRaised, AlertResolved, Severity
from edge.events.base import EventFactory, EventIdGenerator, ms_to_datetime, parse_event
from edge.events.rfid import TagDeparted, TagDepartedPayload
from edge.rfid.reads import ReaderStatus

T0 = 1_795_860_845_000  # 2026-11-28T10:14:05Z
S = 1000
EPC = "3074257BF7194E4000001A85"
GTIN = "80614141123458"


def store_config(repeat_interval_s: float = 300.0) -> StoreConfig:
    return parse_store_config(
        {
            "store_id": "store-042",
            "zones": [
                {"id": "shelf-a", "kind": "shelf"},
                {"id": "exit", "kind": "exit", "name": "Main exit"},
                {"id": "backroom", "kind": "backroom"},
            ],
            "readers": [
                {
                    "id": "door-1",
                    "kind": "zebra_mqtt",
                    "topic": "zebra/door-1",
                    "antennas": {1: "exit", 2: "shelf-a"},
                    # Set: a reader heard only through its reads defaults to 7200 s.
                    "offline_after_s": 30,
                },
                {
                    "id": "dock-1",
                    "kind": "impinj_mqtt",
                    "topic": "impinj/dock-1",
                    "antennas": {1: "backroom", 2: "backroom"},
                    "offline_after_s": 30,
                },
            ],
            "alerts": {"repeat_interval_s": repeat_interval_s},
            # These tests are about the departure rule; the gate's own are in test_gate.py.
            "gate": {"enabled": False},
        }
    )


@pytest.fixture
def factory() -> EventFactory:
    return EventFactory("store-042", EventIdGenerator(b"rules-test"))


def departed(
    factory: EventFactory, ts_ms: int, *, via_exit: bool, epc: str = EPC, gtin: str | None = GTIN
) -> TagDeparted:
    return factory.make(
        TagDeparted,
        ts_ms=ts_ms,
        source="rfid/tracker",
        payload=TagDepartedPayload(
            epc=epc,
            gtin=gtin,
            zone="shelf-a",
            zone_kind="shelf",
            reader_id="door-1",
            antenna=1 if via_exit else 2,
            rssi_dbm=-60.0,
            via_exit=via_exit,
            last_seen=ms_to_datetime(ts_ms - 30 * S),
            last_zone="exit" if via_exit else "shelf-a",
        ),
    )


# -- exit_unsold ---------------------------------------------------------------------------


def test_exit_departure_raises_exit_unsold(factory: EventFactory) -> None:
    rules = AlertRules.from_store_config(store_config())
    event = departed(factory, T0, via_exit=True)
    [draft] = rules.on_tag_departed(event)
    assert draft == AlertDraft(
        kind=AlertKind.EXIT_UNSOLD,
        severity=Severity.CRITICAL,
        zone="exit",
        subject=EPC,
        text=f"An item not in the catalog left through Main exit unsold (EPC {EPC}, GTIN {GTIN})",
        ts_ms=T0,
        cause=event.model_dump(mode="json"),
    )
    alert = draft.to_event(factory)
    assert isinstance(alert, AlertRaised)
    assert alert.payload.alert_id == alert.event_id
    assert alert.ts_ms == T0 and alert.source == "alerts/rules"
    assert alert.payload.cause is not None
    assert parse_event(alert.payload.cause) == event
    assert parse_event(alert.to_json()) == alert


def test_shelf_departure_raises_nothing(factory: EventFactory) -> None:
    rules = AlertRules.from_store_config(store_config())
    assert rules.on_tag_departed(departed(factory, T0, via_exit=False)) == []


def test_text_without_gtin(factory: EventFactory) -> None:
    rules = AlertRules.from_store_config(store_config())
    [draft] = rules.on_tag_departed(departed(factory, T0, via_exit=True, epc="E2003016", gtin=None))
    assert isinstance(draft, AlertDraft)
    assert draft.text == "An item not in the catalog left through Main exit unsold (EPC E2003016)"


def test_text_names_the_product_from_the_catalog(factory: EventFactory) -> None:
    rules = AlertRules.from_store_config(store_config())
    rules.use_catalog({GTIN: "Wrap dress (navy, XS) · 59.00"}.get)
    [draft] = rules.on_tag_departed(departed(factory, T0, via_exit=True))
    assert isinstance(draft, AlertDraft)
    assert draft.text == f"Wrap dress (navy, XS) · 59.00 left through Main exit unsold (EPC {EPC})"


def test_sold_item_raises_nothing(factory: EventFactory) -> None:
    rules = AlertRules.from_store_config(store_config())
    rules.mark_sold(EPC.lower(), T0 - 60 * S)
    assert rules.on_tag_departed(departed(factory, T0, via_exit=True)) == []
    assert len(rules.on_tag_departed(departed(factory, T0, via_exit=True, epc="E2003016"))) == 1


def test_exit_unsold_is_throttled_per_epc(factory: EventFactory) -> None:
    rules = AlertRules.from_store_config(store_config(repeat_interval_s=300))
    assert len(rules.on_tag_departed(departed(factory, T0, via_exit=True))) == 1
    assert rules.on_tag_departed(departed(factory, T0 + 120 * S, via_exit=True)) == []
    other = departed(factory, T0 + 121 * S, via_exit=True, epc="E2003016")
    assert len(rules.on_tag_departed(other)) == 1
    assert rules.tick(T0 + 200 * S) == []
    assert rules.on_tag_departed(departed(factory, T0 + 299 * S, via_exit=True)) == []
    assert len(rules.on_tag_departed(departed(factory, T0 + 300 * S, via_exit=True))) == 1


def test_no_throttle_when_interval_is_zero(factory: EventFactory) -> None:
    rules = AlertRules.from_store_config(store_config(repeat_interval_s=0))
    for _ in range(3):
        assert len(rules.on_tag_departed(departed(factory, T0, via_exit=True))) == 1


# -- reader_offline ------------------------------------------------------------------------


def ticks(rules: AlertRules, start_ms: int, end_ms: int, step_ms: int = S) -> list[Any]:
    notices: list[Any] = []
    for now in range(start_ms, end_ms + 1, step_ms):
        notices.extend(rules.tick(now))
    return notices


def keep_alive(rules: AlertRules, reader_id: str, start_ms: int, end_ms: int) -> None:
    for ts in range(start_ms, end_ms + 1, 5 * S):
        assert rules.on_reader_data(reader_id, ts) == []


def test_reader_offline_after_its_time_once_per_outage(factory: EventFactory) -> None:
    rules = AlertRules.from_store_config(store_config())
    keep_alive(rules, "door-1", T0, T0 + 120 * S)
    rules.on_reader_data("dock-1", T0 + 5 * S)
    assert ticks(rules, T0, T0 + 34 * S) == []
    [draft] = rules.tick(T0 + 35 * S)
    assert draft == AlertDraft(
        kind=AlertKind.READER_OFFLINE,
        severity=Severity.WARNING,
        zone="backroom",
        subject="dock-1",
        text="Reader dock-1 offline since 10:14:10 UTC (no data for 30 s)",
        ts_ms=T0 + 35 * S,
        cause={
            "reader_id": "dock-1",
            "last_seen": "2026-11-28T10:14:10.000Z",
            "offline_after_s": 30.0,
            "connected": None,
        },
    )
    assert ticks(rules, T0 + 36 * S, T0 + 120 * S) == []  # once per outage

    [back] = rules.on_reader_data("dock-1", T0 + 125 * S)
    assert back == AlertResolution(
        kind=AlertKind.READER_OFFLINE,
        subject="dock-1",
        zone="backroom",
        text="Reader dock-1 back online at 10:16:10 UTC after 120 s",
        raised_ms=T0 + 35 * S,
        ts_ms=T0 + 125 * S,
    )
    resolved = back.to_event(factory)
    assert isinstance(resolved, AlertResolved)
    assert resolved.payload.raised == ms_to_datetime(T0 + 35 * S)
    assert parse_event(resolved.to_json()) == resolved
    assert rules.on_reader_data("dock-1", T0 + 126 * S) == []


def test_reader_never_heard_from_counts_from_the_first_tick() -> None:
    rules = AlertRules.from_store_config(store_config())
    keep_alive(rules, "door-1", T0, T0 + 60 * S)
    assert ticks(rules, T0, T0 + 29 * S) == []
    [draft] = rules.tick(T0 + 30 * S)
    assert draft.subject == "dock-1"
    assert draft.text == "Reader dock-1 offline since 10:14:05 UTC (no data for 30 s)"


def test_disconnection_status_and_reconnection(factory: EventFactory) -> None:
    rules = AlertRules.from_store_config(store_config())
    keep_alive(rules, "door-1", T0, T0 + 120 * S)
    rules.on_reader_status(ReaderStatus("dock-1", True, T0))
    rules.on_reader_data("dock-1", T0 + 10 * S)
    assert rules.on_reader_status(ReaderStatus("dock-1", False, T0 + 11 * S, "port gone")) == []
    assert ticks(rules, T0, T0 + 39 * S) == []
    [draft] = rules.tick(T0 + 40 * S)
    assert isinstance(draft, AlertDraft)
    assert draft.text == "Reader dock-1 offline since 10:14:15 UTC (connection lost)"
    [back] = rules.on_reader_status(ReaderStatus("dock-1", True, T0 + 70 * S))
    assert isinstance(back, AlertResolution)
    assert back.text == "Reader dock-1 back online at 10:15:15 UTC after 60 s"


def test_flapping_reader_is_throttled_but_a_long_outage_is_still_raised() -> None:
    rules = AlertRules.from_store_config(store_config(repeat_interval_s=300))
    keep_alive(rules, "door-1", T0, T0 + 1000 * S)
    rules.on_reader_data("dock-1", T0)
    assert len(ticks(rules, T0, T0 + 30 * S)) == 1  # raised at +30 s
    assert len(rules.on_reader_data("dock-1", T0 + 40 * S)) == 1  # resolved
    # Offline again at +70 s: held back until 300 s after the first alert (+330 s).
    assert ticks(rules, T0 + 41 * S, T0 + 329 * S) == []
    [again] = rules.tick(T0 + 330 * S)
    assert again.text == "Reader dock-1 offline since 10:14:45 UTC (no data for 290 s)"


def test_outage_held_back_by_throttle_ends_without_resolution() -> None:
    rules = AlertRules.from_store_config(store_config(repeat_interval_s=300))
    keep_alive(rules, "door-1", T0, T0 + 200 * S)
    rules.on_reader_data("dock-1", T0)
    assert len(ticks(rules, T0, T0 + 30 * S)) == 1
    assert len(rules.on_reader_data("dock-1", T0 + 40 * S)) == 1
    assert ticks(rules, T0 + 41 * S, T0 + 100 * S) == []  # second outage, held back
    assert rules.on_reader_data("dock-1", T0 + 101 * S) == []  # nothing was raised
    assert ticks(rules, T0 + 102 * S, T0 + 120 * S) == []


def test_unknown_reader_is_ignored() -> None:
    rules = AlertRules.from_store_config(store_config())
    assert rules.on_reader_data("ghost", T0) == []
    assert rules.on_reader_status(ReaderStatus("ghost", False, T0)) == []


def test_reader_with_several_zones_has_no_zone() -> None:
    rules = AlertRules.from_store_config(store_config())
    keep_alive(rules, "dock-1", T0, T0 + 60 * S)
    [draft] = [n for n in ticks(rules, T0, T0 + 30 * S)]
    assert draft.subject == "door-1" and draft.zone is None


def test_same_inputs_give_identical_events() -> None:
    def run() -> list[str]:
        factory = EventFactory("store-042", EventIdGenerator(b"replay-seed"))
        rules = AlertRules.from_store_config(store_config())
        notices = rules.on_tag_departed(departed(factory, T0, via_exit=True))
        notices += ticks(rules, T0, T0 + 40 * S)
        return [n.to_event(factory).to_json() for n in notices]

    first = run()
    assert len(first) == 3  # exit_unsold, door-1 and dock-1 offline
    assert run() == first
