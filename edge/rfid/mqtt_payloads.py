"""What the JSON parsers of Zebra and Impinj readers share: the result type, the reasons a
payload is rejected, and the field checks. Pure functions, no I/O.

A message may hold one JSON object, a JSON array of objects (Zebra batching), or one JSON
object per line (Impinj's newline-delimited stream). Each object is parsed on its own: a bad
one is reported with its reason and position and the others are kept. An object is a tag read
or, for events without a tag, a :class:`ReaderNotice` (what it says about the reader).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from edge.events.base import datetime_to_ms
from edge.rfid.reads import NO_ANTENNA, ReaderState, TagRead

RSSI_RANGE_DBM = (-150.0, 30.0)
"""Plausible RSSI values; anything outside is a corrupt field, not a weak tag."""


class MalformedReason(StrEnum):
    NOT_JSON = "not_json"
    WRONG_SHAPE = "wrong_shape"
    MISSING_FIELD = "missing_field"
    BAD_EPC = "bad_epc"
    BAD_ANTENNA = "bad_antenna"
    BAD_RSSI = "bad_rssi"
    BAD_TIMESTAMP = "bad_timestamp"
    UNKNOWN_EVENT = "unknown_event"
    """An object that is no event of the reader's interface (no type, no event object)."""


@dataclass(frozen=True, slots=True)
class Malformed:
    """One rejected object (or whole message): why, and where."""

    reason: MalformedReason
    detail: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


@dataclass(frozen=True, slots=True)
class ReaderNotice:
    """What an event without a tag says about its reader (it is at least a sign of life)."""

    event_type: str
    state: ReaderState | None = None
    """Inventorying or not, where the event says so."""
    lost_events: int = 0
    """Events the reader says it dropped (Impinj overflowEvent)."""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ParseResult:
    reads: list[TagRead]
    errors: list[Malformed]
    ignored: list[str] = field(default_factory=list)
    """Event types that were recognised but carry no tag (one entry per object)."""
    clock_drift_corrected: int = 0
    """Reads whose reader timestamp was replaced by the receive time."""
    notices: list[ReaderNotice] = field(default_factory=list)
    """The events without a tag, in order (their types are ``ignored``)."""
    event_nums: list[int] = field(default_factory=list)
    """The reader's sequence numbers of the events in the message, in order, malformed ones
    included (Zebra ``eventNum``): the driver counts the gaps as lost events."""


class PayloadError(ValueError):
    """Raised by the field checks; the parsers turn it into a :class:`Malformed`."""

    def __init__(self, reason: MalformedReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


ObjectParser = Callable[[dict[str, Any]], TagRead | ReaderNotice]
"""Parses one JSON object into a read with the reader's own timestamp or, for an object that
carries no tag, a notice; raises :class:`PayloadError`."""

SequenceOf = Callable[[dict[str, Any]], int | None]
"""The reader's sequence number of one JSON object, if it carries one (never raises)."""


def parse_message(
    payload: bytes,
    parse_object: ObjectParser,
    received_ms: int,
    max_drift_ms: int,
    sequence_of: SequenceOf | None = None,
) -> ParseResult:
    """Split a message into objects, parse each, and correct timestamps that drifted."""
    reads: list[TagRead] = []
    errors: list[Malformed] = []
    notices: list[ReaderNotice] = []
    event_nums: list[int] = []
    drifted = 0
    for label, obj in _objects(payload, errors):
        if not isinstance(obj, dict):
            errors.append(
                Malformed(
                    MalformedReason.WRONG_SHAPE,
                    f"{label}expected a JSON object, got {json_kind(obj)}",
                )
            )
            continue
        if sequence_of is not None:
            number = sequence_of(obj)
            if number is not None:
                event_nums.append(number)
        try:
            parsed = parse_object(obj)
        except PayloadError as error:
            errors.append(Malformed(error.reason, label + error.detail))
            continue
        if isinstance(parsed, ReaderNotice):
            notices.append(parsed)
            continue
        if abs(parsed.ts_ms - received_ms) > max_drift_ms:
            parsed = replace(parsed, ts_ms=received_ms)
            drifted += 1
        reads.append(parsed)
    ignored = [notice.event_type for notice in notices]
    return ParseResult(reads, errors, ignored, drifted, notices, event_nums)


def _objects(payload: bytes, errors: list[Malformed]) -> Iterator[tuple[str, Any]]:
    """Yield ``(label, object)``; the label locates an object in a batch ("" when alone)."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as error:
        errors.append(Malformed(MalformedReason.NOT_JSON, f"payload is not UTF-8 ({error})"))
        return
    if not text.strip():
        errors.append(Malformed(MalformedReason.NOT_JSON, "payload is empty"))
        return
    try:
        document = json.loads(text)
    except json.JSONDecodeError as whole_error:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) < 2:
            errors.append(Malformed(MalformedReason.NOT_JSON, f"not JSON ({whole_error})"))
            return
        for number, line in enumerate(lines, start=1):
            try:
                yield f"line {number}: ", json.loads(line)
            except json.JSONDecodeError as error:
                errors.append(
                    Malformed(MalformedReason.NOT_JSON, f"line {number}: not JSON ({error})")
                )
        return
    if isinstance(document, list):
        for index, obj in enumerate(document):
            yield f"element {index}: ", obj
    else:
        yield "", document


def json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def require(obj: dict[str, Any], key: str, path: str) -> Any:
    if key not in obj or obj[key] is None:
        raise PayloadError(MalformedReason.MISSING_FIELD, f"{path} is missing")
    return obj[key]


def require_str(obj: dict[str, Any], key: str, path: str) -> str:
    value = require(obj, key, path)
    if not isinstance(value, str):
        raise PayloadError(
            MalformedReason.WRONG_SHAPE, f"{path} must be a string, got {json_kind(value)}"
        )
    return value


def require_object(obj: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = require(obj, key, path)
    if not isinstance(value, dict):
        raise PayloadError(
            MalformedReason.WRONG_SHAPE, f"{path} must be an object, got {json_kind(value)}"
        )
    return value


def epc_from_hex(value: Any, path: str) -> str:
    """Upper-case hex of a non-empty, whole-byte EPC."""
    if not isinstance(value, str):
        raise PayloadError(MalformedReason.BAD_EPC, f"{path} must be a hex string")
    text = value.strip()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise PayloadError(
            MalformedReason.BAD_EPC, f"{path} {value!r} is not hexadecimal"
        ) from None
    if not raw:
        raise PayloadError(MalformedReason.BAD_EPC, f"{path} is empty")
    return raw.hex().upper()


_STANDARD_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_URL_SAFE_B64 = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def epc_from_base64(value: Any, path: str) -> str:
    """Upper-case hex of a base64 EPC: standard (``+/``) or URL-safe (``-_``) alphabet, with or
    without ``=`` padding; a string mixing both alphabets is corrupt."""
    if not isinstance(value, str):
        raise PayloadError(MalformedReason.BAD_EPC, f"{path} must be a base64 string")
    text = value.strip()
    if _STANDARD_B64.fullmatch(text):
        alphabet = b"+/"
    elif _URL_SAFE_B64.fullmatch(text):
        alphabet = b"-_"
    else:
        raise PayloadError(MalformedReason.BAD_EPC, f"{path} {value!r} is not base64")
    unpadded = text.rstrip("=")
    try:
        raw = base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), altchars=alphabet)
    except (binascii.Error, ValueError):
        raise PayloadError(MalformedReason.BAD_EPC, f"{path} {value!r} is not base64") from None
    if not raw:
        raise PayloadError(MalformedReason.BAD_EPC, f"{path} is empty")
    return raw.hex().upper()


def antenna_port(value: Any, path: str) -> int:
    # bool is an int in Python, and "1" is not a port number: both are corrupt fields.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PayloadError(
            MalformedReason.BAD_ANTENNA, f"{path} {value!r} is not an antenna port (1, 2, ...)"
        )
    return value


def optional_antenna(obj: dict[str, Any], key: str, path: str) -> int:
    """The antenna port, or :data:`NO_ANTENNA` when the reader does not report it."""
    value = obj.get(key)
    return NO_ANTENNA if value is None else antenna_port(value, path)


def optional_rssi(obj: dict[str, Any], key: str, path: str, scale: float = 1.0) -> float | None:
    """RSSI in dBm, or None when the reader does not report it."""
    value = obj.get(key)
    return None if value is None else rssi_dbm(value, path, scale)


def rssi_dbm(value: Any, path: str, scale: float = 1.0) -> float:
    """RSSI in dBm from a number in dBm (scale 1) or centi-dBm (scale 0.01)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PayloadError(MalformedReason.BAD_RSSI, f"{path} {value!r} is not a number")
    dbm = value * scale
    low, high = RSSI_RANGE_DBM
    if not low <= dbm <= high:
        raise PayloadError(MalformedReason.BAD_RSSI, f"{path} {value!r} is out of range")
    return float(dbm)


def timestamp_ms(value: Any, path: str) -> int:
    """ISO 8601 (``...+0000``, ``...Z``, up to nanoseconds) to UTC epoch milliseconds.

    A time without a zone is taken as UTC; if that is wrong, the drift check replaces it.
    """
    if not isinstance(value, str):
        raise PayloadError(MalformedReason.BAD_TIMESTAMP, f"{path} must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise PayloadError(
            MalformedReason.BAD_TIMESTAMP, f"{path} {value!r} is not an ISO 8601 time"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return datetime_to_ms(parsed)
