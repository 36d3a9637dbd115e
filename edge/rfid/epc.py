"""EPC decoding and encoding per the GS1 EPC Tag Data Standard (TDS 2.3; docs/epc.md).

Decoded: SGTIN-96/198, SSCC-96, SGLN-96/195, GRAI-96/170, GIAI-96/202, GSRN-96, GSRNP-96,
GDTI-96/174 and GID-96, to their fields, pure-identity URI (``urn:epc:id:``), tag URI
(``urn:epc:tag:``) and GS1 key. Serial characters that URIs escape (Table A-1) are escaped in the
URIs and plain in the fields and keys.

The header fixes the EPC's length (Table 14-1). A longer EPC bank (a 128-bit bank holding an
SGTIN-96, say) is decoded by the length its header implies and the rest ignored (§14.4 step 3),
as epcpy does. When the reader reports the PC word, its length bits must match the bits
received (§15.2.2), or the EPC is refused with reason ``pc_length_mismatch``.

Anything that does not decode comes back as scheme ``unknown`` with a reason (:class:`EpcInvalid`,
stable values to count by) and a message; only input that is not hex at all raises
:class:`EpcError`. The same few thousand tags are read many times a second, so :func:`decode_epc`
and :func:`gtin_of` are cached.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

from edge.rfid.epc_schemes import (
    GID_LAYOUT,
    LAYOUT_BY_HEADER,
    LAYOUT_BY_NAME,
    OTHER_HEADERS,
    RESERVED_HEADERS,
    EpcInvalid,
    EpcScheme,
    GidLayout,
    Gs1Key,
    Gs1Layout,
    InvalidEpc,
    RefCoding,
    TailCoding,
    decode_chars,
    encode_chars,
    from_uri_form,
    uri_form,
)

__all__ = [
    "DecodedEpc",
    "EpcError",
    "EpcInvalid",
    "EpcScheme",
    "Gs1Key",
    "decode_epc",
    "encode_giai96",
    "encode_giai202",
    "encode_gid96",
    "encode_gs1",
    "encode_sgln96",
    "encode_sgtin96",
    "encode_sgtin198",
    "encode_sscc96",
    "encode_tag_uri",
    "gs1_check_digit",
    "gtin_of",
]


class EpcError(ValueError):
    """Input that is not an EPC at all (not hex), or fields/URIs that cannot be encoded."""


HEADER_SGTIN_96 = 0x30
HEADER_SGTIN_198 = 0x36
_GTIN_HEADERS = frozenset({f"{HEADER_SGTIN_96:02X}", f"{HEADER_SGTIN_198:02X}"})
_HEX_DIGITS = frozenset("0123456789ABCDEF")
_DECIMAL_DIGITS = frozenset("0123456789")
_POW10 = tuple(10**n for n in range(25))
_PC_TOGGLE = 0x0100
"""PC bit 17h: set, the bank holds an ISO/IEC 15961 UII with an AFI instead of an EPC."""


class DecodedEpc(NamedTuple):
    """One decoded EPC. Only the fields of its scheme are set; ``to_dict`` drops the others.

    Text fields hold characters as printed (``32a/b``); the URIs hold their URI form
    (``32a%2Fb``). Immutable (a named tuple: five times cheaper to build than a frozen
    dataclass of this many fields, and decoding is on the read path)."""

    epc_hex: str
    """The EPC as given (upper case), including any bits beyond ``epc_bits``."""
    scheme: EpcScheme
    header: int | None = None
    epc_bits: int | None = None
    """Length the header implies (96, 198, ...): the bits decoded."""
    filter_value: int | None = None
    partition: int | None = None
    company_prefix: str | None = None
    item_reference: str | None = None
    """SGTIN: indicator digit (or pad zero) followed by the item reference."""
    serial_reference: str | None = None
    """SSCC: extension digit followed by the serial reference."""
    location_reference: str | None = None
    """SGLN (empty with a 12-digit company prefix)."""
    asset_type: str | None = None
    """GRAI (empty with a 12-digit company prefix)."""
    individual_asset_reference: str | None = None
    """GIAI."""
    service_reference: str | None = None
    """GSRN, GSRNP."""
    document_type: str | None = None
    """GDTI (empty with a 12-digit company prefix)."""
    general_manager: str | None = None
    """GID."""
    object_class: str | None = None
    """GID."""
    serial: str | None = None
    """SGTIN, GRAI, GDTI, GID: decimal for the 96-bit schemes, any Table A-1 characters for
    the long ones (leading zeros are significant there)."""
    extension: str | None = None
    """SGLN: the GLN extension (``0`` means the GLN itself)."""
    gtin: str | None = None
    sscc: str | None = None
    gln: str | None = None
    grai: str | None = None
    """GRAI with its serial, as in AI (8003) without the leading pad zero."""
    giai: str | None = None
    gsrn: str | None = None
    gsrnp: str | None = None
    gdti: str | None = None
    """GDTI with its serial, as in AI (253)."""
    pure_identity_uri: str | None = None
    tag_uri: str | None = None
    reason: EpcInvalid | None = None
    """Why the EPC did not decode (scheme is then ``unknown``); None for a foreign header."""
    error: str | None = None
    """The reason in words, naming the field and value."""

    @property
    def gs1_key(self) -> str | None:
        """The GS1 key of whichever kind this scheme has (None for GID and unknown)."""
        for key in Gs1Key:
            value: str | None = getattr(self, key.value)
            if value is not None:
                return value
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, without the fields this scheme does not have."""
        out = {key: value for key, value in self._asdict().items() if value is not None}
        out["scheme"] = self.scheme.value
        if self.reason is not None:
            out["reason"] = self.reason.value
        return out


def gs1_check_digit(digits: str) -> str:
    """GS1 mod-10 check digit: weights 3, 1, 3, ... from the rightmost digit. ``digits`` must be
    decimal (not checked: it is on the decode path, which only passes digits)."""
    data = digits.encode()
    odd, even = data[-1::-2], data[-2::-2]  # rightmost digit weighs 3
    total = 3 * sum(odd) + sum(even) - 0x30 * (3 * len(odd) + len(even))
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


def _gs1_key(layout: Gs1Layout, company_prefix: str, reference: str, tail: str | None) -> str:
    """The GS1 key of TDS §7.3-7.10 (check digit computed; it is not in the EPC)."""
    key = layout.key
    if key is Gs1Key.GIAI:
        return company_prefix + reference
    if key in (Gs1Key.GTIN, Gs1Key.SSCC):  # indicator / extension digit goes first
        body = reference[0] + company_prefix + reference[1:]
    else:
        body = company_prefix + reference
    body += gs1_check_digit(body)
    if key in (Gs1Key.GRAI, Gs1Key.GDTI) and tail is not None:
        body += tail
    return body


def _label(layout: Gs1Layout, field: str | None) -> str:
    return f"{layout.name.upper()} {(field or '').replace('_', ' ')}"


def _decode_gs1(text: str, layout: Gs1Layout, value: int) -> DecodedEpc:
    filter_value = (value >> (layout.bits - 11)) & 0x7
    partition = (value >> (layout.bits - 14)) & 0x7
    if partition >= len(layout.partitions):
        raise InvalidEpc(
            EpcInvalid.BAD_PARTITION,
            f"{layout.name.upper()}: partition {partition} is not defined (0 to 6)",
        )
    cp_bits, cp_digits, ref_bits, ref_digits = layout.partitions[partition]
    tail_bits = layout.tail_bits
    company = (value >> (tail_bits + ref_bits)) & ((1 << cp_bits) - 1)
    if company >= _POW10[cp_digits]:
        raise InvalidEpc(
            EpcInvalid.TOO_MANY_DIGITS,
            f"{layout.name.upper()}: company prefix {company} has more than {cp_digits} digits "
            f"(partition {partition})",
        )
    company_prefix = f"{company:0{cp_digits}d}"
    raw_reference = (value >> tail_bits) & ((1 << ref_bits) - 1)
    if layout.ref_coding is RefCoding.PADDED:
        if raw_reference >= _POW10[ref_digits]:
            raise InvalidEpc(
                EpcInvalid.TOO_MANY_DIGITS,
                f"{_label(layout, layout.ref_field)} {raw_reference} has more than "
                f"{ref_digits} digits (partition {partition})",
            )
        reference = f"{raw_reference:0{ref_digits}d}" if ref_digits else ""
    elif layout.ref_coding is RefCoding.UNPADDED:
        reference = str(raw_reference)
    else:
        label = _label(layout, layout.ref_field)
        reference = decode_chars(raw_reference, ref_bits, ref_digits, label)
    tail_value = value & ((1 << tail_bits) - 1)
    tail: str | None = None
    if layout.tail_coding is TailCoding.INTEGER:
        tail = str(tail_value)
    elif layout.tail_coding is TailCoding.STRING:
        label = _label(layout, layout.tail_field)
        tail = decode_chars(tail_value, tail_bits, tail_bits // 7, label)
    elif layout.tail_coding is TailCoding.RESERVED and tail_value:
        raise InvalidEpc(
            EpcInvalid.RESERVED_BITS_SET,
            f"{layout.name.upper()}: the last {tail_bits} bits must be zero",
        )
    body = f"{company_prefix}.{uri_form(reference)}"
    fields: dict[str, Any] = {
        layout.ref_field: reference,
        layout.key_field: _gs1_key(layout, company_prefix, reference, tail),
    }
    if tail is not None and layout.tail_field is not None:
        body += f".{uri_form(tail)}"
        fields[layout.tail_field] = tail
    return DecodedEpc(
        epc_hex=text,
        scheme=layout.scheme,
        header=layout.header,
        epc_bits=layout.bits,
        filter_value=filter_value,
        partition=partition,
        company_prefix=company_prefix,
        pure_identity_uri=f"urn:epc:id:{layout.identity}:{body}",
        tag_uri=f"urn:epc:tag:{layout.name}:{filter_value}.{body}",
        **fields,
    )


def _decode_gid(text: str, layout: GidLayout, value: int) -> DecodedEpc:
    serial = value & ((1 << layout.serial_bits) - 1)
    value >>= layout.serial_bits
    object_class = value & ((1 << layout.class_bits) - 1)
    manager = (value >> layout.class_bits) & ((1 << layout.manager_bits) - 1)
    body = f"{manager}.{object_class}.{serial}"
    return DecodedEpc(
        epc_hex=text,
        scheme=layout.scheme,
        header=layout.header,
        epc_bits=layout.bits,
        general_manager=str(manager),
        object_class=str(object_class),
        serial=str(serial),
        pure_identity_uri=f"urn:epc:id:gid:{body}",
        tag_uri=f"urn:epc:tag:{layout.scheme.value}:{body}",
    )


def _check_pc_word(pc_word: int, bits: int) -> None:
    if not 0 <= pc_word <= 0xFFFF:
        raise EpcError(f"PC word {pc_word} is not a 16-bit value")
    if pc_word & _PC_TOGGLE:
        raise InvalidEpc(
            EpcInvalid.NOT_EPC,
            f"PC word 0x{pc_word:04X} has the toggle bit set: the bank holds an ISO/IEC 15961 "
            f"UII (AFI 0x{pc_word & 0xFF:02X}), not a GS1 EPC",
        )
    words = pc_word >> 11
    if words * 16 != bits:
        raise InvalidEpc(
            EpcInvalid.PC_LENGTH_MISMATCH,
            f"PC word 0x{pc_word:04X} announces {words} words ({words * 16} bits) "
            f"but the EPC has {bits} bits",
        )


def _decode(text: str, pc_word: int | None) -> DecodedEpc:
    bits = len(text) * 4
    if pc_word is not None:
        _check_pc_word(pc_word, bits)
    header = int(text[:2], 16)
    layout = LAYOUT_BY_HEADER.get(header)
    if layout is None:
        if header in OTHER_HEADERS:
            raise InvalidEpc(
                EpcInvalid.UNSUPPORTED_SCHEME,
                f"header 0x{header:02X} is {OTHER_HEADERS[header]}, which is not decoded here",
            )
        described = RESERVED_HEADERS.get(header, "not an EPC header of the TDS (Table 14-1)")
        raise InvalidEpc(EpcInvalid.UNKNOWN_HEADER, f"header 0x{header:02X} is {described}")
    if bits < layout.bits:
        raise InvalidEpc(
            EpcInvalid.TOO_SHORT,
            f"header 0x{header:02X} ({layout.scheme.value.upper()}) needs {layout.bits} bits, "
            f"got {bits}",
        )
    hex_digits = -(-layout.bits // 4)
    value = int(text[:hex_digits], 16) >> (hex_digits * 4 - layout.bits)
    if isinstance(layout, GidLayout):
        return _decode_gid(text, layout, value)
    return _decode_gs1(text, layout, value)


@functools.lru_cache(maxsize=65536)
def decode_epc(epc_hex: str, pc_word: int | None = None) -> DecodedEpc:
    """Decode an EPC given as hex (either case). ``pc_word``, when the reader reports it, gives
    the EPC length (bits 15-11, in 16-bit words) and is checked against ``epc_hex``.

    Raises :class:`EpcError` only if ``epc_hex`` is not hex (or ``pc_word`` not 16 bits); every
    other problem decodes to scheme ``unknown`` with ``reason`` and ``error`` set."""
    text = _normalise_hex(epc_hex)
    try:
        return _decode(text, pc_word)
    except InvalidEpc as invalid:
        return DecodedEpc(
            epc_hex=text,
            scheme=EpcScheme.UNKNOWN,
            header=int(text[:2], 16),
            reason=invalid.reason,
            error=invalid.message,
        )


@functools.lru_cache(maxsize=65536)
def gtin_of(epc_hex: str) -> str | None:
    """GTIN-14 of an SGTIN-96 or SGTIN-198 EPC (a longer bank too); None for anything else,
    bad hex included (never raises)."""
    if epc_hex[:2].upper() not in _GTIN_HEADERS:
        return None
    try:
        return decode_epc(epc_hex).gtin
    except EpcError:
        return None


# --- Encoding (TDS §14.3) -------------------------------------------------------------------


def _to_hex(value: int, bits: int) -> str:
    """The EPC bank contents: ``bits`` bits, zero-padded to whole 16-bit words (§15.1.1)."""
    words = -(-bits // 16)
    return f"{value << (words * 16 - bits):0{words * 4}X}"


def _numeric_component(text: str, what: str) -> int:
    """TDS §5 NumericComponent: decimal digits, no leading zero unless the value is 0."""
    if not text or not set(text) <= _DECIMAL_DIGITS or (len(text) > 1 and text[0] == "0"):
        raise EpcError(
            f"{what} {text!r} must be decimal digits without leading zeros (this encoding keeps "
            "no leading zeros; the long schemes do)"
        )
    return int(text)


def _check_filter(filter_value: int) -> None:
    if not 0 <= filter_value <= 7:
        raise EpcError(f"filter value must be 0..7, got {filter_value}")


def encode_gs1(
    scheme: EpcScheme,
    company_prefix: str,
    reference: str,
    tail: str | int | None = None,
    filter_value: int = 0,
) -> str:
    """Encode a GS1-key EPC from its fields as printed (unescaped), as upper-case hex padded to
    whole 16-bit words. ``reference`` is the field after the company prefix (SGTIN: indicator
    digit first); ``tail`` the serial (SGLN: extension), an int or decimal text for the 96-bit
    schemes, text for the long ones, None for SSCC, GIAI and GSRN."""
    layout = LAYOUT_BY_NAME.get(scheme.value)
    if not isinstance(layout, Gs1Layout):
        raise EpcError(f"{scheme.value} is not a GS1-key scheme encoded here")
    _check_filter(filter_value)
    name = scheme.value.upper()
    what = layout.ref_field.replace("_", " ")
    partition = next(
        (p for p, row in enumerate(layout.partitions) if row.cp_digits == len(company_prefix)),
        None,
    )
    if partition is None or not set(company_prefix) <= _DECIMAL_DIGITS:
        raise EpcError(f"company prefix {company_prefix!r} must be 6 to 12 decimal digits")
    cp_bits, cp_digits, ref_bits, ref_digits = layout.partitions[partition]
    if layout.ref_coding is RefCoding.PADDED:
        if not set(reference) <= _DECIMAL_DIGITS:
            raise EpcError(f"{what} {reference!r} must be decimal digits")
        if len(reference) != ref_digits:
            raise EpcError(
                f"{what} {reference!r} must have {ref_digits} digits with a {cp_digits}-digit "
                f"company prefix"
            )
        ref_value = int(reference or "0")
    elif layout.ref_coding is RefCoding.UNPADDED:
        ref_value = _numeric_component(reference, what)
        if ref_value >= 1 << ref_bits:
            raise EpcError(f"{what} {reference} does not fit {ref_bits} bits")
    else:
        try:
            ref_value = encode_chars(reference, ref_bits, ref_digits, what)
        except ValueError as error:
            raise EpcError(str(error)) from None
    tail_bits = layout.tail_bits
    tail_value = 0
    tail_what = layout.tail_field or "tail"
    if layout.tail_coding is TailCoding.INTEGER:
        if not isinstance(tail, int):
            tail = _numeric_component(str(tail) if tail is not None else "", tail_what)
        if not 0 <= tail < 1 << tail_bits:
            raise EpcError(
                f"{tail_what} {tail} does not fit {tail_bits} bits (0..{(1 << tail_bits) - 1})"
            )
        tail_value = tail
    elif layout.tail_coding is TailCoding.STRING:
        if not isinstance(tail, str):
            raise EpcError(f"{name} needs a {tail_what} as text, got {tail!r}")
        try:
            tail_value = encode_chars(tail, tail_bits, tail_bits // 7, tail_what)
        except ValueError as error:
            raise EpcError(str(error)) from None
    elif tail is not None:
        raise EpcError(f"{name} has no serial field, got {tail!r}")
    value = (layout.header << 6) | (filter_value << 3) | partition
    value = (value << cp_bits) | int(company_prefix)
    value = (value << ref_bits) | ref_value
    value = (value << tail_bits) | tail_value
    return _to_hex(value, layout.bits)


def encode_sgtin96(
    company_prefix: str, item_reference: str, serial: int, filter_value: int = 1
) -> str:
    """SGTIN-96. ``item_reference`` starts with the indicator digit, and prefix plus reference
    are 13 digits (a GTIN-14 without its check digit, reordered)."""
    return encode_gs1(EpcScheme.SGTIN_96, company_prefix, item_reference, serial, filter_value)


def encode_sgtin198(
    company_prefix: str, item_reference: str, serial: str, filter_value: int = 1
) -> str:
    """SGTIN-198: up to 20 serial characters of TDS Table A-1, leading zeros kept."""
    return encode_gs1(EpcScheme.SGTIN_198, company_prefix, item_reference, serial, filter_value)


def encode_sscc96(company_prefix: str, serial_reference: str, filter_value: int = 0) -> str:
    """SSCC-96. ``serial_reference`` starts with the extension digit (17 digits with prefix)."""
    return encode_gs1(EpcScheme.SSCC_96, company_prefix, serial_reference, None, filter_value)


def encode_sgln96(
    company_prefix: str, location_reference: str, extension: int = 0, filter_value: int = 0
) -> str:
    """SGLN-96; prefix plus location reference are 12 digits; extension 0 is the GLN itself."""
    return encode_gs1(
        EpcScheme.SGLN_96, company_prefix, location_reference, extension, filter_value
    )


def encode_giai96(company_prefix: str, asset_reference: int, filter_value: int = 0) -> str:
    """GIAI-96: a numeric asset reference, without leading zeros."""
    return encode_gs1(EpcScheme.GIAI_96, company_prefix, str(asset_reference), None, filter_value)


def encode_giai202(company_prefix: str, asset_reference: str, filter_value: int = 0) -> str:
    """GIAI-202: an alphanumeric asset reference (prefix plus reference at most 30)."""
    return encode_gs1(EpcScheme.GIAI_202, company_prefix, asset_reference, None, filter_value)


def encode_gid96(general_manager: int, object_class: int, serial: int) -> str:
    """GID-96 from its three integers."""
    layout = GID_LAYOUT
    value = layout.header
    for field, bits, what in (
        (general_manager, layout.manager_bits, "general manager number"),
        (object_class, layout.class_bits, "object class"),
        (serial, layout.serial_bits, "serial"),
    ):
        if not 0 <= field < 1 << bits:
            raise EpcError(f"{what} {field} does not fit {bits} bits")
        value = (value << bits) | field
    return _to_hex(value, layout.bits)


def encode_tag_uri(tag_uri: str) -> str:
    """Encode an EPC tag URI (``urn:epc:tag:sgtin-198:3.0614141.812345.32a%2Fb``) as hex,
    padded to whole 16-bit words. Control fields (``[att=...]``) are not supported."""
    prefix = "urn:epc:tag:"
    if not tag_uri.startswith(prefix):
        raise EpcError(f"{tag_uri!r} is not an EPC tag URI (it must start with {prefix})")
    name, _, body = tag_uri[len(prefix) :].partition(":")
    layout = LAYOUT_BY_NAME.get(name)
    if layout is None:
        known = ", ".join(sorted(LAYOUT_BY_NAME))
        raise EpcError(f"{tag_uri!r}: scheme {name!r} is not encoded here (known: {known})")
    if isinstance(layout, GidLayout):
        parts = body.split(".")
        if len(parts) != 3:
            raise EpcError(f"{tag_uri!r}: GID-96 needs manager.class.serial")
        manager, object_class, serial = (
            _numeric_component(part, what)
            for part, what in zip(
                parts, ("general manager number", "object class", "serial"), strict=True
            )
        )
        return encode_gid96(manager, object_class, serial)
    has_tail = layout.tail_coding in (TailCoding.INTEGER, TailCoding.STRING)
    parts = body.split(".", 3 if has_tail else 2)
    if len(parts) != (4 if has_tail else 3) or parts[0] not in set("01234567"):
        fields = "filter.company_prefix.reference" + (".serial" if has_tail else "")
        raise EpcError(f"{tag_uri!r}: {name} needs {fields}, filter 0 to 7")
    try:
        reference = (
            from_uri_form(parts[2], "reference")
            if layout.ref_coding is RefCoding.STRING
            else parts[2]
        )
        tail = (
            from_uri_form(parts[3], layout.tail_field or "serial")
            if layout.tail_coding is TailCoding.STRING
            else (parts[3] if has_tail else None)
        )
    except ValueError as error:
        raise EpcError(str(error)) from None
    return encode_gs1(layout.scheme, parts[1], reference, tail, int(parts[0]))
