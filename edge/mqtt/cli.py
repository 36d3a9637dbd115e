"""``o2o-edge broker-acl --config STORE.yaml``: the store broker's access control list
(:mod:`edge.mqtt.acl`) for Mosquitto's ``acl_file``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from edge.config.loader import load_store_config
from edge.mqtt.acl import acl_text


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "broker-acl",
        help="Print the store broker's users and ACL (Mosquitto acl_file) from STORE.yaml",
        description="One user per edge, till, MQTT reader, staff handhelds and tablets, each "
        "allowed only its own topics (docs/operations.md, 'An authenticated broker').",
    )
    parser.add_argument("--config", required=True, type=Path, help="STORE.yaml")
    parser.add_argument("--tills", type=int, default=1, help="Number of tills (default 1)")
    parser.add_argument("--out", type=Path, help="Write the file here (default: stdout)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if args.tills < 0:
        raise SystemExit("o2o-edge broker-acl: --tills must be 0 or more")
    text = acl_text(load_store_config(args.config), args.tills, source=str(args.config))
    if args.out is None:
        print(text, end="")
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0
