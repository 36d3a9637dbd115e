"""GS1 EPC Tag Data Standard decoding: the standard's own examples, round trips through the
encoder for every partition, hand-built SSCC-96/GRAI-96 bit strings, bad input, and the CLI."""

from __future__ import annotations

import json
import random

import pytest

from edge.rfid.epc import (
    EpcError,
    EpcScheme,
    decode_epc,
    encode_sgtin96,
    gs1_check_digit,
    gtin_of,
)
from tests.conftest import run_cli

TDS_SGTIN = "3074257BF7194E4000001A85"


def _pack(header: int, filter_value: int, partition: int, fields: list[tuple[int, int]]) -> str:
    """Reference bit packer: header(8) filter(3) partition(3) then (value, bits) fields."""
    value, used = (header << 6) | (filter_value << 3) | partition, 14
    for field, bits in fields:
        value, used = (value << bits) | field, used + bits
    assert used == 96
    return f"{value:024X}"


def test_tds_sgtin96_example() -> None:
    decoded = decode_epc(TDS_SGTIN)
    assert decoded.scheme is EpcScheme.SGTIN_96
    assert decoded.tag_uri == "urn:epc:tag:sgtin-96:3.0614141.812345.6789"
    assert decoded.pure_identity_uri == "urn:epc:id:sgtin:0614141.812345.6789"
    assert decoded.gtin == "80614141123458"
    assert decoded.serial == 6789
    assert (decoded.filter_value, decoded.partition) == (3, 5)
    assert (decoded.company_prefix, decoded.item_reference) == ("0614141", "812345")
    assert gtin_of(TDS_SGTIN) == "80614141123458"


def test_lower_case_and_surrounding_space_are_accepted() -> None:
    assert decode_epc(f" {TDS_SGTIN.lower()}\n").epc_hex == TDS_SGTIN


def test_decoding_is_cached() -> None:
    assert decode_epc(TDS_SGTIN) is decode_epc(TDS_SGTIN)


def test_encoder_reproduces_the_tds_example() -> None:
    assert encode_sgtin96("0614141", "812345", 6789, filter_value=3) == TDS_SGTIN


def test_round_trip_every_partition() -> None:
    rng = random.Random(0)
    for cp_digits in range(12, 5, -1):
        for serial in (0, 1, 2**38 - 1, rng.randrange(2**38)):
            prefix = "".join(rng.choice("0123456789") for _ in range(cp_digits))
            item = "".join(rng.choice("0123456789") for _ in range(13 - cp_digits))
            filter_value = rng.randint(0, 7)
            hex_epc = encode_sgtin96(prefix, item, serial, filter_value)
            decoded = decode_epc(hex_epc)
            assert decoded.scheme is EpcScheme.SGTIN_96
            assert decoded.partition == 12 - cp_digits
            assert (decoded.company_prefix, decoded.item_reference) == (prefix, item)
            assert (decoded.serial, decoded.filter_value) == (serial, filter_value)
            body = item[0] + prefix + item[1:]
            assert decoded.gtin == body + gs1_check_digit(body)


def test_gs1_check_digits() -> None:
    assert gs1_check_digit("8061414112345") == "8"  # GTIN-14 80614141123458
    assert gs1_check_digit("0061414112345") == "2"  # GTIN 00614141123452 (TDS)
    assert gs1_check_digit("10614141234567890") == "8"  # SSCC 106141412345678908 (TDS)


def test_tds_sscc96_example() -> None:
    # urn:epc:id:sscc:0614141.1234567890 = SSCC 106141412345678908.
    # Partition 5: prefix 24 bits, serial reference 34 bits, then 24 unused bits.
    hex_epc = _pack(0x31, 2, 5, [(614141, 24), (1234567890, 34), (0, 24)])
    decoded = decode_epc(hex_epc)
    assert decoded.scheme is EpcScheme.SSCC_96
    assert decoded.sscc == "106141412345678908"
    assert decoded.serial_reference == "1234567890"
    assert decoded.pure_identity_uri == "urn:epc:id:sscc:0614141.1234567890"
    assert decoded.tag_uri == "urn:epc:tag:sscc-96:2.0614141.1234567890"
    assert gtin_of(hex_epc) is None


def test_tds_grai96_example() -> None:
    # urn:epc:id:grai:0614141.12345.400 = GRAI 00614141123452400; partition 5: 24 + 20 bits.
    hex_epc = _pack(0x33, 3, 5, [(614141, 24), (12345, 20), (400, 38)])
    decoded = decode_epc(hex_epc)
    assert decoded.scheme is EpcScheme.GRAI_96
    assert decoded.grai == "00614141123452400"
    assert (decoded.asset_type, decoded.serial) == ("12345", 400)
    assert decoded.tag_uri == "urn:epc:tag:grai-96:3.0614141.12345.400"


@pytest.mark.parametrize(
    ("hex_epc", "header", "error"),
    [
        ("E200301666130121155074EF", 0xE2, None),
        ("AABB", 0xAA, None),
        ("30" + "00" * 9, 0x30, "needs 96 bits"),
        (_pack(0x30, 1, 7, [(0, 44), (0, 38)]), 0x30, "partition 7"),
        (_pack(0x30, 1, 5, [(10**7, 24), (0, 20), (0, 38)]), 0x30, "more than 7 digits"),
        (_pack(0x31, 1, 0, [(0, 40), (10**5, 18), (0, 24)]), 0x31, "more than 5 digits"),
    ],
    ids=["tid-style", "short", "sgtin-too-short", "partition-7", "prefix-overflow", "sscc-ref"],
)
def test_unsupported_or_invalid_epcs_are_unknown(
    hex_epc: str, header: int, error: str | None
) -> None:
    decoded = decode_epc(hex_epc)
    assert decoded.scheme is EpcScheme.UNKNOWN
    assert decoded.epc_hex == hex_epc
    assert decoded.header == header
    if error is None:
        assert decoded.error is None
    else:
        assert decoded.error is not None and error in decoded.error
    assert decoded.gtin is None
    assert gtin_of(hex_epc) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("307", "odd number"),
        ("30ZZ", "not hexadecimal"),
        ("30 74", "not hexadecimal"),
        ("0x3074", "not hexadecimal"),
    ],
    ids=["empty", "blank", "odd", "non-hex", "inner-space", "0x-prefix"],
)
def test_bad_hex_raises_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(EpcError, match=message):
        decode_epc(text)
    assert gtin_of(text) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("06141", "8123456", 1), "6 to 12 digits"),
        (("0614141", "81234", 1), "must have 6 digits"),
        (("0614141", "81234x", 1), "decimal digits"),
        (("0614141", "812345", 2**38), "38 bits"),
        (("0614141", "812345", -1), "38 bits"),
    ],
    ids=["short-prefix", "short-reference", "non-digit", "serial-too-big", "negative-serial"],
)
def test_encoder_rejects_bad_fields(args: tuple[str, str, int], message: str) -> None:
    with pytest.raises(EpcError, match=message):
        encode_sgtin96(*args)
    with pytest.raises(EpcError, match="filter value"):
        encode_sgtin96("0614141", "812345", 1, filter_value=8)


def test_to_dict_is_json_ready_and_omits_fields_of_other_schemes() -> None:
    as_dict = decode_epc(TDS_SGTIN).to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["scheme"] == "sgtin-96"
    assert "sscc" not in as_dict and "error" not in as_dict


def test_cli_decode_prints_json() -> None:
    result = run_cli("epc", "decode", TDS_SGTIN.lower())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == decode_epc(TDS_SGTIN).to_dict()
    assert result.stdout.startswith('{\n  "')  # indented


def test_cli_decode_rejects_bad_hex() -> None:
    result = run_cli("epc", "decode", "30Z1")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "not hexadecimal" in result.stderr
