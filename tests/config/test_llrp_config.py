"""STORE.yaml's ``llrp`` reader kind: the sample validates, bad values are named by key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge.config import ConfigError, load_store_config
from edge.config.loader import parse_store_config
from edge.config.readers import LlrpReader

SAMPLE = Path(__file__).resolve().parents[2] / "firmware_configs" / "llrp_store.yaml"


def _store(**reader: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "dock", "kind": "llrp", "host": "10.0.0.5", "antennas": {1: "a"}}
    base.update(reader)
    return {"store_id": "s1", "zones": [{"id": "a", "kind": "shelf"}], "readers": [base]}


def test_the_sample_llrp_store_validates() -> None:
    config = load_store_config(SAMPLE)
    readers = [r for r in config.readers if isinstance(r, LlrpReader)]
    assert [r.id for r in readers] == ["r420-rooms", "fx9600-door"]
    rooms, door = readers
    assert (rooms.port, rooms.tx_power_dbm, rooms.mode_index, rooms.session) == (
        5084,
        25.0,
        1002,
        1,
    )
    assert rooms.antennas == {1: "fitting-1", 2: "fitting-2", 3: "shelf-a"}
    assert (door.keepalive_s, door.missed_keepalives, door.search_mode) == (10.0, 3, None)


def test_defaults() -> None:
    reader = parse_store_config(_store()).readers[0]
    assert isinstance(reader, LlrpReader)
    assert (reader.port, reader.keepalive_s, reader.missed_keepalives) == (5084, 5.0, 3)
    assert (reader.tx_power_dbm, reader.session, reader.report_every_n_tags) == (None, None, 1)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"host": ""}, "readers -> 0 -> llrp -> host: String should have at least 1 character"),
        ({"port": 70000}, "readers -> 0 -> llrp -> port: Input should be less than or equal"),
        (
            {"session": 4},
            "readers -> 0 -> llrp -> session: Input should be less than or equal to 3",
        ),
        ({"tx_power_dbm": -1}, "tx_power_dbm: Input should be greater than or equal to 0"),
        ({"missed_keepalives": 1}, "missed_keepalives: Input should be greater than or equal to 2"),
        ({"antennas": {0: "a"}}, "Reader dock: antenna 0 is not an LLRP antenna id (1-65535)"),
        (
            {"keepalive_s": 40},
            "Reader dock: keepalive_s (40) must be shorter than offline_after_s (30)",
        ),
        ({"antennas": {1: "nowhere"}}, "Reader dock antenna 1 maps to zone 'nowhere'"),
        ({"hostname": "x"}, "readers -> 0 -> llrp -> hostname: unknown key"),
    ],
    ids=["host", "port", "session", "power", "missed", "antenna-0", "keepalive", "zone", "typo"],
)
def test_bad_values_are_named(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_store_config(_store(**changes), "STORE.yaml")
    assert message in str(error.value)
    assert str(error.value).startswith("STORE.yaml: invalid configuration")
