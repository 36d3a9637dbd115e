"""GS1 EPC Tag Data Standard decoding and encoding: bit strings packed by hand from the TDS 2.3
coding tables (§14.6) for every scheme, the length rule (§14.4 step 3) and the PC word (§15.2.2),
every reason an EPC is refused, round trips through the encoders, and the CLI.

The TDS's own examples are in tests/rfid/vendor_corpus/epc (test_epc_corpus.py); thousands of
vectors against epcpy and pyepc are in test_epc_conformance.py."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.rfid.epc import (
    EpcError,
    EpcInvalid,
    EpcScheme,
    decode_epc,
    encode_giai96,
    encode_giai202,
    encode_gid96,
    encode_gs1,
    encode_sgln96,
    encode_sgtin96,
    encode_sgtin198,
    encode_sscc96,
    encode_tag_uri,
    gs1_check_digit,
    gtin_of,
)
from tests.conftest import run_cli
from tests.rfid.conftest import T0_MS, make_tracker, reads

TDS_SGTIN = "3074257BF7194E4000001A85"
"""TDS 1.x Appendix E: urn:epc:tag:sgtin-96:3.0614141.812345.6789."""
TABLE_A1 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
"""TDS 2.3 Table A-1, typed from the table: the 82 characters allowed in alphanumeric fields."""


def _pack(header: int, fields: list[tuple[int, int]], total: int = 96) -> str:
    """Reference bit packer: the header, then (value, bits) fields; hex of whole 16-bit words."""
    value, used = header, 8
    for field, bits in fields:
        assert 0 <= field < 1 << bits
        value, used = (value << bits) | field, used + bits
    assert used == total, used
    words = -(-total // 16)
    return f"{value << (words * 16 - total):0{words * 4}X}"


def _chars(text: str, bits: int) -> int:
    """7-bit ASCII characters, zero-padded to ``bits`` (TDS §14.3.2)."""
    value = 0
    for char in text:
        value = (value << 7) | ord(char)
    return value << (bits - 7 * len(text))


def test_tds_sgtin96_example() -> None:
    decoded = decode_epc(TDS_SGTIN)
    assert decoded.scheme is EpcScheme.SGTIN_96
    assert decoded.tag_uri == "urn:epc:tag:sgtin-96:3.0614141.812345.6789"
    assert decoded.pure_identity_uri == "urn:epc:id:sgtin:0614141.812345.6789"
    assert decoded.gtin == decoded.gs1_key == "80614141123458"
    assert decoded.serial == "6789"
    assert (decoded.filter_value, decoded.partition, decoded.epc_bits) == (3, 5, 96)
    assert (decoded.company_prefix, decoded.item_reference) == ("0614141", "812345")
    assert gtin_of(TDS_SGTIN) == "80614141123458"


def test_lower_case_and_surrounding_space_are_accepted() -> None:
    assert decode_epc(f" {TDS_SGTIN.lower()}\n").epc_hex == TDS_SGTIN


def test_decoding_is_cached() -> None:
    assert decode_epc(TDS_SGTIN) is decode_epc(TDS_SGTIN)


def test_encoder_reproduces_the_tds_example() -> None:
    assert encode_sgtin96("0614141", "812345", 6789, filter_value=3) == TDS_SGTIN


# Hand-packed bit strings, one per scheme, from the coding tables of TDS 2.3 §14.6. Each row:
# hex, scheme, pure-identity URI, tag URI, GS1 key, and the named fields.
PACKED = [
    (  # Table 14-18, partition 5 (24 + 20 bits), serial "0a/B" with leading zero and escape.
        _pack(0x36, [(1, 3), (5, 3), (614141, 24), (812345, 20), (_chars("0a/B", 140), 140)], 198),
        EpcScheme.SGTIN_198,
        "urn:epc:id:sgtin:0614141.812345.0a%2FB",
        "urn:epc:tag:sgtin-198:1.0614141.812345.0a%2FB",
        "80614141123458",
        {"serial": "0a/B", "item_reference": "812345"},
    ),
    (  # Table 14-8, partition 5; SSCC (00)106141412345678908.
        _pack(0x31, [(2, 3), (5, 3), (614141, 24), (1234567890, 34), (0, 24)]),
        EpcScheme.SSCC_96,
        "urn:epc:id:sscc:0614141.1234567890",
        "urn:epc:tag:sscc-96:2.0614141.1234567890",
        "106141412345678908",
        {"serial_reference": "1234567890"},
    ),
    (  # Table 14-11, partition 0: a 12-digit prefix leaves an empty location reference.
        _pack(0x32, [(0, 3), (0, 3), (952656789012, 40), (0, 1), (4711, 41)]),
        EpcScheme.SGLN_96,
        "urn:epc:id:sgln:952656789012..4711",
        "urn:epc:tag:sgln-96:0.952656789012..4711",
        "9526567890126",
        {"location_reference": "", "extension": "4711"},
    ),
    (  # Table 14-12, partition 5 (24 + 17 bits), extension "x.1" (a dot is not escaped).
        _pack(0x39, [(0, 3), (5, 3), (614141, 24), (12345, 17), (_chars("x.1", 140), 140)], 195),
        EpcScheme.SGLN_195,
        "urn:epc:id:sgln:0614141.12345.x.1",
        "urn:epc:tag:sgln-195:0.0614141.12345.x.1",
        "0614141123452",
        {"extension": "x.1"},
    ),
    (  # Table 14-15, partition 5 (24 + 20 bits).
        _pack(0x33, [(3, 3), (5, 3), (614141, 24), (12345, 20), (400, 38)]),
        EpcScheme.GRAI_96,
        "urn:epc:id:grai:0614141.12345.400",
        "urn:epc:tag:grai-96:3.0614141.12345.400",
        "0614141123452400",
        {"asset_type": "12345", "serial": "400"},
    ),
    (  # Table 14-20, partition 6 (20 + 24 bits), serial "?<>".
        _pack(0x37, [(1, 3), (6, 3), (614141, 20), (123456, 24), (_chars("?<>", 112), 112)], 170),
        EpcScheme.GRAI_170,
        "urn:epc:id:grai:614141.123456.%3F%3C%3E",
        "urn:epc:tag:grai-170:1.614141.123456.%3F%3C%3E",
        "6141411234562?<>",
        {"serial": "?<>"},
    ),
    (  # Table 14-24, partition 5 (24 + 58 bits): the asset reference loses leading zeros.
        _pack(0x34, [(1, 3), (5, 3), (614141, 24), (12345400, 58)]),
        EpcScheme.GIAI_96,
        "urn:epc:id:giai:0614141.12345400",
        "urn:epc:tag:giai-96:1.0614141.12345400",
        "061414112345400",
        {"individual_asset_reference": "12345400"},
    ),
    (  # Table 14-21, partition 0 (40 + 148 bits): 18 characters at most.
        _pack(
            0x38,
            [(0, 3), (0, 3), (952656789012, 40), (_chars("3456789012345678%A", 148), 148)],
            202,
        ),
        EpcScheme.GIAI_202,
        "urn:epc:id:giai:952656789012.3456789012345678%25A",
        "urn:epc:tag:giai-202:0.952656789012.3456789012345678%25A",
        "9526567890123456789012345678%A",
        {"individual_asset_reference": "3456789012345678%A"},
    ),
    (  # Table 14-24 (GSRN), partition 5.
        _pack(0x2D, [(0, 3), (5, 3), (614141, 24), (1234567890, 34), (0, 24)]),
        EpcScheme.GSRN_96,
        "urn:epc:id:gsrn:0614141.1234567890",
        "urn:epc:tag:gsrn-96:0.0614141.1234567890",
        "061414112345678902",
        {"service_reference": "1234567890"},
    ),
    (  # Table 14-27 (GSRNP), partition 4 (27 + 31 bits).
        _pack(0x2E, [(0, 3), (4, 3), (61414112, 27), (345678901, 31), (0, 24)]),
        EpcScheme.GSRNP_96,
        "urn:epc:id:gsrnp:61414112.345678901",
        "urn:epc:tag:gsrnp-96:0.61414112.345678901",
        "614141123456789017",
        {"service_reference": "345678901"},
    ),
    (  # Table 14-30, partition 5 (24 + 17 bits).
        _pack(0x2C, [(0, 3), (5, 3), (614141, 24), (12345, 17), (400, 41)]),
        EpcScheme.GDTI_96,
        "urn:epc:id:gdti:0614141.12345.400",
        "urn:epc:tag:gdti-96:0.0614141.12345.400",
        "0614141123452400",
        {"document_type": "12345", "serial": "400"},
    ),
    (  # Table 14-32, partition 5, serial of 17 characters (the most that fit 119 bits).
        _pack(
            0x3E,
            [(0, 3), (5, 3), (614141, 24), (12345, 17), (_chars("ABCDefgh012345678", 119), 119)],
            174,
        ),
        EpcScheme.GDTI_174,
        "urn:epc:id:gdti:0614141.12345.ABCDefgh012345678",
        "urn:epc:tag:gdti-174:0.0614141.12345.ABCDefgh012345678",
        "0614141123452ABCDefgh012345678",
        {"serial": "ABCDefgh012345678"},
    ),
    (  # Table 14-29 (GID-96): no filter, three integers.
        _pack(0x35, [(95100000, 28), (12345, 24), (400, 36)]),
        EpcScheme.GID_96,
        "urn:epc:id:gid:95100000.12345.400",
        "urn:epc:tag:gid-96:95100000.12345.400",
        None,
        {"general_manager": "95100000", "object_class": "12345", "serial": "400"},
    ),
]


@pytest.mark.parametrize(
    ("hex_epc", "scheme", "pure", "tag", "key", "fields"), PACKED, ids=[p[1].value for p in PACKED]
)
def test_hand_packed_bits_of_every_scheme(
    hex_epc: str, scheme: EpcScheme, pure: str, tag: str, key: str | None, fields: dict[str, str]
) -> None:
    decoded = decode_epc(hex_epc)
    assert decoded.scheme is scheme, decoded.error
    assert (decoded.pure_identity_uri, decoded.tag_uri, decoded.gs1_key) == (pure, tag, key)
    for name, value in fields.items():
        assert getattr(decoded, name) == value, name
    assert encode_tag_uri(tag) == hex_epc
    assert gtin_of(hex_epc) == (key if scheme is EpcScheme.SGTIN_198 else None)


def test_gs1_check_digits() -> None:
    assert gs1_check_digit("8061414112345") == "8"  # GTIN-14 80614141123458
    assert gs1_check_digit("0061414112345") == "2"  # GTIN 00614141123452 (TDS)
    assert gs1_check_digit("10614141234567890") == "8"  # SSCC 106141412345678908 (TDS)
    assert gs1_check_digit("952114112345") == "4"  # GLN 9521141123454 (TDS 2.3 E.3)


def test_round_trip_every_scheme_and_partition() -> None:
    rng = random.Random(0)
    for tag in (p[3] for p in PACKED):
        decoded = decode_epc(encode_tag_uri(tag))
        assert decoded.tag_uri == tag
    for cp_digits in range(12, 5, -1):
        prefix = "".join(rng.choice("0123456789") for _ in range(cp_digits))
        item = "".join(rng.choice("0123456789") for _ in range(13 - cp_digits))
        for serial in (0, 1, 2**38 - 1, rng.randrange(2**38)):
            decoded = decode_epc(encode_sgtin96(prefix, item, serial, rng.randint(0, 7)))
            assert (decoded.company_prefix, decoded.item_reference) == (prefix, item)
            assert decoded.partition == 12 - cp_digits and decoded.serial == str(serial)
            body = item[0] + prefix + item[1:]
            assert decoded.gtin == body + gs1_check_digit(body)
        serial_text = "".join(rng.choice(TABLE_A1) for _ in range(20))
        decoded = decode_epc(encode_sgtin198(prefix, item, serial_text))
        assert decoded.serial == serial_text and decoded.scheme is EpcScheme.SGTIN_198
        assert gtin_of(encode_sgtin198(prefix, item, serial_text)) == decoded.gtin
        reference = "".join(rng.choice("0123456789") for _ in range(17 - cp_digits))
        assert decode_epc(encode_sscc96(prefix, reference)).serial_reference == reference
        location = "".join(rng.choice("0123456789") for _ in range(12 - cp_digits))
        assert decode_epc(encode_sgln96(prefix, location, 2**41 - 1)).extension == str(2**41 - 1)
        # GIAI-96 asset reference bits by prefix length (Table 14-23): the largest value fits.
        asset = 2 ** {12: 42, 11: 45, 10: 48, 9: 52, 8: 55, 7: 58, 6: 62}[cp_digits] - 1
        assert decode_epc(encode_giai96(prefix, asset)).giai == prefix + str(asset)
        long_asset = "".join(rng.choice(TABLE_A1) for _ in range(30 - cp_digits))
        assert decode_epc(encode_giai202(prefix, long_asset)).giai == prefix + long_asset
    assert decode_epc(encode_gid96(2**28 - 1, 2**24 - 1, 2**36 - 1)).serial == str(2**36 - 1)


def test_every_table_a1_character_round_trips_with_its_uri_form() -> None:
    escapes = {'"': "%22", "%": "%25", "&": "%26", "/": "%2F", "<": "%3C", ">": "%3E", "?": "%3F"}
    for start in range(0, len(TABLE_A1), 20):
        serial = TABLE_A1[start : start + 20]
        decoded = decode_epc(encode_sgtin198("0614141", "812345", serial, 3))
        assert decoded.serial == serial
        uri_serial = "".join(escapes.get(char, char) for char in serial)
        assert decoded.tag_uri == f"urn:epc:tag:sgtin-198:3.0614141.812345.{uri_serial}"
        assert encode_tag_uri(decoded.tag_uri) == decoded.epc_hex
    giai = decode_epc(encode_giai202("614141", "a:b/c.%d"))
    assert giai.individual_asset_reference == "a:b/c.%d"
    assert giai.pure_identity_uri == "urn:epc:id:giai:614141.a:b%2Fc.%25d"


def test_the_tracker_counts_sgtin198_tags_and_longer_banks_by_gtin() -> None:
    tracker = make_tracker()
    epcs = [
        encode_sgtin96("0614141", "012345", 7),
        encode_sgtin96("0614141", "012345", 8) + "ABCD1234",  # a 128-bit bank
        encode_sgtin198("0614141", "012345", "0007/A"),
    ]
    for read in sorted(
        (read for epc in epcs for read in reads(epc, "shelf-a", start_ms=T0_MS)),
        key=lambda read: read.ts_ms,
    ):
        tracker.process(read)
    assert tracker.stock() == {"00614141123452": {"shelf-a": 3}}


# --- Length by header, PC word --------------------------------------------------------------


def test_longer_bank_decodes_by_the_length_its_header_implies() -> None:
    # A 128-bit EPC bank holding an SGTIN-96; the trailing 32 bits are not zero.
    decoded = decode_epc(TDS_SGTIN + "DEADBEEF")
    assert decoded.scheme is EpcScheme.SGTIN_96 and decoded.epc_bits == 96
    assert decoded.epc_hex == TDS_SGTIN + "DEADBEEF"
    assert decoded.pure_identity_uri == "urn:epc:id:sgtin:0614141.812345.6789"
    assert gtin_of(TDS_SGTIN + "DEADBEEF") == "80614141123458"
    # SGTIN-198 arrives as 13 words (208 bits); the last 10 are padding and are ignored too.
    sgtin198 = encode_sgtin198("0614141", "812345", "A1", 3)
    assert len(sgtin198) == 52
    assert decode_epc(sgtin198[:-1] + "F").serial == "A1"


def test_pc_word_gives_and_checks_the_length() -> None:
    assert decode_epc(TDS_SGTIN, pc_word=0x3000).gtin == "80614141123458"
    # Attribute bits and the UMI/XPC bits do not matter for the length.
    assert decode_epc(TDS_SGTIN, pc_word=0x3401).scheme is EpcScheme.SGTIN_96
    sgtin198 = encode_sgtin198("0614141", "812345", "A1", 3)
    assert decode_epc(sgtin198, pc_word=13 << 11).scheme is EpcScheme.SGTIN_198
    with pytest.raises(EpcError, match="16-bit"):
        decode_epc(TDS_SGTIN, pc_word=0x10000)


INVALID = [
        ("E200301666130121155074EF", None, EpcInvalid.UNKNOWN_HEADER, "0xE2 is reserved"),
        ("AABB", None, EpcInvalid.UNKNOWN_HEADER, "0xAA is not an EPC header"),
        ("00" * 12, None, EpcInvalid.UNKNOWN_HEADER, "unprogrammed"),
        ("3C74257BF400C0E680003039", None, EpcInvalid.UNSUPPORTED_SCHEME, "CPI-96"),
        ("F73795211411234538566CB0AFC4", None, EpcInvalid.UNSUPPORTED_SCHEME, "SGTIN+"),
        ("30" + "00" * 9, None, EpcInvalid.TOO_SHORT, "needs 96 bits, got 80"),
        ("3674257BF6B7A659B2C2BF10" + "0" * 8, None, EpcInvalid.TOO_SHORT, "needs 198 bits"),
        (TDS_SGTIN + "0000", 0x3000, EpcInvalid.PC_LENGTH_MISMATCH, "6 words (96 bits)"),
        (TDS_SGTIN, 0x4000, EpcInvalid.PC_LENGTH_MISMATCH, "but the EPC has 96 bits"),
        (TDS_SGTIN, 0x3100, EpcInvalid.NOT_EPC, "toggle bit"),
        (_pack(0x30, [(1, 3), (7, 3), (0, 44), (0, 38)]), None, EpcInvalid.BAD_PARTITION,
         "partition 7"),
        (_pack(0x30, [(1, 3), (5, 3), (10**7, 24), (0, 20), (0, 38)]), None,
         EpcInvalid.TOO_MANY_DIGITS, "company prefix 10000000 has more than 7 digits"),
        (_pack(0x31, [(1, 3), (0, 3), (0, 40), (10**5, 18), (0, 24)]), None,
         EpcInvalid.TOO_MANY_DIGITS, "serial reference 100000 has more than 5 digits"),
        (_pack(0x32, [(1, 3), (0, 3), (0, 40), (1, 1), (0, 41)]), None,
         EpcInvalid.TOO_MANY_DIGITS, "location reference 1 has more than 0 digits"),
        (_pack(0x36, [(1, 3), (5, 3), (0, 24), (0, 20), (_chars("a#b", 140), 140)], 198), None,
         EpcInvalid.BAD_CHARACTER, "0x23 is not allowed"),
        (_pack(0x36, [(1, 3), (5, 3), (0, 24), (0, 20), (0, 140)], 198), None,
         EpcInvalid.EMPTY_STRING, "serial is empty"),
        (_pack(0x36, [(1, 3), (5, 3), (0, 24), (0, 20), (_chars("a\0b", 140), 140)], 198), None,
         EpcInvalid.BITS_AFTER_STRING_END, "after the zero character"),
        (_pack(0x38, [(1, 3), (0, 3), (0, 40), (_chars("1", 148) | 1, 148)], 202), None,
         EpcInvalid.BITS_AFTER_STRING_END, "padding bits"),
        (_pack(0x38, [(1, 3), (0, 3), (0, 40), (_chars("1" * 19, 148), 148)], 202), None,
         EpcInvalid.STRING_TOO_LONG, "19 characters, more than the 18"),
        (_pack(0x31, [(1, 3), (5, 3), (0, 24), (0, 34), (1, 24)]), None,
         EpcInvalid.RESERVED_BITS_SET, "last 24 bits must be zero"),
        (_pack(0x2D, [(1, 3), (5, 3), (0, 24), (0, 34), (1 << 23, 24)]), None,
         EpcInvalid.RESERVED_BITS_SET, "GSRN-96"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("hex_epc", "pc_word", "reason", "message"),
    INVALID,
    ids=lambda value: value.value if isinstance(value, EpcInvalid) else None,
)
def test_invalid_epcs_are_unknown_with_a_reason(
    hex_epc: str, pc_word: int | None, reason: EpcInvalid, message: str
) -> None:
    decoded = decode_epc(hex_epc, pc_word)
    assert decoded.scheme is EpcScheme.UNKNOWN
    assert (decoded.epc_hex, decoded.header) == (hex_epc, int(hex_epc[:2], 16))
    assert decoded.reason is reason
    assert decoded.error is not None and message in decoded.error, decoded.error
    assert decoded.gtin is None and decoded.pure_identity_uri is None
    assert decoded.to_dict()["reason"] == reason.value
    if pc_word is None:
        assert gtin_of(hex_epc) is None


def test_every_reason_has_a_case() -> None:
    assert {row[2] for row in INVALID} == set(EpcInvalid)


@settings(max_examples=300, deadline=None)
@given(
    header=st.sampled_from(
        [
            0x2C,
            0x2D,
            0x2E,
            0x30,
            0x31,
            0x32,
            0x33,
            0x34,
            0x35,
            0x36,
            0x37,
            0x38,
            0x39,
            0x3E,
            0x3C,
            0xE2,
            0x00,
        ]
    ),
    body=st.binary(min_size=0, max_size=40),
    pc_word=st.one_of(st.none(), st.integers(0, 0xFFFF)),
)
def test_any_hex_decodes_or_says_why_and_never_raises(
    header: int, body: bytes, pc_word: int | None
) -> None:
    epc = bytes([header]) + body
    decoded = decode_epc.__wrapped__(epc.hex(), pc_word)
    if decoded.scheme is EpcScheme.UNKNOWN:
        assert decoded.reason is not None and decoded.error
    else:
        assert decoded.tag_uri is not None and decoded.reason is None
        assert decode_epc(encode_tag_uri(decoded.tag_uri)).tag_uri == decoded.tag_uri
    assert gtin_of.__wrapped__(epc.hex()) == (
        decode_epc(epc.hex()).gtin if header in (0x30, 0x36) else None
    )


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


# --- Encoders -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("06141", "8123456", 1), "6 to 12 decimal digits"),
        (("0614141", "81234", 1), "must have 6 digits"),
        (("0614141", "81234x", 1), "decimal digits"),
        (("0614141", "812345", 2**38), "does not fit 38 bits"),
        (("0614141", "812345", -1), "does not fit 38 bits"),
    ],
    ids=["short-prefix", "short-reference", "non-digit", "serial-too-big", "negative-serial"],
)
def test_encoder_rejects_bad_fields(args: tuple[str, str, int], message: str) -> None:
    with pytest.raises(EpcError, match=message):
        encode_sgtin96(*args)
    with pytest.raises(EpcError, match="filter value"):
        encode_sgtin96("0614141", "812345", 1, filter_value=8)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: encode_sgtin198("0614141", "812345", ""), "at least one character"),
        (lambda: encode_sgtin198("0614141", "812345", "x" * 21), "at most 20"),
        (lambda: encode_sgtin198("0614141", "812345", "a b"), "not allowed"),
        (lambda: encode_giai202("061414112345", "x" * 19), "at most 18"),
        (lambda: encode_giai96("0614141", 2**58), "does not fit 58 bits"),
        (lambda: encode_gs1(EpcScheme.SSCC_96, "0614141", "1234567890", "1"), "no serial"),
        (lambda: encode_gs1(EpcScheme.GID_96, "0614141", "1"), "not a GS1-key scheme"),
        (lambda: encode_gid96(2**28, 0, 0), "general manager number"),
        (lambda: encode_tag_uri("urn:epc:id:sgtin:0614141.812345.1"), "not an EPC tag URI"),
        (lambda: encode_tag_uri("urn:epc:tag:cpi-96:3.0614141.98765.1"), "not encoded here"),
        (lambda: encode_tag_uri("urn:epc:tag:sgtin-96:8.0614141.812345.1"), "filter 0 to 7"),
        (lambda: encode_tag_uri("urn:epc:tag:sgtin-96:1.0614141.812345.01"), "leading zeros"),
        (lambda: encode_tag_uri("urn:epc:tag:sgtin-198:1.0614141.812345.a/b"), "write it as %2F"),
        (lambda: encode_tag_uri("urn:epc:tag:sgtin-198:1.0614141.812345.%23"), "%23 is not"),
        (lambda: encode_tag_uri("urn:epc:tag:gid-96:1.2"), "manager.class.serial"),
    ],
)
def test_encoders_reject_what_the_tds_does_not_allow(call: object, message: str) -> None:
    with pytest.raises(EpcError, match=message):
        call()  # type: ignore[operator]


def test_to_dict_is_json_ready_and_omits_fields_of_other_schemes() -> None:
    as_dict = decode_epc(TDS_SGTIN).to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["scheme"] == "sgtin-96" and as_dict["serial"] == "6789"
    assert as_dict["gtin"] == "80614141123458" and as_dict["epc_bits"] == 96
    assert "sscc" not in as_dict and "error" not in as_dict and "reason" not in as_dict


# --- CLI ------------------------------------------------------------------------------------


def test_cli_decode_prints_json() -> None:
    result = run_cli("epc", "decode", TDS_SGTIN.lower())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == decode_epc(TDS_SGTIN).to_dict()
    assert result.stdout.startswith('{\n  "')  # indented


def test_cli_decode_takes_a_longer_bank_and_the_pc_word() -> None:
    result = run_cli("epc", "decode", "3074257BF7194E4000001A8500000000", "--pc", "4000")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["pure_identity_uri"] == "urn:epc:id:sgtin:0614141.812345.6789"
    assert out["epc_bits"] == 96
    mismatch = json.loads(run_cli("epc", "decode", TDS_SGTIN, "--pc", "0x4000").stdout)
    assert (mismatch["scheme"], mismatch["reason"]) == ("unknown", "pc_length_mismatch")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("30Z1",), "not hexadecimal"),
        ((TDS_SGTIN, "--pc", "xyz"), "is not a PC word"),
        ((TDS_SGTIN, "--pc", "12345"), "is not a PC word"),
    ],
    ids=["bad-hex", "bad-pc", "pc-too-long"],
)
def test_cli_decode_rejects_bad_input_in_one_line(args: tuple[str, ...], message: str) -> None:
    result = run_cli("epc", "decode", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_cli_encode() -> None:
    result = run_cli("epc", "encode", "urn:epc:tag:sgtin-198:3.0614141.712345.32a%2Fb")
    assert result.returncode == 0, result.stderr
    # TDS 1.x Appendix E: the SGTIN-198 example, as the 13 words a tag holds.
    assert result.stdout == "3674257BF6B7A659B2C2BF100000000000000000000000000000\n"
    bad = run_cli("epc", "encode", "urn:epc:tag:sgtin-96:3.0614141.812345.x")
    assert bad.returncode == 2 and "leading zeros" in bad.stderr
