"""``o2o-edge epc decode HEX [--pc HEX]``: print a decoded EPC as JSON;
``o2o-edge epc encode TAG_URI``: print the EPC bank contents as hex."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from edge.rfid.epc import EpcError, decode_epc, encode_tag_uri


def register(subparsers: Any) -> None:
    epc = subparsers.add_parser("epc", help="EPC tools (GS1 Tag Data Standard, docs/epc.md)")
    commands = epc.add_subparsers(dest="epc_command", metavar="COMMAND", required=True)
    decode = commands.add_parser(
        "decode",
        help="Decode an EPC (SGTIN, SSCC, SGLN, GRAI, GIAI, GSRN, GDTI, GID) and print it as JSON",
        description="Decode an EPC bank given as hex. A bank longer than the scheme needs is "
        "decoded by the length its header implies. An EPC that does not decode prints scheme "
        "'unknown' with a reason (exit 0); input that is not hex exits 2.",
    )
    decode.add_argument(
        "hex",
        metavar="HEX",
        help="EPC as hex as the reader reports it, e.g. 3074257BF7194E4000001A85",
    )
    decode.add_argument(
        "--pc",
        metavar="HEX",
        help="the PC word the reader reported with it (e.g. 3000): its length bits must match "
        "the EPC's length",
    )
    decode.set_defaults(handler=_decode)
    encode = commands.add_parser(
        "encode",
        help="Encode an EPC tag URI (urn:epc:tag:sgtin-198:1.0614141.812345.A%%2F1) as hex",
    )
    encode.add_argument("uri", metavar="TAG_URI", help="EPC tag URI, URI escapes included")
    encode.set_defaults(handler=_encode)


def _pc_word(text: str) -> int:
    digits = text.strip().lower().removeprefix("0x")
    if not 1 <= len(digits) <= 4 or any(char not in "0123456789abcdef" for char in digits):
        raise EpcError(f"--pc {text!r} is not a PC word (1 to 4 hex digits, e.g. 3000)")
    return int(digits, 16)


def _decode(args: argparse.Namespace) -> int:
    try:
        pc_word = None if args.pc is None else _pc_word(args.pc)
        decoded = decode_epc(args.hex, pc_word)
    except EpcError as error:
        print(f"o2o-edge epc decode: {error}", file=sys.stderr)
        return 2
    print(json.dumps(decoded.to_dict(), indent=2))
    return 0


def _encode(args: argparse.Namespace) -> int:
    try:
        print(encode_tag_uri(args.uri))
    except EpcError as error:
        print(f"o2o-edge epc encode: {error}", file=sys.stderr)
        return 2
    return 0
