"""The GS1 EPC Tag Data Standard tables behind :mod:`edge.rfid.epc` (section and table numbers
are those of TDS 2.3; docs/epc.md lists them).

- The headers of Table 14-1, with the length in bits each one implies.
- The partition tables and coding tables of §14.6 for the schemes decoded here.
- The 82 characters allowed in alphanumeric fields (Table A-1), with their URI forms, and the
  7-bit "String" codec (§14.3.2 / §14.4.2; §14.3.5 / §14.4.5 for a string after a partition).

Pure data and pure functions; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import NamedTuple


class EpcScheme(StrEnum):
    """EPC binary coding schemes decoded here; the value is the name used in the tag URI."""

    SGTIN_96 = "sgtin-96"
    SGTIN_198 = "sgtin-198"
    SSCC_96 = "sscc-96"
    SGLN_96 = "sgln-96"
    SGLN_195 = "sgln-195"
    GRAI_96 = "grai-96"
    GRAI_170 = "grai-170"
    GIAI_96 = "giai-96"
    GIAI_202 = "giai-202"
    GSRN_96 = "gsrn-96"
    GSRNP_96 = "gsrnp-96"
    GDTI_96 = "gdti-96"
    GDTI_174 = "gdti-174"
    GID_96 = "gid-96"
    UNKNOWN = "unknown"


class EpcInvalid(StrEnum):
    """Why an EPC bank did not decode. Stable values: callers count reads by them."""

    UNKNOWN_HEADER = "unknown_header"
    """The header is not an EPC header of the TDS (or is reserved, like 0xE2 for TID memory)."""
    UNSUPPORTED_SCHEME = "unsupported_scheme"
    """A TDS scheme this decoder does not decode (CPI, SGCN, ITIP, ADI, USDoD, the '+' ones)."""
    TOO_SHORT = "too_short"
    """Fewer bits than the header's scheme needs."""
    PC_LENGTH_MISMATCH = "pc_length_mismatch"
    """The PC word's length bits disagree with the number of EPC bits received."""
    NOT_EPC = "not_epc"
    """The PC word's toggle bit says the bank holds an ISO/IEC 15961 UII, not a GS1 EPC."""
    BAD_PARTITION = "bad_partition"
    """Partition value 7, which no partition table defines."""
    TOO_MANY_DIGITS = "too_many_digits"
    """A decimal field whose binary value needs more digits than its partition allows."""
    BAD_CHARACTER = "bad_character"
    """A 7-bit character that Table A-1 does not allow."""
    EMPTY_STRING = "empty_string"
    """An alphanumeric field whose first character is the zero terminator."""
    BITS_AFTER_STRING_END = "bits_after_string_end"
    """Non-zero bits after the zero character that ends an alphanumeric field."""
    STRING_TOO_LONG = "string_too_long"
    """More characters than the partition table allows (GIAI-202)."""
    RESERVED_BITS_SET = "reserved_bits_set"
    """SSCC-96, GSRN-96 and GSRNP-96 end with 24 bits that must be zero."""


class InvalidEpc(Exception):
    """Raised inside the decoder only; :func:`edge.rfid.epc.decode_epc` turns it into a result."""

    def __init__(self, reason: EpcInvalid, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class Gs1Key(StrEnum):
    """GS1 keys an EPC maps to (TDS §7); the value names the DecodedEpc field holding it."""

    GTIN = "gtin"
    SSCC = "sscc"
    GLN = "gln"
    GRAI = "grai"
    GIAI = "giai"
    GSRN = "gsrn"
    GSRNP = "gsrnp"
    GDTI = "gdti"


class Partition(NamedTuple):
    cp_bits: int
    cp_digits: int
    ref_bits: int
    ref_digits: int
    """Digits of the field after the company prefix; for a string field, its maximum characters;
    for an unpadded integer (GIAI-96), its maximum digits (the TDS does not check it on decode)."""


_COMPANY_PREFIX = ((40, 12), (37, 11), (34, 10), (30, 9), (27, 8), (24, 7), (20, 6))
"""Company prefix (bits, digits) for partition values 0-6: the same in every partition table."""


def _table(*second_field: tuple[int, int]) -> tuple[Partition, ...]:
    """A partition table from the (bits, digits) of its second field, partition 0 first."""
    return tuple(
        Partition(cp_bits, cp_digits, bits, digits)
        for (cp_bits, cp_digits), (bits, digits) in zip(_COMPANY_PREFIX, second_field, strict=True)
    )


SGTIN_PARTITIONS = _table((4, 1), (7, 2), (10, 3), (14, 4), (17, 5), (20, 6), (24, 7))
"""Table 14-16; the second field is the indicator digit followed by the item reference."""
SSCC_PARTITIONS = _table((18, 5), (21, 6), (24, 7), (28, 8), (31, 9), (34, 10), (38, 11))
"""Table 14-7 (the GSRN tables 14-23 and 14-26 are the same): extension digit first for SSCC."""
SGLN_PARTITIONS = _table((1, 0), (4, 1), (7, 2), (11, 3), (14, 4), (17, 5), (21, 6))
"""Table 14-10 (the GDTI table 14-29 is the same)."""
GRAI_PARTITIONS = _table((4, 0), (7, 1), (10, 2), (14, 3), (17, 4), (20, 5), (24, 6))
"""Table 14-19."""
GIAI_96_PARTITIONS = _table((42, 13), (45, 14), (48, 15), (52, 16), (55, 17), (58, 18), (62, 19))
"""Table 14-23."""
GIAI_202_PARTITIONS = _table(
    (148, 18), (151, 19), (154, 20), (158, 21), (161, 22), (164, 23), (168, 24)
)
"""Table 14-20 (GIAI-202): the asset reference is a string of at most this many characters."""


class RefCoding(Enum):
    """How the field after the company prefix is coded."""

    PADDED = "Partition Table"  # §14.4.3: fixed digits, zero-padded
    UNPADDED = "Unpadded Partition Table"  # §14.4.4: integer without leading zeros
    STRING = "String Partition Table"  # §14.4.5: 7-bit characters, zero-padded


class TailCoding(Enum):
    """How the bits after that field are coded."""

    INTEGER = "Integer"  # §14.4.1
    STRING = "String"  # §14.4.2
    RESERVED = "24 zero bits"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Gs1Layout:
    """One coding table of §14.6 for a GS1-key scheme: header, filter (3 bits), partition (3),
    company prefix and a second field per the partition table, then the tail."""

    scheme: EpcScheme
    header: int
    bits: int
    identity: str
    """Scheme name in the pure-identity URI (``urn:epc:id:<identity>:``)."""
    partitions: tuple[Partition, ...]
    ref_coding: RefCoding
    ref_field: str
    """Name of the DecodedEpc field that receives the second field."""
    tail_coding: TailCoding
    tail_field: str | None
    key: Gs1Key
    # Derived once: the decoder reads them for every EPC.
    tail_bits: int = field(init=False)
    name: str = field(init=False)
    """Tag-URI scheme name, e.g. ``sgtin-96``."""
    key_field: str = field(init=False)

    def __post_init__(self) -> None:
        first = self.partitions[0]
        object.__setattr__(self, "tail_bits", self.bits - 14 - first.cp_bits - first.ref_bits)
        object.__setattr__(self, "name", self.scheme.value)
        object.__setattr__(self, "key_field", self.key.value)


@dataclass(frozen=True, slots=True)
class GidLayout:
    """GID-96 (§14.6.12): header, then general manager (28), object class (24), serial (36)."""

    scheme: EpcScheme = EpcScheme.GID_96
    header: int = 0x35
    bits: int = 96
    manager_bits: int = 28
    class_bits: int = 24
    serial_bits: int = 36


_SERIAL, _INT, _STR = "serial", TailCoding.INTEGER, TailCoding.STRING
_PAD = RefCoding.PADDED

GS1_LAYOUTS: tuple[Gs1Layout, ...] = (
    Gs1Layout(EpcScheme.SGTIN_96, 0x30, 96, "sgtin", SGTIN_PARTITIONS, _PAD, "item_reference",
              _INT, _SERIAL, Gs1Key.GTIN),
    Gs1Layout(EpcScheme.SGTIN_198, 0x36, 198, "sgtin", SGTIN_PARTITIONS, _PAD, "item_reference",
              _STR, _SERIAL, Gs1Key.GTIN),
    Gs1Layout(EpcScheme.SSCC_96, 0x31, 96, "sscc", SSCC_PARTITIONS, _PAD, "serial_reference",
              TailCoding.RESERVED, None, Gs1Key.SSCC),
    Gs1Layout(EpcScheme.SGLN_96, 0x32, 96, "sgln", SGLN_PARTITIONS, _PAD, "location_reference",
              _INT, "extension", Gs1Key.GLN),
    Gs1Layout(EpcScheme.SGLN_195, 0x39, 195, "sgln", SGLN_PARTITIONS, _PAD,
              "location_reference", _STR, "extension", Gs1Key.GLN),
    Gs1Layout(EpcScheme.GRAI_96, 0x33, 96, "grai", GRAI_PARTITIONS, _PAD, "asset_type",
              _INT, _SERIAL, Gs1Key.GRAI),
    Gs1Layout(EpcScheme.GRAI_170, 0x37, 170, "grai", GRAI_PARTITIONS, _PAD, "asset_type",
              _STR, _SERIAL, Gs1Key.GRAI),
    Gs1Layout(EpcScheme.GIAI_96, 0x34, 96, "giai", GIAI_96_PARTITIONS, RefCoding.UNPADDED,
              "individual_asset_reference", TailCoding.NONE, None, Gs1Key.GIAI),
    Gs1Layout(EpcScheme.GIAI_202, 0x38, 202, "giai", GIAI_202_PARTITIONS, RefCoding.STRING,
              "individual_asset_reference", TailCoding.NONE, None, Gs1Key.GIAI),
    Gs1Layout(EpcScheme.GSRN_96, 0x2D, 96, "gsrn", SSCC_PARTITIONS, _PAD, "service_reference",
              TailCoding.RESERVED, None, Gs1Key.GSRN),
    Gs1Layout(EpcScheme.GSRNP_96, 0x2E, 96, "gsrnp", SSCC_PARTITIONS, _PAD, "service_reference",
              TailCoding.RESERVED, None, Gs1Key.GSRNP),
    Gs1Layout(EpcScheme.GDTI_96, 0x2C, 96, "gdti", SGLN_PARTITIONS, _PAD, "document_type",
              _INT, _SERIAL, Gs1Key.GDTI),
    Gs1Layout(EpcScheme.GDTI_174, 0x3E, 174, "gdti", SGLN_PARTITIONS, _PAD, "document_type",
              _STR, _SERIAL, Gs1Key.GDTI),
)  # fmt: skip
GID_LAYOUT = GidLayout()

LAYOUT_BY_HEADER: dict[int, Gs1Layout | GidLayout] = {
    **{layout.header: layout for layout in GS1_LAYOUTS},
    GID_LAYOUT.header: GID_LAYOUT,
}
LAYOUT_BY_NAME: dict[str, Gs1Layout | GidLayout] = {
    layout.scheme.value: layout for layout in LAYOUT_BY_HEADER.values()
}

RESERVED_HEADERS: dict[int, str] = {
    0x00: "the header of an unprogrammed tag",
    0xE2: "reserved: it begins TID memory, not an EPC",
}
"""Table 14-1 values that are no EPC at all."""
OTHER_HEADERS: dict[int, str] = {
    0x2F: "USDoD-96",
    0x3A: "GDTI-113 (deprecated since TDS 1.9)",
    0x3B: "ADI-var",
    0x3C: "CPI-96",
    0x3D: "CPI-var",
    0x3F: "SGCN-96",
    0x40: "ITIP-110",
    0x41: "ITIP-212",
    0xE6: "CPI++", 0xE7: "GSRN++", 0xE8: "GSRNP++", 0xE9: "SGLN++", 0xEA: "GDTI++",
    0xEB: "GRAI++", 0xEC: "SGCN++", 0xED: "ITIP++", 0xEE: "GIAI++", 0xEF: "SSCC++",
    0xF0: "CPI+", 0xF1: "GRAI+", 0xF2: "SGLN+", 0xF3: "ITIP+", 0xF4: "GSRN+", 0xF5: "GSRNP+",
    0xF6: "GDTI+", 0xF7: "SGTIN+", 0xF8: "SGCN+", 0xF9: "SSCC+", 0xFA: "GIAI+",
    0xFB: "DSGTIN+", 0xFC: "DSGTIN++", 0xFD: "SGTIN++",
}  # fmt: skip
"""Table 14-1 schemes that are not decoded here, named in the message."""

# Table A-1: the 82 characters of alphanumeric serials, GLN extensions, GIAIs. Seven of them
# are written as %-escapes in URIs; '.' is not escaped (the serial is the last URI component).
_URI_ESCAPED = '"%&/<>?'
ALLOWED_CHARACTERS = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
URI_FORM: dict[str, str] = {
    char: f"%{ord(char):02X}" if char in _URI_ESCAPED else char for char in ALLOWED_CHARACTERS
}
_CHAR_OF_CODE: tuple[str | None, ...] = tuple(
    chr(code) if chr(code) in ALLOWED_CHARACTERS else None for code in range(128)
)
_NEEDS_ESCAPE = frozenset(_URI_ESCAPED)


def uri_form(text: str) -> str:
    """``text`` as it appears in an EPC URI (Table A-1, "URI Form" column)."""
    if _NEEDS_ESCAPE.isdisjoint(text):
        return text
    return "".join(URI_FORM[char] for char in text)


def from_uri_form(component: str, what: str) -> str:
    """The characters of a URI component (GS3A3Component, TDS §5), escapes resolved."""
    out: list[str] = []
    k = 0
    while k < len(component):
        char = component[k]
        if char == "%":
            code_text = component[k + 1 : k + 3]
            try:
                code = int(code_text, 16) if len(code_text) == 2 else -1
            except ValueError:
                code = -1
            decoded = _CHAR_OF_CODE[code] if 0 <= code < 128 else None
            if decoded is None:
                raise ValueError(
                    f"{what} {component!r}: %{code_text} is not the escape of a character "
                    "allowed by TDS Table A-1"
                )
            out.append(decoded)
            k += 3
            continue
        if char not in ALLOWED_CHARACTERS or char in _NEEDS_ESCAPE:
            raise ValueError(
                f"{what} {component!r}: {char!r} is not allowed there "
                f"(TDS Table A-1{'; write it as ' + URI_FORM[char] if char in URI_FORM else ''})"
            )
        out.append(char)
        k += 1
    return "".join(out)


def decode_chars(value: int, bits: int, max_chars: int, what: str) -> str:
    """Decode ``bits`` bits of 7-bit characters (TDS §14.4.2, §14.4.5): at least one character,
    each one of Table A-1, then only zero bits."""
    segments, pad = divmod(bits, 7)
    if value & ((1 << pad) - 1):
        raise InvalidEpc(
            EpcInvalid.BITS_AFTER_STRING_END, f"{what}: non-zero padding bits after the characters"
        )
    value >>= pad
    chars: list[str] = []
    for left in range(segments - 1, -1, -1):
        code = (value >> (7 * left)) & 0x7F
        if code == 0:
            if value & ((1 << (7 * left)) - 1):
                raise InvalidEpc(
                    EpcInvalid.BITS_AFTER_STRING_END,
                    f"{what}: non-zero bits after the zero character that ends it",
                )
            break
        char = _CHAR_OF_CODE[code]
        if char is None:
            raise InvalidEpc(
                EpcInvalid.BAD_CHARACTER,
                f"{what}: character 0x{code:02X} is not allowed (TDS Table A-1)",
            )
        chars.append(char)
    if not chars:
        raise InvalidEpc(EpcInvalid.EMPTY_STRING, f"{what} is empty (its first character is zero)")
    if len(chars) > max_chars:
        raise InvalidEpc(
            EpcInvalid.STRING_TOO_LONG,
            f"{what} has {len(chars)} characters, more than the {max_chars} allowed",
        )
    return "".join(chars)


def encode_chars(text: str, bits: int, max_chars: int, what: str) -> int:
    """``text`` as 7-bit characters padded with zero bits to ``bits`` (TDS §14.3.2, §14.3.5)."""
    if not text:
        raise ValueError(f"{what} must have at least one character")
    if len(text) > max_chars:
        raise ValueError(f"{what} {text!r} has {len(text)} characters; at most {max_chars} fit")
    bad = sorted(set(text) - ALLOWED_CHARACTERS)
    if bad:
        raise ValueError(f"{what} {text!r}: {bad} not allowed (TDS Table A-1)")
    value = 0
    for char in text:
        value = (value << 7) | ord(char)
    return value << (bits - 7 * len(text))
