"""EPC decoding per the GS1 EPC Tag Data Standard (TDS): SGTIN-96, SSCC-96 and GRAI-96.

A 96-bit EPC of these schemes is ``header(8) filter(3) partition(3)`` followed by the GS1
company prefix and a second field, whose bit and digit widths the partition value selects
(the partition tables of the TDS), then a serial number (or, for SSCC-96, 24 unused bits).
Anything else is reported with scheme ``unknown`` and its raw hex.

The same few thousand tags are read many times a second, so :func:`decode_epc` is cached.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class EpcError(ValueError):
    """Input that is not an EPC at all (not hex), or fields that cannot be encoded."""


class EpcScheme(StrEnum):
    SGTIN_96 = "sgtin-96"
    SSCC_96 = "sscc-96"
    GRAI_96 = "grai-96"
    UNKNOWN = "unknown"


HEADER_SGTIN_96 = 0x30
HEADER_SSCC_96 = 0x31
HEADER_GRAI_96 = 0x33

# Partition value -> (company prefix bits, digits, second field bits, digits).
_SGTIN_PARTITIONS = (
    (40, 12, 4, 1),
    (37, 11, 7, 2),
    (34, 10, 10, 3),
    (30, 9, 14, 4),
    (27, 8, 17, 5),
    (24, 7, 20, 6),
    (20, 6, 24, 7),
)
"""Second field: item reference, indicator digit first (13 digits with the prefix)."""
_SSCC_PARTITIONS = (
    (40, 12, 18, 5),
    (37, 11, 21, 6),
    (34, 10, 24, 7),
    (30, 9, 28, 8),
    (27, 8, 31, 9),
    (24, 7, 34, 10),
    (20, 6, 38, 11),
)
"""Second field: serial reference, extension digit first (17 digits with the prefix)."""
_GRAI_PARTITIONS = tuple(
    (cp_bits, cp_digits, ref_bits, ref_digits - 1)
    for (cp_bits, cp_digits, ref_bits, ref_digits) in _SGTIN_PARTITIONS
)
"""Second field: asset type (12 digits with the prefix); same bit widths as SGTIN-96."""

_SERIAL_BITS = 38
_HEX_DIGITS = frozenset("0123456789ABCDEF")
_DECIMAL_DIGITS = frozenset("0123456789")
_BITS_96 = 96


@dataclass(frozen=True, slots=True)
class DecodedEpc:
    epc_hex: str
    scheme: EpcScheme
    header: int | None = None
    filter_value: int | None = None
    partition: int | None = None
    company_prefix: str | None = None
    item_reference: str | None = None
    """SGTIN: indicator digit followed by the item reference proper."""
    serial_reference: str | None = None
    """SSCC: extension digit followed by the serial reference proper."""
    asset_type: str | None = None
    serial: int | None = None
    gtin: str | None = None
    sscc: str | None = None
    grai: str | None = None
    pure_identity_uri: str | None = None
    tag_uri: str | None = None
    error: str | None = None
    """Why an EPC with a known header could not be decoded (scheme is then ``unknown``)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, without the fields this scheme does not have."""
        out = {key: value for key, value in asdict(self).items() if value is not None}
        out["scheme"] = self.scheme.value
        return out


def gs1_check_digit(digits: str) -> str:
    """GS1 mod-10 check digit: weights 3, 1, 3, ... from the rightmost digit."""
    total = sum(int(d) * (3 if k % 2 == 0 else 1) for k, d in enumerate(reversed(digits)))
    return str(-total % 10)


def _normalise_hex(epc_hex: str) -> str:
    text = epc_hex.strip().upper()
    if not text:
        raise EpcError("EPC is empty: expected hex digits such as 3074257BF7194E4000001A85")
    if not set(text) <= _HEX_DIGITS:
        raise EpcError(f"EPC {epc_hex!r} is not hexadecimal (allowed: 0-9, A-F)")
    if len(text) % 2:
        raise EpcError(f"EPC {epc_hex!r} has an odd number of hex digits ({len(text)})")
    return text


def _split(
    value: int, partitions: tuple[tuple[int, int, int, int], ...]
) -> tuple[int, int, str, str, int] | str:
    """Filter, partition, company prefix, second field and the bits after them, or an error."""
    filter_value = (value >> 85) & 0x7
    partition = (value >> 82) & 0x7
    if partition >= len(partitions):
        return f"partition {partition} is not defined"
    cp_bits, cp_digits, ref_bits, ref_digits = partitions[partition]
    rest_bits = 82 - cp_bits - ref_bits
    company = (value >> (82 - cp_bits)) & ((1 << cp_bits) - 1)
    reference = (value >> rest_bits) & ((1 << ref_bits) - 1)
    if company >= 10**cp_digits:
        return f"company prefix {company} has more than {cp_digits} digits"
    if reference >= 10**ref_digits:
        return f"reference {reference} has more than {ref_digits} digits"
    company_prefix = str(company).zfill(cp_digits)
    ref_text = str(reference).zfill(ref_digits) if ref_digits else ""
    return filter_value, partition, company_prefix, ref_text, value & ((1 << rest_bits) - 1)


def _unknown(epc_hex: str, header: int | None, error: str | None) -> DecodedEpc:
    return DecodedEpc(epc_hex=epc_hex, scheme=EpcScheme.UNKNOWN, header=header, error=error)


def _decode_sgtin96(epc_hex: str, value: int) -> DecodedEpc:
    split = _split(value, _SGTIN_PARTITIONS)
    if isinstance(split, str):
        return _unknown(epc_hex, HEADER_SGTIN_96, f"not a valid SGTIN-96: {split}")
    filter_value, partition, company_prefix, item_reference, serial = split
    body = item_reference[0] + company_prefix + item_reference[1:]
    return DecodedEpc(
        epc_hex=epc_hex,
        scheme=EpcScheme.SGTIN_96,
        header=HEADER_SGTIN_96,
        filter_value=filter_value,
        partition=partition,
        company_prefix=company_prefix,
        item_reference=item_reference,
        serial=serial,
        gtin=body + gs1_check_digit(body),
        pure_identity_uri=f"urn:epc:id:sgtin:{company_prefix}.{item_reference}.{serial}",
        tag_uri=f"urn:epc:tag:sgtin-96:{filter_value}.{company_prefix}.{item_reference}.{serial}",
    )


def _decode_sscc96(epc_hex: str, value: int) -> DecodedEpc:
    split = _split(value, _SSCC_PARTITIONS)
    if isinstance(split, str):
        return _unknown(epc_hex, HEADER_SSCC_96, f"not a valid SSCC-96: {split}")
    filter_value, partition, company_prefix, serial_reference, _unused = split
    body = serial_reference[0] + company_prefix + serial_reference[1:]
    return DecodedEpc(
        epc_hex=epc_hex,
        scheme=EpcScheme.SSCC_96,
        header=HEADER_SSCC_96,
        filter_value=filter_value,
        partition=partition,
        company_prefix=company_prefix,
        serial_reference=serial_reference,
        sscc=body + gs1_check_digit(body),
        pure_identity_uri=f"urn:epc:id:sscc:{company_prefix}.{serial_reference}",
        tag_uri=f"urn:epc:tag:sscc-96:{filter_value}.{company_prefix}.{serial_reference}",
    )


def _decode_grai96(epc_hex: str, value: int) -> DecodedEpc:
    split = _split(value, _GRAI_PARTITIONS)
    if isinstance(split, str):
        return _unknown(epc_hex, HEADER_GRAI_96, f"not a valid GRAI-96: {split}")
    filter_value, partition, company_prefix, asset_type, serial = split
    # The GRAI element string (AI 8003) starts with a padding zero before the prefix.
    body = "0" + company_prefix + asset_type
    return DecodedEpc(
        epc_hex=epc_hex,
        scheme=EpcScheme.GRAI_96,
        header=HEADER_GRAI_96,
        filter_value=filter_value,
        partition=partition,
        company_prefix=company_prefix,
        asset_type=asset_type,
        serial=serial,
        grai=body + gs1_check_digit(body) + str(serial),
        pure_identity_uri=f"urn:epc:id:grai:{company_prefix}.{asset_type}.{serial}",
        tag_uri=f"urn:epc:tag:grai-96:{filter_value}.{company_prefix}.{asset_type}.{serial}",
    )


_DECODERS = {
    HEADER_SGTIN_96: _decode_sgtin96,
    HEADER_SSCC_96: _decode_sscc96,
    HEADER_GRAI_96: _decode_grai96,
}


@functools.lru_cache(maxsize=65536)
def decode_epc(epc_hex: str) -> DecodedEpc:
    """Decode an EPC given as hex (either case). Raises :class:`EpcError` if it is not hex;
    an EPC of no supported scheme decodes to scheme ``unknown``."""
    text = _normalise_hex(epc_hex)
    header = int(text[:2], 16)
    decoder = _DECODERS.get(header)
    if decoder is None:
        return _unknown(text, header, None)
    if len(text) * 4 != _BITS_96:
        return _unknown(text, header, f"header 0x{header:02X} needs 96 bits, got {len(text) * 4}")
    return decoder(text, int(text, 16))


@functools.lru_cache(maxsize=65536)
def gtin_of(epc_hex: str) -> str | None:
    """GTIN-14 of an SGTIN-96 EPC; None for anything else, bad hex included (never raises)."""
    if len(epc_hex) != _BITS_96 // 4 or epc_hex[:2] != "30":
        return None
    try:
        return decode_epc(epc_hex).gtin
    except EpcError:
        return None


def encode_sgtin96(
    company_prefix: str, item_reference: str, serial: int, filter_value: int = 1
) -> str:
    """SGTIN-96 as upper-case hex. ``item_reference`` starts with the indicator digit, and
    prefix plus reference are 13 digits (a GTIN-14 without its check digit, reordered)."""
    cp_digits = len(company_prefix)
    if not set(company_prefix + item_reference) <= _DECIMAL_DIGITS:
        raise EpcError(
            f"company prefix {company_prefix!r} and item reference {item_reference!r} "
            "must be decimal digits"
        )
    partition = next((p for p, row in enumerate(_SGTIN_PARTITIONS) if row[1] == cp_digits), None)
    if partition is None:
        raise EpcError(f"company prefix {company_prefix!r} must have 6 to 12 digits")
    cp_bits, _, _, ref_digits = _SGTIN_PARTITIONS[partition]
    if len(item_reference) != ref_digits:
        raise EpcError(
            f"item reference {item_reference!r} must have {ref_digits} digits with a "
            f"{cp_digits}-digit company prefix (13 together)"
        )
    if not 0 <= serial < 1 << _SERIAL_BITS:
        raise EpcError(f"serial {serial} does not fit 38 bits (0..{(1 << _SERIAL_BITS) - 1})")
    if not 0 <= filter_value <= 7:
        raise EpcError(f"filter value must be 0..7, got {filter_value}")
    value = (HEADER_SGTIN_96 << 88) | (filter_value << 85) | (partition << 82)
    value |= int(company_prefix) << (82 - cp_bits)
    value |= int(item_reference) << _SERIAL_BITS
    value |= serial
    return f"{value:024X}"
