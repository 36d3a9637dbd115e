"""STORE.yaml for Zebra and Impinj readers: default zone, topics, the HTTP stream's secret."""

from __future__ import annotations

from typing import Any

import pytest

from edge.config import ConfigError
from edge.config.loader import parse_store_config
from edge.config.readers import ImpinjHttpReader, ImpinjMqttReader, ZebraMqttReader
from edge.rfid.reads import NO_ANTENNA, TagRead
from edge.rfid.tracker import MISSING_RSSI_DBM, ChangeKind, TagTracker

PASSWORD_ENV = "O2O_TEST_R700_PASSWORD"
EPC = "3074257BF7194E4000001A85"


def store(*readers: dict[str, Any]) -> dict[str, Any]:
    return {
        "store_id": "store-1",
        "zones": [{"id": "exit", "kind": "exit"}, {"id": "shelf-a", "kind": "shelf"}],
        "readers": list(readers),
    }


ZEBRA = {"id": "z1", "kind": "zebra_mqtt", "topic": "zebra/z1/data", "antennas": {1: "shelf-a"}}
IMPINJ = {"id": "i1", "kind": "impinj_mqtt", "topic": "r700/i1", "antennas": {1: "shelf-a"}}
HTTP = {
    "id": "h1",
    "kind": "impinj_http",
    "url": "https://impinj-14-2b-9c.local",
    "antennas": {1: "exit"},
}


def test_event_readers_validate_with_their_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "impinj")
    config = parse_store_config(
        store(
            {**ZEBRA, "default_zone": "exit", "management_topic": "zebra/z1/events"},
            {**IMPINJ, "status_topic": "r700/i1/status", "default_zone": "shelf-a"},
            {**HTTP, "username": "root", "password": f"${{{PASSWORD_ENV}}}", "ca_file": "r700.pem"},
        )
    )
    zebra, impinj, http = config.readers
    assert isinstance(zebra, ZebraMqttReader)
    assert zebra.topics() == ["zebra/z1/data", "zebra/z1/events"]
    assert zebra.port_zones() == {1: "shelf-a", 0: "exit"}
    assert isinstance(impinj, ImpinjMqttReader)
    assert impinj.topics() == ["r700/i1", "r700/i1/status"]
    assert (impinj.connect_message, impinj.will_message, impinj.disconnect_message) == (
        "connected",
        "connection lost",
        "",
    )
    assert isinstance(http, ImpinjHttpReader)
    assert http.password == "impinj" and http.stall_timeout_s == 90.0
    # The tracker places reads without antenna (port 0) and RSSI in the default zone.
    tracker = TagTracker.from_store_config(config)
    t0 = 1_700_000_000_000
    changes = [
        change
        for n in range(20)  # past the arrival settle time
        for change in tracker.process(TagRead("z1", NO_ANTENNA, EPC, None, t0 + n * 300))
    ]
    assert [(c.kind, c.zone, c.rssi_dbm) for c in changes] == [
        (ChangeKind.ARRIVED, "exit", MISSING_RSSI_DBM)
    ]
    assert tracker.process(TagRead("h1", NO_ANTENNA, EPC, -40.0, t0 + 6000)) == []
    assert tracker.stats.unmapped_reads == 1  # h1 has no default_zone


@pytest.mark.parametrize(
    ("reader", "message"),
    [
        (
            {**ZEBRA, "default_zone": "fitting-9"},
            "Reader z1 default_zone maps to zone 'fitting-9', which is not defined.",
        ),
        (
            {**ZEBRA, "antennas": {0: "exit"}},
            "Reader z1: antenna 0 is not a port; give the zone of reads without an antenna as "
            "default_zone",
        ),
        (
            {**ZEBRA, "management_topic": "zebra/z1/data"},
            "Reader z1: topic and management_topic must be different topics",
        ),
        (
            {**IMPINJ, "status_topic": "r700/i1/status", "will_message": "connected"},
            "Reader i1: connect_message must differ from will_message and disconnect_message",
        ),
        (
            {**HTTP, "username": "root", "password": "impinj"},
            "readers -> 0 -> impinj_http -> password: Value error, give ${ENV_VAR} and set the "
            "password in the environment",
        ),
        (
            {**HTTP, "username": "root", "password": "${O2O_TEST_SURELY_UNSET}"},
            "environment variable O2O_TEST_SURELY_UNSET is not set",
        ),
        ({**HTTP, "username": "root"}, "Reader h1: give username and password together"),
        (
            {**HTTP, "url": "https://reader.local/api/v1/data/stream"},
            "readers -> 0 -> impinj_http -> url: String should match pattern",
        ),
        (
            {**HTTP, "stall_timeout_s": 0},
            "readers -> 0 -> impinj_http -> stall_timeout_s: Input should be greater than 0",
        ),
    ],
    ids=[
        "default-zone-undefined",
        "antenna-zero",
        "same-topics",
        "will-equals-connect",
        "plaintext-password",
        "password-env-unset",
        "username-without-password",
        "url-with-path",
        "stall-zero",
    ],
)
def test_bad_event_reader_settings_are_named(reader: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_store_config(store(reader), source="store.yaml")
    assert message in str(raised.value)
