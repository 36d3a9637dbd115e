"""LLRP messages and parameters to and from bytes (layouts in :mod:`.spec`).

One generic representation for everything: a :class:`Message` or :class:`Param` holds its
type, its fields by name (in the order the specification lists them) and its sub-parameters
in the order they came. Parameters the codec has no layout for (a newer LLRP revision, a
vendor's custom parameter) are kept as raw bytes and skipped by their length, so an unknown
parameter is never fatal and every decoded message re-encodes to the bytes it came from.

Errors are :class:`LlrpError` with a ``reason`` to count by (the driver keeps the counters).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from edge.rfid.llrp.spec import (
    CUSTOM,
    CUSTOM_FIELDS,
    CUSTOM_MESSAGE_FIELDS,
    FIXED_SIZES,
    HEADER_LEN,
    MESSAGE_FIELDS,
    PARAM_HEADER_LEN,
    TLV_FIELDS,
    TV_FIELDS,
    TV_SIZES,
    VERSION_1_0_1,
    Bits,
    F,
    Field,
)

MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024
"""Longest message accepted; a larger length field means a corrupt or foreign stream."""


class Malformed(StrEnum):
    """Why bytes were refused; the driver counts each reason."""

    TRUNCATED = "truncated"
    """A field, parameter or message runs past the end of its container."""
    BAD_LENGTH = "bad_length"
    """A length field below the header size or above the limit."""
    UNKNOWN_TV = "unknown_tv"
    """A TV parameter of an unknown type: its size is unknown, so nothing after it can be read."""
    BAD_FIELD = "bad_field"
    """A field value that the specification does not allow (e.g. an empty EPC)."""
    BAD_VERSION = "bad_version"
    """A message header version other than 1 (1.0.1) or 2 (1.1)."""
    MISSING_PARAMETER = "missing_parameter"
    """A message without a parameter the specification requires (e.g. no LLRPStatus)."""


class LlrpError(ValueError):
    def __init__(self, reason: Malformed, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class BitString:
    """A ``u1v`` field: ``bits`` significant bits, MSB first, in ceil(bits / 8) bytes."""

    bits: int
    data: bytes


FieldValue = int | str | bytes | tuple[int, ...] | BitString
Fields = Mapping[str, FieldValue]


class _HasParams:
    """Look-ups shared by messages and parameters (both have ``params`` and ``fields``)."""

    __slots__ = ()
    params: tuple[Param, ...]
    fields: Fields

    def find(self, type_: int, subtype: int | None = None) -> Param | None:
        for param in self.params:
            if _matches(param, type_, subtype):
                return param
        return None

    def find_all(self, type_: int, subtype: int | None = None) -> list[Param]:
        return [p for p in self.params if _matches(p, type_, subtype)]

    def num(self, name: str) -> int:
        value = self.fields[name]
        if not isinstance(value, int):
            raise TypeError(f"field {name} is not a number")
        return value


@dataclass(frozen=True, slots=True)
class Param(_HasParams):
    """A parameter: TV when ``type`` < 128, else TLV; ``raw`` holds the body of a parameter
    without a known layout (for Custom: the data after vendor and subtype)."""

    type: int
    fields: Fields = field(default_factory=dict)
    params: tuple[Param, ...] = ()
    vendor: int = 0
    subtype: int = 0
    raw: bytes | None = None

    def text(self, name: str) -> str:
        value = self.fields[name]
        if not isinstance(value, str):
            raise TypeError(f"field {name} is not text")
        return value


@dataclass(frozen=True, slots=True)
class Message(_HasParams):
    """A message; ``vendor``/``subtype`` for CUSTOM_MESSAGE, ``raw`` for one we cannot read."""

    type: int
    id: int = 0
    fields: Fields = field(default_factory=dict)
    params: tuple[Param, ...] = ()
    version: int = VERSION_1_0_1
    vendor: int = 0
    subtype: int = 0
    raw: bytes | None = None


def _matches(param: Param, type_: int, subtype: int | None) -> bool:
    return param.type == type_ and (subtype is None or param.subtype == subtype)


def walk(params: tuple[Param, ...]) -> Iterator[Param]:
    """Every parameter of a tree, depth first."""
    for param in params:
        yield param
        yield from walk(param.params)


# --- decoding -------------------------------------------------------------------------------


def _need(data: bytes, pos: int, size: int, end: int, what: str) -> None:
    if pos + size > end:
        raise LlrpError(
            Malformed.TRUNCATED, f"{what} needs {size} byte(s) at offset {pos}, only {end - pos}"
        )


def _read_fields(
    data: bytes, pos: int, end: int, spec: tuple[Field, ...], what: str
) -> tuple[dict[str, FieldValue], int]:
    values: dict[str, FieldValue] = {}
    for item in spec:
        if isinstance(item, Bits):
            _need(data, pos, item.nbytes, end, f"{what} bit field")
            word = int.from_bytes(data[pos : pos + item.nbytes], "big")
            shift = item.nbytes * 8
            for name, width in item.parts:
                shift -= width
                values[name] = (word >> shift) & ((1 << width) - 1)
            pos += item.nbytes
            continue
        kind, name = item.kind, item.name
        label = f"{what}.{name}"
        size = FIXED_SIZES.get(kind)
        if size is not None:
            _need(data, pos, size, end, label)
            chunk = data[pos : pos + size]
            if kind == "u96":
                values[name] = bytes(chunk)
            else:
                values[name] = int.from_bytes(chunk, "big", signed=kind[0] == "s")
            pos += size
            continue
        _need(data, pos, 2, end, label)
        count = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        if kind == "u1v":
            nbytes = (count + 7) // 8
            _need(data, pos, nbytes, end, label)
            values[name] = BitString(count, bytes(data[pos : pos + nbytes]))
            pos += nbytes
        elif kind in ("u8v", "utf8v"):
            _need(data, pos, count, end, label)
            chunk = bytes(data[pos : pos + count])
            values[name] = chunk.decode("utf-8", "surrogateescape") if kind == "utf8v" else chunk
            pos += count
        else:  # u16v, u32v
            width = 2 if kind == "u16v" else 4
            _need(data, pos, count * width, end, label)
            values[name] = tuple(
                int.from_bytes(data[p : p + width], "big")
                for p in range(pos, pos + count * width, width)
            )
            pos += count * width
    return values, pos


def decode_params(data: bytes, pos: int = 0, end: int | None = None) -> tuple[Param, ...]:
    """The sequence of parameters in ``data[pos:end]``."""
    end = len(data) if end is None else end
    params: list[Param] = []
    while pos < end:
        param, pos = _decode_param(data, pos, end)
        params.append(param)
    return tuple(params)


def _decode_param(data: bytes, pos: int, end: int) -> tuple[Param, int]:
    first = data[pos]
    if first & 0x80:
        type_ = first & 0x7F
        spec = TV_FIELDS.get(type_)
        if spec is None:
            raise LlrpError(Malformed.UNKNOWN_TV, f"TV parameter type {type_} at offset {pos}")
        size = TV_SIZES[type_]
        _need(data, pos + 1, size, end, f"TV parameter {type_}")
        values, after = _read_fields(data, pos + 1, pos + 1 + size, spec, f"TV {type_}")
        return Param(type_, values), after
    _need(data, pos, PARAM_HEADER_LEN, end, "parameter header")
    type_ = int.from_bytes(data[pos : pos + 2], "big") & 0x3FF
    length = int.from_bytes(data[pos + 2 : pos + 4], "big")
    if length < PARAM_HEADER_LEN:
        raise LlrpError(
            Malformed.BAD_LENGTH, f"parameter {type_} at offset {pos} has length {length}"
        )
    stop = pos + length
    if stop > end:
        raise LlrpError(
            Malformed.TRUNCATED,
            f"parameter {type_} at offset {pos} has length {length}, only {end - pos} left",
        )
    body = pos + PARAM_HEADER_LEN
    vendor = subtype = 0
    what = f"parameter {type_}"
    if type_ == CUSTOM:
        _need(data, body, 8, stop, "Custom parameter vendor/subtype")
        vendor = int.from_bytes(data[body : body + 4], "big")
        subtype = int.from_bytes(data[body + 4 : body + 8], "big")
        body += 8
        spec_or_none = CUSTOM_FIELDS.get((vendor, subtype))
        what = f"custom parameter {vendor}/{subtype}"
    else:
        spec_or_none = TLV_FIELDS.get(type_)
    if spec_or_none is None:
        # Skipped by its length: a newer revision's or another vendor's parameter.
        return Param(type_, vendor=vendor, subtype=subtype, raw=bytes(data[body:stop])), stop
    values, after = _read_fields(data, body, stop, spec_or_none, what)
    return Param(type_, values, decode_params(data, after, stop), vendor, subtype), stop


@dataclass(frozen=True, slots=True)
class Header:
    version: int
    type: int
    length: int
    id: int


def decode_header(data: bytes, pos: int = 0) -> Header:
    word = int.from_bytes(data[pos : pos + 2], "big")
    return Header(
        version=(word >> 10) & 0x7,
        type=word & 0x3FF,
        length=int.from_bytes(data[pos + 2 : pos + 6], "big"),
        id=int.from_bytes(data[pos + 6 : pos + 10], "big"),
    )


def decode_message(data: bytes) -> Message:
    """One whole message: header (whose length must match ``data``) and body."""
    if len(data) < HEADER_LEN:
        raise LlrpError(Malformed.TRUNCATED, f"message of {len(data)} byte(s), header needs 10")
    header = decode_header(data)
    if header.length != len(data):
        raise LlrpError(
            Malformed.BAD_LENGTH,
            f"message length field says {header.length}, the message has {len(data)} bytes",
        )
    return decode_body(header.type, data[HEADER_LEN:], version=header.version, msg_id=header.id)


def decode_body(
    msg_type: int, body: bytes, *, version: int = VERSION_1_0_1, msg_id: int = 0
) -> Message:
    """A message from its type and the bytes after its header."""
    end = len(body)
    if msg_type == CUSTOM:
        _need(body, 0, 5, end, "custom message vendor/subtype")
        vendor = int.from_bytes(body[0:4], "big")
        subtype = body[4]
        spec = CUSTOM_MESSAGE_FIELDS.get((vendor, subtype))
        if spec is None:
            return Message(msg_type, msg_id, {}, (), version, vendor, subtype, bytes(body[5:]))
        values, pos = _read_fields(body, 5, end, spec, f"custom message {vendor}/{subtype}")
        params = decode_params(body, pos, end)
        return Message(msg_type, msg_id, values, params, version, vendor, subtype)
    values, pos = _read_fields(
        body, 0, end, MESSAGE_FIELDS.get(msg_type, ()), f"message {msg_type}"
    )
    return Message(msg_type, msg_id, values, decode_params(body, pos, end), version)


# --- encoding -------------------------------------------------------------------------------


def _int_bytes(value: FieldValue, size: int, signed: bool, name: str) -> bytes:
    if not isinstance(value, int):
        raise ValueError(f"field {name} must be a number, not {value!r}")
    try:
        return value.to_bytes(size, "big", signed=signed)
    except OverflowError:
        raise ValueError(f"field {name} value {value} does not fit its {size} byte(s)") from None


def _count(n: int, name: str) -> bytes:
    if n > 0xFFFF:
        raise ValueError(f"field {name} has {n} elements, at most 65535 fit")
    return n.to_bytes(2, "big")


def _write_fields(out: bytearray, spec: tuple[Field, ...], values: Fields, what: str) -> None:
    for item in spec:
        if isinstance(item, Bits):
            word = 0
            for name, width in item.parts:
                part = values.get(name, 0)
                if not isinstance(part, int) or not 0 <= part < (1 << width):
                    raise ValueError(f"{what}: field {name} must fit {width} bit(s), not {part!r}")
                word = (word << width) | part
            out += word.to_bytes(item.nbytes, "big")
            continue
        out += _field_bytes(item, values, what)


def _field_bytes(item: F, values: Fields, what: str) -> bytes:
    kind, name = item.kind, item.name
    if name not in values:
        if name != "reserved":
            raise ValueError(f"{what}: field {name} is missing")
        return bytes(FIXED_SIZES[kind])
    value = values[name]
    size = FIXED_SIZES.get(kind)
    if kind == "u96":
        if not isinstance(value, bytes) or len(value) != 12:
            raise ValueError(f"{what}: field {name} must be 12 bytes")
        return value
    if size is not None:
        return _int_bytes(value, size, kind[0] == "s", f"{what}.{name}")
    if kind == "u1v":
        if not isinstance(value, BitString) or len(value.data) != (value.bits + 7) // 8:
            raise ValueError(f"{what}: field {name} must be a BitString of ceil(bits/8) bytes")
        return _count(value.bits, name) + value.data
    if kind == "utf8v":
        if not isinstance(value, str):
            raise ValueError(f"{what}: field {name} must be text")
        raw = value.encode("utf-8", "surrogateescape")
        return _count(len(raw), name) + raw
    if kind == "u8v":
        if not isinstance(value, bytes):
            raise ValueError(f"{what}: field {name} must be bytes")
        return _count(len(value), name) + value
    if not isinstance(value, tuple):
        raise ValueError(f"{what}: field {name} must be a tuple of numbers")
    width = 2 if kind == "u16v" else 4
    return _count(len(value), name) + b"".join(
        _int_bytes(v, width, False, f"{what}.{name}") for v in value
    )


def encode_param(param: Param) -> bytes:
    out = bytearray()
    _encode_param(out, param)
    return bytes(out)


def encode_params(params: tuple[Param, ...]) -> bytes:
    out = bytearray()
    for param in params:
        _encode_param(out, param)
    return bytes(out)


def _encode_param(out: bytearray, param: Param) -> None:
    type_ = param.type
    if type_ < 128:
        spec = TV_FIELDS.get(type_)
        if spec is None:
            raise ValueError(f"no TV parameter type {type_}")
        out.append(0x80 | type_)
        _write_fields(out, spec, param.fields, f"TV {type_}")
        return
    if type_ > 0x3FF:
        raise ValueError(f"parameter type {type_} does not fit 10 bits")
    start = len(out)
    out += type_.to_bytes(2, "big") + b"\0\0"
    if type_ == CUSTOM:
        out += _int_bytes(param.vendor, 4, False, "vendor") + _int_bytes(
            param.subtype, 4, False, "subtype"
        )
        spec_or_none = CUSTOM_FIELDS.get((param.vendor, param.subtype))
    else:
        spec_or_none = TLV_FIELDS.get(type_)
    if param.raw is not None:
        out += param.raw
    elif spec_or_none is None:
        raise ValueError(f"parameter {type_} has no known layout and no raw body")
    else:
        _write_fields(out, spec_or_none, param.fields, f"parameter {type_}")
    for child in param.params:
        _encode_param(out, child)
    length = len(out) - start
    if length > 0xFFFF:
        raise ValueError(f"parameter {type_} is {length} bytes long, at most 65535 fit")
    out[start + 2 : start + 4] = length.to_bytes(2, "big")


def encode_body(message: Message) -> bytes:
    out = bytearray()
    if message.type == CUSTOM:
        out += _int_bytes(message.vendor, 4, False, "vendor")
        out += _int_bytes(message.subtype, 1, False, "subtype")
        spec = CUSTOM_MESSAGE_FIELDS.get((message.vendor, message.subtype))
        if message.raw is not None:
            out += message.raw
        elif spec is None:
            raise ValueError(f"custom message {message.vendor}/{message.subtype} has no layout")
        else:
            _write_fields(out, spec, message.fields, "custom message")
    else:
        _write_fields(out, MESSAGE_FIELDS.get(message.type, ()), message.fields, "message")
    for param in message.params:
        _encode_param(out, param)
    return bytes(out)


def encode_message(message: Message) -> bytes:
    return frame(message.type, encode_body(message), message.id, message.version)


def frame(msg_type: int, body: bytes, msg_id: int, version: int = VERSION_1_0_1) -> bytes:
    """Header + body."""
    if not 0 <= msg_type <= 0x3FF or not 0 <= version <= 7:
        raise ValueError(f"message type {msg_type} / version {version} out of range")
    return (
        ((version << 10) | msg_type).to_bytes(2, "big")
        + (HEADER_LEN + len(body)).to_bytes(4, "big")
        + (msg_id & 0xFFFFFFFF).to_bytes(4, "big")
        + body
    )
