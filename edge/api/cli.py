"""``o2o-edge devices add|list|revoke``: pair tablets and staff devices with the edge."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.api.devices import DeviceRole

if TYPE_CHECKING:
    from edge.api.devices import DeviceRegistry
    from edge.config.store import StoreConfig


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("devices", help="Paired tablets and staff devices")
    commands = parser.add_subparsers(dest="devices_command", metavar="ACTION", required=True)

    add = commands.add_parser("add", help="Add a device: prints its token and pairing code")
    add.add_argument("name", help="Device name, e.g. tablet-fitting-1")
    add.add_argument("--role", required=True, choices=[role.value for role in DeviceRole])
    add.add_argument("--zone", default=None, help="The tablet's zone (tablets only)")
    add.add_argument("--config", required=True, type=Path, help="STORE.yaml")
    add.add_argument("--json", action="store_true", help="Print one JSON object")
    add.set_defaults(handler=_add)

    listing = commands.add_parser("list", help="List devices (never their tokens)")
    listing.add_argument("--config", required=True, type=Path, help="STORE.yaml")
    listing.set_defaults(handler=_list)

    revoke = commands.add_parser("revoke", help="Revoke a device: its tokens stop working")
    revoke.add_argument("name")
    revoke.add_argument("--config", required=True, type=Path, help="STORE.yaml")
    revoke.set_defaults(handler=_revoke)


def _registry(config: StoreConfig) -> DeviceRegistry:
    from edge.api.devices import DeviceRegistry
    from edge.clock import SystemClock

    return DeviceRegistry.from_store_config(config, SystemClock())


def _config(path: Path) -> StoreConfig:
    from edge.config.loader import load_store_config

    return load_store_config(path)


def _add(args: argparse.Namespace) -> int:
    from edge.api.devices import DeviceError
    from edge.events.base import ms_to_datetime

    config = _config(args.config)
    try:
        new = _registry(config).add(args.name, DeviceRole(args.role), args.zone)
    except DeviceError as error:
        print(f"devices add: {error}")
        return 2
    expires = f"{ms_to_datetime(new.code_expires_ms):%Y-%m-%d %H:%M} UTC"
    if args.json:
        print(
            json.dumps(
                {
                    "name": new.device.name,
                    "role": new.device.role.value,
                    "zone": new.device.zone,
                    "token": new.token,
                    "pairing_code": new.pairing_code,
                    "pairing_code_expires": expires,
                }
            )
        )
        return 0
    zone = f" for zone {new.device.zone}" if new.device.zone else ""
    print(f"Device {new.device.name} ({new.device.role.value}{zone}) added.")
    print(f"Pairing code (one use, until {expires}): {new.pairing_code}")
    print(f"Token (shown once; give it to the device, e.g. as #token=...): {new.token}")
    page = f"/tablet/{new.device.zone}" if new.device.zone else "/staff"
    print(f"Or open once on the device: http://EDGE:{config.api.port}{page}#token={new.token}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from edge.events.base import ms_to_datetime

    devices = _registry(_config(args.config)).devices()
    if not devices:
        print("No devices.")
    for device in devices:
        created = f"{ms_to_datetime(device.created_ms):%Y-%m-%d %H:%M}"
        state = (
            f"revoked {ms_to_datetime(device.revoked_ms):%Y-%m-%d %H:%M}"
            if device.revoked_ms is not None
            else "active"
        )
        print(
            f"{device.name:<24} {device.role.value:<7} {device.zone or '-':<12} {created}  {state}"
        )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from edge.api.devices import DeviceError

    try:
        device = _registry(_config(args.config)).revoke(args.name)
    except DeviceError as error:
        print(f"devices revoke: {error}")
        return 2
    print(f"Device {device.name} revoked.")
    return 0
