"""``o2o-edge epc decode HEX``: print a decoded EPC as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: Any) -> None:
    epc = subparsers.add_parser("epc", help="EPC tools (GS1 Tag Data Standard)")
    commands = epc.add_subparsers(dest="epc_command", metavar="COMMAND", required=True)
    decode = commands.add_parser(
        "decode", help="Decode an EPC (SGTIN-96, SSCC-96, GRAI-96) and print it as JSON"
    )
    decode.add_argument("hex", metavar="HEX", help="EPC as hex, e.g. 3074257BF7194E4000001A85")
    decode.set_defaults(handler=_decode)


def _decode(args: argparse.Namespace) -> int:
    from edge.rfid.epc import EpcError, decode_epc

    try:
        decoded = decode_epc(args.hex)
    except EpcError as error:
        print(f"o2o-edge epc decode: {error}", file=sys.stderr)
        return 2
    print(json.dumps(decoded.to_dict(), indent=2))
    return 0
