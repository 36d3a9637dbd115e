"""The exit gate's pure core on injected time: exit_unsold on the confident exit read, grouped
per exit, with its light on and off, direction, items that came in, and sold items."""

from __future__ import annotations

import json
from typing import Any

import pytest

from edge.alerts.gate import GateNotice, GateRules, passes_floor
from edge.alerts.rules import AlertRules
from edge.config.base import ConfigError
from edge.config.loader import parse_store_config
from edge.config.store import StoreConfig
from edge.events.alerts import AlertKind, GateAlarmState, GateOutcome
from edge.rfid.epc import gtin_of
from edge.rfid.reads import TagDirection, TagRead
from edge.rfid.zebra import parse_zebra

T0 = 1_795_860_845_000  # 2026-11-28T10:14:05Z
S = 1000
# SGTIN-96 of GTIN 80614141123458 (serials 6789, 6790, 6791; `o2o-edge epc decode`).
EPC_A = "3074257BF7194E4000001A85"
EPC_B = "3074257BF7194E4000001A86"
EPC_C = "3074257BF7194E4000001A87"
CATALOG = {"80614141123458": ("Wool sweater", 59.9)}


def store_config(**gate: Any) -> StoreConfig:
    return parse_store_config(
        {
            "store_id": "store-042",
            "zones": [
                {"id": "shelf-a", "kind": "shelf"},
                {"id": "lobby", "kind": "entrance"},
                {"id": "exit", "kind": "exit", "name": "Main exit"},
            ],
            "readers": [
                {
                    "id": "door-1",
                    "kind": "zebra_mqtt",
                    "topic": "zebra/door-1",
                    "antennas": {1: "exit", 2: "lobby", 3: "shelf-a"},
                }
            ],
            "gate": gate,
        }
    )


def gate_rules(config: StoreConfig) -> tuple[GateRules, AlertRules]:
    rules = AlertRules.from_store_config(config)
    gate = GateRules.from_store_config(config, rules, gtin_of, CATALOG.get)
    return gate, rules


def read(
    epc: str,
    ts_ms: int,
    antenna: int = 1,
    rssi: float | None = -50.0,
    direction: TagDirection | None = None,
) -> TagRead:
    return TagRead("door-1", antenna, epc, rssi, ts_ms, direction)


def feed(gate: GateRules, reads: list[TagRead]) -> list[GateNotice]:
    notices: list[GateNotice] = []
    for r in reads:
        out = gate.on_read(r)
        for notice in out:
            if notice.draft is not None:
                gate.opened(notice.exit, f"alarm-{notice.ts_ms}")
        notices.extend(out)
    return notices


def on_shelf(gate: GateRules, *epcs: str) -> None:
    """Items of the store are first read on its shelves."""
    for epc in epcs:
        assert gate.on_read(read(epc, T0 - 600 * S, antenna=3)) == []


def test_two_reads_within_a_second_alarm_at_the_second_read() -> None:
    gate, _ = gate_rules(store_config())
    on_shelf(gate, EPC_A)
    assert feed(gate, [read(EPC_A, T0)]) == []
    [notice] = feed(gate, [read(EPC_A, T0 + 400)])
    assert notice.state is GateAlarmState.ON and notice.reason == "opened"
    assert notice.ts_ms == T0 + 400 and notice.exit == "exit"
    draft = notice.draft
    assert draft is not None and draft.kind is AlertKind.EXIT_UNSOLD
    assert draft.text == (f"Wool sweater · 59.90 left through Main exit unsold (EPC {EPC_A})")
    assert draft.cause is not None
    assert draft.cause["items"] == [
        {"epc": EPC_A, "gtin": "80614141123458", "name": "Wool sweater", "price": 59.9}
    ]
    assert draft.cause["total_value"] == 59.9


def test_reads_further_apart_than_the_window_or_below_the_floor_do_not_alarm() -> None:
    gate, _ = gate_rules(store_config())
    on_shelf(gate, EPC_A)
    assert feed(gate, [read(EPC_A, T0), read(EPC_A, T0 + 1500)]) == []
    assert feed(gate, [read(EPC_A, T0 + 1600, rssi=-75.0)]) == []
    # The next strong read is within a second of the one at +1500: confident.
    assert len(feed(gate, [read(EPC_A, T0 + 2400)])) == 1


@pytest.mark.parametrize(
    ("rssi", "floor", "missing_passes", "expected"),
    [
        (-70.0, -70.0, False, True),
        (-70.1, -70.0, True, False),
        (None, -70.0, True, True),
        (None, -70.0, False, False),
        (-99.0, None, False, True),
        (None, None, False, True),
    ],
    ids=["at-floor", "below", "none-passes", "none-fails", "no-floor", "no-floor-none"],
)
def test_floor(
    rssi: float | None, floor: float | None, missing_passes: bool, expected: bool
) -> None:
    assert passes_floor(rssi, floor, missing_passes) is expected


def test_reads_without_rssi_alarm_only_when_configured_so() -> None:
    gate, _ = gate_rules(store_config(missing_rssi_passes=False))
    on_shelf(gate, EPC_A)
    assert feed(gate, [read(EPC_A, T0 + n * 100, rssi=None) for n in range(10)]) == []
    gate, _ = gate_rules(store_config())
    on_shelf(gate, EPC_A)
    assert len(feed(gate, [read(EPC_A, T0, rssi=None), read(EPC_A, T0 + 100, rssi=None)])) == 1


def test_items_within_group_s_join_one_alarm_and_later_ones_open_another() -> None:
    gate, _ = gate_rules(store_config())
    on_shelf(gate, EPC_A, EPC_B, EPC_C)
    reads = [read(EPC_A, T0), read(EPC_A, T0 + 200), read(EPC_B, T0 + 900), read(EPC_B, T0 + 1200)]
    opened, added = feed(gate, reads)
    assert opened.draft is not None and added.draft is None
    assert added.alarm_id == f"alarm-{T0 + 200}" and added.reason == "item_added"
    assert [item.epc for item in added.items] == [EPC_A, EPC_B]
    # More reads of items already in the alarm change nothing.
    assert feed(gate, [read(EPC_A, T0 + 1300), read(EPC_A, T0 + 1400)]) == []
    # EPC_C is confident 5 s after the alarm opened: a new alarm.
    [third] = feed(gate, [read(EPC_C, T0 + 5 * S), read(EPC_C, T0 + 5 * S + 100)])
    assert third.draft is not None and [i.epc for i in third.items] == [EPC_C]


def test_light_goes_off_after_alarm_on_s_or_at_ack_and_staff_close_with_outcome() -> None:
    gate, _ = gate_rules(store_config(alarm_on_s=20))
    on_shelf(gate, EPC_A, EPC_B)
    [first] = feed(gate, [read(EPC_A, T0), read(EPC_A, T0 + 100)])
    assert first.draft is not None
    assert gate.tick(T0 + 100 + 19_999) == []
    [off] = gate.tick(T0 + 100 + 20 * S)
    assert off.state is GateAlarmState.OFF and off.reason == "timeout"
    assert off.alarm_id == f"alarm-{T0 + 100}"
    [closed] = gate.close(off.alarm_id, GateOutcome.RECOVERED, "staff-7", T0 + 60 * S)
    assert closed.outcome is GateOutcome.RECOVERED and closed.staff_id == "staff-7"
    assert gate.close(off.alarm_id, GateOutcome.LOST, "staff-7", T0 + 61 * S) == []
    # A second alarm is turned off by the acknowledgement, once.
    [second] = feed(gate, [read(EPC_B, T0 + 90 * S), read(EPC_B, T0 + 90 * S + 50)])
    assert second.reason == "opened"
    alarm_id = f"alarm-{T0 + 90 * S + 50}"
    [acked] = gate.on_ack(alarm_id, "staff-7", T0 + 95 * S)
    assert acked.reason == "acknowledged" and acked.state is GateAlarmState.OFF
    assert gate.on_ack(alarm_id, "staff-7", T0 + 96 * S) == []
    assert gate.tick(T0 + 200 * S) == []


def test_sold_items_do_not_alarm_here_or_chain_wide() -> None:
    gate, rules = gate_rules(store_config())
    on_shelf(gate, EPC_A, EPC_B)
    rules.mark_sold(EPC_A, T0 - 60 * S)
    rules.use_chain_sold({EPC_B}.__contains__)
    assert feed(gate, [read(EPC_A, T0), read(EPC_A, T0 + 100)]) == []
    assert feed(gate, [read(EPC_B, T0), read(EPC_B, T0 + 100)]) == []
    assert gate.stats["sold"] == 2


def test_items_first_read_at_the_entrance_or_the_exit_came_in_and_do_not_alarm() -> None:
    gate, _ = gate_rules(store_config())
    # EPC_A is first read in the lobby, EPC_B first at the exit: brought in by shoppers.
    assert feed(gate, [read(EPC_A, T0, antenna=2), read(EPC_B, T0, antenna=1)]) == []
    later = T0 + 1800 * S
    reads = [read(epc, later + n * 100) for n in range(3) for epc in (EPC_A, EPC_B)]
    assert feed(gate, reads) == []
    # ... until came_in_memory_s has passed: then it counts as the store's own.
    gate.tick(T0 + 4 * 3600 * S + 1)
    assert len(feed(gate, [read(EPC_A, T0 + 5 * 3600 * S + n * 100) for n in range(2)])) == 1


def test_reader_reported_direction() -> None:
    gate, _ = gate_rules(store_config())
    on_shelf(gate, EPC_A, EPC_B)
    inbound = [read(EPC_A, T0 + n * 100, direction=TagDirection.IN) for n in range(3)]
    assert feed(gate, inbound) == []
    out = [read(EPC_B, T0 + n * 100, direction=TagDirection.OUT) for n in range(2)]
    assert len(feed(gate, out)) == 1


def test_inside_then_outside_alarms_outside_first_or_lingering_inside_does_not() -> None:
    config = store_config(directions=[{"exit": "exit", "inside": "lobby"}])
    gate, _ = gate_rules(config)
    on_shelf(gate, EPC_A, EPC_B, EPC_C)
    # EPC_A lingers in the lobby (inside antenna) and goes back: no alarm.
    assert feed(gate, [read(EPC_A, T0 + n * 200, antenna=2) for n in range(20)]) == []
    # EPC_B reaches the outside antenna without an inside read: coming in.
    assert feed(gate, [read(EPC_B, T0 + n * 100) for n in range(3)]) == []
    # EPC_C: inside, then outside within direction_window_s: out of the store.
    reads = [read(EPC_C, T0, antenna=2), read(EPC_C, T0 + 2 * S), read(EPC_C, T0 + 2100)]
    [alarm] = feed(gate, reads)
    assert alarm.draft is not None and alarm.draft.subject == EPC_C
    # An inside read too long before the outside reads is not a way out.
    gate, _ = gate_rules(config)
    on_shelf(gate, EPC_A)
    late = [read(EPC_A, T0, antenna=2), read(EPC_A, T0 + 11 * S), read(EPC_A, T0 + 11_100)]
    assert feed(gate, late) == []


def test_disabled_gate_leaves_the_departure_rule() -> None:
    gate, _ = gate_rules(store_config(enabled=False))
    on_shelf(gate, EPC_A)
    assert feed(gate, [read(EPC_A, T0 + n * 100) for n in range(5)]) == []


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        ({"confirm_reads": 0}, "confirm_reads"),
        ({"directions": [{"exit": "shelf-a", "inside": "lobby"}]}, "not a zone of kind exit"),
        ({"directions": [{"exit": "exit", "inside": "nowhere"}]}, "inside zone 'nowhere'"),
        ({"directions": [{"exit": "exit", "inside": "exit"}]}, "needs a different inside"),
        ({"rssi_floor_dbm": 5}, "rssi_floor_dbm"),
    ],
    ids=["zero-reads", "exit-not-exit", "unknown-inside", "same-zone", "floor-positive"],
)
def test_bad_gate_config_is_refused_with_its_key(gate: dict[str, Any], message: str) -> None:
    with pytest.raises((ConfigError, ValueError), match=message):
        store_config(**gate)


def test_lingering_at_the_door_cross_read_outside_is_still_inside() -> None:
    """A shopper waits at the door: the inside antenna reads the tag at -55 dBm, the outside
    one cross-reads it above the floor now and then; once across, outside is the stronger."""
    gate, _ = gate_rules(store_config(directions=[{"exit": "exit", "inside": "lobby"}]))
    on_shelf(gate, EPC_A)
    reads = []
    for n in range(30):  # 15 s at the door
        ts = T0 + n * 500
        reads.append(read(EPC_A, ts, antenna=2, rssi=-55.0))
        reads.append(read(EPC_A, ts + 200, antenna=1, rssi=-66.0))
    assert feed(gate, reads) == []
    assert gate.stats["still_inside"] > 0
    # Across the gate: the inside antenna now cross-reads it weakly.
    later = T0 + 15 * S
    across = [
        read(EPC_A, later, antenna=2, rssi=-72.0),
        read(EPC_A, later + 100, antenna=1, rssi=-55.0),
        read(EPC_A, later + 300, antenna=1, rssi=-54.0),
    ]
    [alarm] = feed(gate, across)
    assert alarm.draft is not None


def test_a_return_makes_an_item_that_came_in_unsold_again() -> None:
    gate, rules = gate_rules(store_config())
    assert feed(gate, [read(EPC_A, T0, antenna=2)]) == []  # came in through the lobby
    rules.use_chain_sold({EPC_A}.__contains__)  # and HQ says it was sold
    rules.mark_returned(EPC_A, T0 + 60 * S)
    gate.on_return(EPC_A)
    assert len(feed(gate, [read(EPC_A, T0 + 600 * S + n * 100) for n in range(2)])) == 1


def test_zebra_directionality_events_through_the_real_parser() -> None:
    """ATR7000 DIRECTIONALITY events (Zebra IoT Connector tag data, no antenna: the reader's
    default zone, here the exit) carry IN / OUT: IN is an item coming in, OUT alarms."""
    config = parse_store_config(
        {
            "store_id": "store-042",
            "zones": [{"id": "shelf-a", "kind": "shelf"}, {"id": "exit", "kind": "exit"}],
            "readers": [
                {
                    "id": "door-1",
                    "kind": "zebra_mqtt",
                    "topic": "zebra/door-1",
                    "antennas": {1: "shelf-a"},
                    "default_zone": "exit",
                }
            ],
        }
    )
    gate, _ = gate_rules(config)
    for epc in (EPC_A, EPC_B):  # store stock, first read on the shelf (antenna 1 here)
        assert gate.on_read(read(epc, T0 - 600 * S, antenna=1)) == []

    def directionality(epc: str, direction: str, n: int) -> list[TagRead]:
        event = {
            "data": {"idHex": epc.lower(), "format": "epc", "direction": direction, "eventNum": n},
            "timestamp": "2026-11-28T10:14:05.000+0000",
            "type": "DIRECTIONALITY",
        }
        result = parse_zebra(json.dumps(event).encode(), "door-1", T0 + n, 5000)
        return result.reads

    inbound = directionality(EPC_A, "IN", 1) + directionality(EPC_A, "IN", 2)
    assert [r.direction for r in inbound] == [TagDirection.IN, TagDirection.IN]
    assert feed(gate, inbound) == []
    out = directionality(EPC_B, "OUT", 3) + directionality(EPC_B, "OUT", 4)
    [alarm] = feed(gate, out)
    assert alarm.draft is not None and alarm.draft.subject == EPC_B
