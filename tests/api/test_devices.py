"""The device registry and ``o2o-edge devices``: hashes only on disk, revocation, pairing codes,
and changes made by another process (the command line) seen by the running edge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.api.devices import (
    DeviceError,
    DeviceRegistry,
    DeviceRole,
    PairingError,
    normalise_code,
    sha256_hex,
)
from edge.clock import VirtualClock
from tests.conftest import REPO_ROOT, run_cli

ZONES = ("fitting-1", "fitting-2", "shelf-a")


def registry(path: Path, clock: VirtualClock | None = None) -> DeviceRegistry:
    return DeviceRegistry(path, clock or VirtualClock(1_000_000), zones=ZONES, code_ttl_s=60)


def test_only_hashes_of_tokens_and_codes_are_stored(tmp_path: Path) -> None:
    path = tmp_path / "devices.json"
    new = registry(path).add("tablet-1", DeviceRole.TABLET, "fitting-1")
    text = path.read_text()
    assert new.token not in text and normalise_code(new.pairing_code) not in text
    (stored,) = json.loads(text)["devices"]
    assert stored["token_sha256"] == [sha256_hex(new.token)]
    assert stored["pairing_code_sha256"] == sha256_hex(normalise_code(new.pairing_code))
    assert path.stat().st_mode & 0o077 == 0


def test_authenticate_revoke_and_reuse_a_revoked_name(tmp_path: Path) -> None:
    devices = registry(tmp_path / "devices.json")
    new = devices.add("tablet-1", DeviceRole.TABLET, "fitting-1")
    device = devices.authenticate(new.token)
    assert device is not None and (device.name, device.zone) == ("tablet-1", "fitting-1")
    assert devices.authenticate("o2o_other") is None
    with pytest.raises(DeviceError, match="already exists"):
        devices.add("tablet-1", DeviceRole.TABLET, "fitting-1")
    assert devices.revoke("tablet-1").revoked
    assert devices.authenticate(new.token) is None
    replacement = devices.add("tablet-1", DeviceRole.TABLET, "fitting-2")
    assert devices.authenticate(replacement.token) is not None
    assert devices.authenticate(new.token) is None


@pytest.mark.parametrize(
    ("name", "role", "zone", "message"),
    [
        ("Tablet 1", DeviceRole.TABLET, "fitting-1", "must be 1-64 lower-case"),
        ("tablet-1", DeviceRole.TABLET, None, "A tablet needs --zone"),
        ("maria", DeviceRole.STAFF, "fitting-1", "Only tablets belong to a zone"),
        ("tablet-9", DeviceRole.TABLET, "roof", "Zone 'roof' is not defined"),
    ],
    ids=["bad-name", "tablet-without-zone", "staff-with-zone", "unknown-zone"],
)
def test_bad_devices_are_refused_with_a_reason(
    tmp_path: Path, name: str, role: DeviceRole, zone: str | None, message: str
) -> None:
    with pytest.raises(DeviceError, match=message):
        registry(tmp_path / "devices.json").add(name, role, zone)


def test_a_pairing_code_works_once_and_expires(tmp_path: Path) -> None:
    clock = VirtualClock(1_000_000)
    devices = registry(tmp_path / "devices.json", clock)
    first = devices.add("tablet-1", DeviceRole.TABLET, "fitting-1")
    device, token = devices.pair(first.pairing_code)
    assert device.name == "tablet-1" and devices.authenticate(token) == device
    with pytest.raises(PairingError):
        devices.pair(first.pairing_code)
    late = devices.add("tablet-2", DeviceRole.TABLET, "fitting-2")
    clock.set_ms(late.code_expires_ms + 1)
    with pytest.raises(PairingError, match="Invalid or expired pairing code"):
        devices.pair(late.pairing_code)
    revoked = devices.add("tablet-3", DeviceRole.TABLET, "fitting-2")
    devices.revoke("tablet-3")
    with pytest.raises(PairingError):
        devices.pair(revoked.pairing_code)


def test_changes_by_another_process_are_seen(tmp_path: Path) -> None:
    path = tmp_path / "devices.json"
    edge, cli = registry(path), registry(path)
    new = cli.add("tablet-1", DeviceRole.TABLET, "fitting-1")
    assert edge.authenticate(new.token) is not None
    cli.revoke("tablet-1")
    assert edge.authenticate(new.token) is None


def test_an_unreadable_registry_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "devices.json"
    path.write_text("{not json")
    with pytest.raises(DeviceError, match="unreadable device registry"):
        registry(path).devices()


def test_the_devices_command(tmp_path: Path) -> None:
    store = tmp_path / "store.yaml"
    demo = (REPO_ROOT / "firmware_configs" / "demo_store.yaml").read_text()
    store.write_text(demo.replace("data_dir: var", f"data_dir: {tmp_path / 'var'}"))
    added = run_cli(
        "devices", "add", "tablet-1", "--role", "tablet", "--zone", "fitting-1",
        "--config", str(store), "--json", check=True,
    )  # fmt: skip
    body = json.loads(added.stdout)
    assert body["token"].startswith("o2o_") and len(body["pairing_code"]) == 9
    listed = run_cli("devices", "list", "--config", str(store), check=True).stdout
    assert "tablet-1" in listed and "active" in listed and body["token"] not in listed
    run_cli("devices", "revoke", "tablet-1", "--config", str(store), check=True)
    assert "revoked" in run_cli("devices", "list", "--config", str(store), check=True).stdout
    devices = DeviceRegistry(tmp_path / "var" / "devices.json", VirtualClock(0))
    assert devices.authenticate(body["token"]) is None
    refused = run_cli("devices", "add", "x", "--role", "tablet", "--config", str(store))
    assert refused.returncode == 2
    assert "A tablet needs --zone" in refused.stdout
