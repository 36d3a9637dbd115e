"""STORE.yaml: every shipped sample validates, and bad files are reported by key path and value."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from edge.config import ConfigError, load_store_config
from edge.config.loader import parse_store_config
from edge.config.readers import ImpinjMqttReader, R2000SerialReader, ZebraMqttReader
from edge.config.zones import ZoneKind

FIRMWARE_CONFIGS = Path(__file__).resolve().parents[2] / "firmware_configs"
SAMPLES = sorted(FIRMWARE_CONFIGS.glob("*.yaml"))


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_every_sample_configuration_validates(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O2O_MQTT_PASSWORD", "from-the-environment")
    monkeypatch.setenv("O2O_R700_PASSWORD", "from-the-environment")

    config = load_store_config(path)

    assert config.zones and config.readers
    assert config.data_dir.is_absolute()


def test_the_samples_cover_every_reader_family() -> None:
    names = {p.name for p in SAMPLES}
    assert {
        "demo_store.yaml",
        "r2000_serial_example.yaml",
        "zebra_fx_mqtt_example.yaml",
        "impinj_r700_mqtt_example.yaml",
        "impinj_r700_http_example.yaml",
        "llrp_store.yaml",
    } <= names


def test_the_demo_store_has_the_documented_layout() -> None:
    config = load_store_config(FIRMWARE_CONFIGS / "demo_store.yaml")
    kinds = [zone.kind for zone in config.zones]

    assert config.store_id == "demo"
    assert kinds.count(ZoneKind.SHELF) >= 2 and kinds.count(ZoneKind.FITTING_ROOM) >= 2
    assert {ZoneKind.POS, ZoneKind.EXIT, ZoneKind.BACKROOM, ZoneKind.ENTRANCE} <= set(kinds)
    readers = {reader.id: reader for reader in config.readers}
    shelf, room, door = readers["shelf-reader"], readers["room-reader"], readers["door-reader"]
    assert isinstance(shelf, R2000SerialReader) and shelf.port == "/dev/ttyUSB0"
    assert shelf.antennas == {1: "shelf-a", 2: "shelf-a", 3: "shelf-b", 4: "shelf-b"}
    assert isinstance(room, ZebraMqttReader)
    assert room.antennas == {1: "fitting-1", 2: "fitting-2", 3: "pos", 4: "backroom"}
    assert isinstance(door, ImpinjMqttReader) and door.topic == "impinj/r700-door/events"
    assert door.antennas == {1: "entrance", 2: "exit"}


def test_a_password_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O2O_MQTT_PASSWORD", "s3cret")
    config = load_store_config(FIRMWARE_CONFIGS / "zebra_fx_mqtt_example.yaml")
    assert config.mqtt.password == "s3cret"


def _demo() -> dict[str, Any]:
    data = yaml.safe_load((FIRMWARE_CONFIGS / "demo_store.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets ``a.b.0.c`` (list indexes as numbers) to ``value``."""

    def apply(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return apply


def _append_zone(data: dict[str, Any]) -> None:
    data["zones"].append({"id": "shelf-a", "kind": "shelf"})


def _append_reader(data: dict[str, Any]) -> None:
    data["readers"].append(copy.deepcopy(data["readers"][0]))


BAD_CONFIGS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("unknown-top-key", _set("colour", "red"), "colour: unknown key (value: 'red')"),
    (
        "unknown-reader-key",
        _set("readers.0.speed", 9600),
        "readers -> 0 -> r2000_serial -> speed: unknown key (value: 9600)",
    ),
    (
        "antenna-undefined-zone",
        _set("readers.1.antennas", {1: "fitting-1", 2: "fitting-9"}),
        "readers -> 1 -> antennas -> 2: "
        "Reader room-reader antenna 2 maps to zone 'fitting-9', which is not defined.",
    ),
    (
        "mqtt-port-range",
        _set("mqtt.port", 70000),
        "mqtt -> port: Input should be less than or equal to 65535 (value: 70000)",
    ),
    (
        "mqtt-port-type",
        _set("mqtt.port", "eighteen"),
        "mqtt -> port: Input should be a valid integer, unable to parse string as an integer "
        "(value: 'eighteen')",
    ),
    (
        "antenna-port-type",
        _set("readers.2.antennas", {"one": "entrance"}),
        "readers -> 2 -> impinj_mqtt -> antennas -> one -> [key]: Input should be a valid integer",
    ),
    (
        "serial-port-missing",
        lambda data: data["readers"][0].pop("port"),
        "readers -> 0 -> r2000_serial -> port: Field required",
    ),
    ("duplicate-zone", _append_zone, "zone ids must be unique; repeated: shelf-a"),
    ("duplicate-reader", _append_reader, "reader ids must be unique; repeated: shelf-reader"),
    (
        "password-without-username",
        _set("mqtt.password", "hunter2"),
        "mqtt: Value error, mqtt password must be provided with username",
    ),
    (
        "password-env-unset",
        _set("mqtt.password", "${O2O_TEST_SURELY_UNSET}"),
        "mqtt -> password: Value error, environment variable O2O_TEST_SURELY_UNSET is not set",
    ),
    (
        "bad-zone-kind",
        _set("zones.3.kind", "changing_room"),
        "zones -> 3 -> kind: Input should be 'shelf', 'fitting_room', 'pos', 'exit', 'backroom' "
        "or 'entrance' (value: 'changing_room')",
    ),
    (
        "bad-zone-id",
        _set("zones.0.id", "Front Door"),
        "zones -> 0 -> id: String should match pattern",
    ),
    (
        "bad-reader-kind",
        _set("readers.0.kind", "epc_uhf"),
        "readers -> 0: Input tag 'epc_uhf' found using 'kind' does not match any of the expected "
        "tags: 'r2000_serial', 'zebra_mqtt', 'impinj_mqtt', 'impinj_http', 'llrp'",
    ),
    (
        "bad-store-id",
        _set("store_id", "Demo Store"),
        "store_id: String should match pattern '^[a-z0-9][a-z0-9_-]*$' (value: 'Demo Store')",
    ),
    ("no-zones", _set("zones", []), "zones: List should have at least 1 item after validation"),
    (
        "negative-threshold",
        _set("tracker.move_threshold_db", -3),
        "tracker -> move_threshold_db: Input should be greater than or equal to 0 (value: -3)",
    ),
    (
        "offline-zero",
        _set("readers.1.offline_after_s", 0),
        "readers -> 1 -> zebra_mqtt -> offline_after_s: Input should be greater than 0 (value: 0)",
    ),
    (
        "bad-address",
        _set("readers.0.address", 256),
        "readers -> 0 -> r2000_serial -> address: Input should be less than or equal to 255 "
        "(value: 256)",
    ),
    (
        "r2000-sequence-unmapped",
        _set("readers.0.antenna_sequence", [1, 3, 6]),
        "readers -> 0 -> r2000_serial -> antenna_sequence -> 2: Reader shelf-reader: "
        "antenna_sequence names antenna 6, which antennas does not map to a zone "
        "(mapped: [1, 2, 3, 4])",
    ),
    (
        "r2000-port-9",
        _set("readers.0.antennas", {1: "shelf-a", 9: "shelf-b"}),
        "readers -> 0 -> r2000_serial -> antennas -> 9: Reader shelf-reader: antenna 9 is not "
        "a port of an R2000 module (1..8)",
    ),
    (
        "r2000-sequence-too-long",
        _set("readers.0.antenna_sequence", [1, 2, 3, 4, 1, 2, 3, 4, 1]),
        "readers -> 0 -> r2000_serial -> antenna_sequence: List should have at most 8 items",
    ),
    (
        "r2000-dwell-zero",
        _set("readers.0.dwell_rounds", 0),
        "readers -> 0 -> r2000_serial -> dwell_rounds: Input should be greater than or equal "
        "to 1 (value: 0)",
    ),
    (
        "r2000-bad-mode",
        _set("readers.0.inventory_mode", "round_robin"),
        "readers -> 0 -> r2000_serial -> inventory_mode: Input should be 'fast_switch' or "
        "'work_antenna' (value: 'round_robin')",
    ),
    (
        "bad-log-level",
        _set("log_level", "LOUD"),
        "log_level: String should match pattern",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [(mutate, message) for _, mutate, message in BAD_CONFIGS],
    ids=[case_id for case_id, _, _ in BAD_CONFIGS],
)
def test_a_bad_configuration_names_the_key_path_and_value(
    mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    data = _demo()
    mutate(data)

    with pytest.raises(ConfigError) as error:
        parse_store_config(data, "STORE.yaml")

    text = str(error.value)
    assert text.startswith("STORE.yaml: invalid configuration")
    assert message in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("zones: [\n", "not valid YAML"),
        ("- just\n- a list\n", "the top level must be a mapping of keys to values"),
    ],
    ids=["yaml-syntax", "not-a-mapping"],
)
def test_a_broken_file_is_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "STORE.yaml"
    path.write_text(content)

    with pytest.raises(ConfigError) as error:
        load_store_config(path)

    assert str(error.value).startswith(str(path))
    assert message in str(error.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"STORE.yaml: cannot read the configuration"):
        load_store_config(tmp_path / "STORE.yaml")
