"""RO_ACCESS_REPORT to :class:`TagRead`, fast, and reader events to plain values.

A reader's TagReportData all look alike: the ROReportSpec fixes which parameters each one
carries, so a report of 100 tags is 100 copies of one layout. :class:`ReportDecoder` learns a
layout the first time it sees it (a ``struct`` format for the whole TagReportData, plus the
header bytes that must match) and then unpacks every TagReportData with it -- a whole report
in one ``struct.iter_unpack`` when all its entries share a layout. A TagReportData whose
headers do not match any learnt layout is parsed on its own and its layout learnt; one that
cannot be parsed is reported by reason and skipped by its length, the others are kept.

Per tag (TagReportData): the EPC from EPC-96 (TV 13) or EPCData (241); the antenna
from AntennaID (TV 1); RSSI from Impinj's ImpinjPeakRSSI (centi-dBm) when present, else
PeakRSSI (TV 6, dBm); the time from LastSeenTimestampUTC (TV 4), else FirstSeenTimestampUTC
(TV 2), in the reader's microseconds since the epoch, shifted by the reader's clock offset
(:class:`ClockOffset`). A read further than ``max_drift_ms`` from its receive time after that
is given the receive time, as the other drivers do.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Final

from edge.rfid.llrp.codec import LlrpError, Malformed, Message, Param
from edge.rfid.llrp.spec import (
    CUSTOM,
    IMPINJ,
    PARAM_HEADER_LEN,
    TV_SIZES,
    AntennaEventType,
    ConnectionAttemptStatus,
    Impinj,
)
from edge.rfid.llrp.spec import P as PT
from edge.rfid.reads import TagRead

NO_RSSI_DBM: Final = -100.0
"""RSSI given to a read whose report carries none (the driver always asks for PeakRSSI)."""
HEX_CACHE_SIZE: Final = 65536
"""EPC bytes -> hex strings kept; a store's tags repeat, so most reads hit."""
MAX_LAYOUTS: Final = 256

_TV_VALUES: Final[dict[int, tuple[str, str]]] = {
    PT.AntennaID: ("antenna", "H"),
    PT.PeakRSSI: ("rssi", "b"),
    PT.FirstSeenTimestampUTC: ("first_us", "Q"),
    PT.LastSeenTimestampUTC: ("last_us", "Q"),
    PT.EPC96: ("epc", "12s"),
}
"""TV parameters whose value a read needs: role and ``struct`` code."""


@dataclass(frozen=True, slots=True)
class _Layout:
    """How to read one TagReportData shape.

    ``full`` unpacks header runs as bytes (``check`` picks them, ``expected`` is what they must
    be) and the four values a read needs; ``lean`` unpacks only those values, in the order
    epc, antenna, time, RSSI after ``pick``, for whole reports whose header bytes were
    checked column by column (``header_bytes``: offset in the TagReportData, value).
    """

    full: struct.Struct
    check: Any
    expected: tuple[bytes, ...]
    values: Any
    """itemgetter: (epc, antenna, time, rssi) from a row of ``full``."""
    lean: struct.Struct
    pick: Any
    """itemgetter: (epc, antenna, time, rssi) from a row of ``lean``."""
    header_bytes: tuple[tuple[int, int], ...]
    rssi_divisor: float
    """100 for ImpinjPeakRSSI (centi-dBm), 1 for PeakRSSI (dBm)."""
    error: LlrpError | None


def _segments(data: bytes, pos: int, length: int) -> list[tuple[str, bytes | int | str]]:
    """The TagReportData at ``pos`` as ("hdr", bytes that identify the layout),
    ("val", "role:code") and ("skip", byte count) segments, in byte order."""
    segments: list[tuple[str, bytes | int | str]] = [("hdr", bytes(data[pos : pos + 4]))]
    at = pos + PARAM_HEADER_LEN
    end = pos + length
    while at < end:
        first = data[at]
        if first & 0x80:
            type_ = first & 0x7F
            size = TV_SIZES.get(type_)
            if size is None:
                raise LlrpError(Malformed.UNKNOWN_TV, f"TV type {type_} in TagReportData")
            if at + 1 + size > end:
                raise LlrpError(Malformed.TRUNCATED, f"TV {type_} runs past its TagReportData")
            segments.append(("hdr", bytes((first,))))
            value = _TV_VALUES.get(type_)
            segments.append(("val", ":".join(value)) if value else ("skip", size))
            at += 1 + size
            continue
        if at + PARAM_HEADER_LEN > end:
            raise LlrpError(Malformed.TRUNCATED, "parameter header runs past its TagReportData")
        type_ = int.from_bytes(data[at : at + 2], "big") & 0x3FF
        sub_length = int.from_bytes(data[at + 2 : at + 4], "big")
        if sub_length < PARAM_HEADER_LEN or at + sub_length > end:
            raise LlrpError(
                Malformed.BAD_LENGTH,
                f"parameter {type_} of length {sub_length} in a TagReportData of {length} bytes",
            )
        if type_ == PT.EPCData and sub_length >= 6:
            bits = int.from_bytes(data[at + 4 : at + 6], "big")
            nbytes = sub_length - 6
            if (bits + 7) // 8 != nbytes or bits == 0:
                raise LlrpError(Malformed.BAD_FIELD, f"EPCData of {bits} bits in {nbytes} byte(s)")
            segments += [("hdr", bytes(data[at : at + 6])), ("val", f"epc:{nbytes}s")]
        elif type_ == CUSTOM and sub_length >= 12:
            vendor = int.from_bytes(data[at + 4 : at + 8], "big")
            subtype = int.from_bytes(data[at + 8 : at + 12], "big")
            segments.append(("hdr", bytes(data[at : at + 12])))
            if vendor == IMPINJ and subtype == Impinj.PeakRSSI and sub_length == 14:
                segments.append(("val", "rssi_centi:h"))
            elif sub_length > 12:
                segments.append(("skip", sub_length - 12))
        else:
            segments.append(("hdr", bytes(data[at : at + 4])))
            if sub_length > 4:
                segments.append(("skip", sub_length - 4))
        at += sub_length
    return segments


def _learn(data: bytes, pos: int, length: int) -> _Layout:
    """The layout of the TagReportData at ``pos`` (whose header was checked by the caller)."""
    segments = _segments(data, pos, length)
    roles = {str(v).split(":")[0] for kind, v in segments if kind == "val"}
    wanted = {
        "epc",
        "antenna",
        "last_us" if "last_us" in roles else "first_us",
        "rssi_centi" if "rssi_centi" in roles else "rssi",
    }
    full: list[str] = [">"]
    lean: list[str] = [">"]
    checks: list[int] = []
    expected: list[bytes] = []
    header_bytes: list[tuple[int, int]] = []
    full_at: dict[str, int] = {}
    lean_at: dict[str, int] = {}
    full_n = 0  # values a row of `full` has so far (pads give none)
    offset = 0
    for kind, value in segments:
        if kind == "hdr":
            assert isinstance(value, bytes)
            checks.append(full_n)
            full_n += 1
            expected.append(value)
            full.append(f"{len(value)}s")
            lean.append(f"{len(value)}x")
            header_bytes += [(offset + k, b) for k, b in enumerate(value)]
            offset += len(value)
        elif kind == "skip":
            assert isinstance(value, int)
            full.append(f"{value}x")
            lean.append(f"{value}x")
            offset += value
        else:
            role, code = str(value).split(":")
            size = struct.calcsize(">" + code)
            if role in wanted:
                full_at[role] = full_n
                full_n += 1
                full.append(code)
                lean_at[role] = len(lean_at)
                lean.append(code)
            else:
                full.append(f"{size}x")
                lean.append(f"{size}x")
            offset += size
    full_struct, lean_struct = struct.Struct("".join(full)), struct.Struct("".join(lean))
    if full_struct.size != length:
        raise LlrpError(Malformed.BAD_LENGTH, f"TagReportData layout of {length} bytes is wrong")
    error = None
    missing = [role for role in ("epc", "antenna") if role not in full_at]
    if missing:
        name = {"epc": "EPC", "antenna": "AntennaID"}[missing[0]]
        error = LlrpError(Malformed.MISSING_PARAMETER, f"TagReportData without {name}")
    order = (
        "epc",
        "antenna",
        "last_us" if "last_us" in full_at else "first_us",
        "rssi_centi" if "rssi_centi" in full_at else "rssi",
    )
    return _Layout(
        full=full_struct,
        check=_getter(checks),
        expected=tuple(expected),
        values=_getter([full_at.get(role, -1) for role in order]),
        lean=lean_struct,
        pick=_getter([lean_at.get(role, -1) for role in order]),
        header_bytes=tuple(header_bytes),
        rssi_divisor=100.0 if "rssi_centi" in full_at else 1.0,
        error=error,
    )


def _getter(indexes: list[int]) -> Any:
    """A function of a row: the values at ``indexes`` as a tuple, None where the index is -1."""
    if all(i >= 0 for i in indexes):
        if len(indexes) == 1:
            only = indexes[0]
            return lambda row: (row[only],)
        return itemgetter(*indexes)
    return lambda row: tuple(None if i < 0 else row[i] for i in indexes)


@dataclass(frozen=True, slots=True)
class _Context:
    reader_id: str
    received_ms: int
    offset_ms: int
    max_drift_ms: int


@dataclass(slots=True)
class ReportReads:
    reads: list[TagRead] = field(default_factory=list)
    errors: list[LlrpError] = field(default_factory=list)
    """TagReportData (or whole reports) refused, with the reason."""
    skipped: int = 0
    """Top-level parameters other than TagReportData (RFSurveyReportData, Custom): skipped."""
    drift_corrected: int = 0
    no_rssi: int = 0
    no_timestamp: int = 0


class ReportDecoder:
    """Turns RO_ACCESS_REPORT bodies into reads; keeps learnt layouts and an EPC hex cache."""

    def __init__(self) -> None:
        self._layouts: dict[int, list[_Layout]] = {}
        self._count = 0
        self._hex: dict[bytes, str] = {}

    def reads(
        self,
        data: bytes,
        start: int,
        reader_id: str,
        received_ms: int,
        offset_ms: int,
        max_drift_ms: int,
    ) -> ReportReads:
        """Reads of the report whose parameters are ``data[start:]`` (``start`` = 10 for a
        whole message)."""
        result = ReportReads()
        context = _Context(reader_id, received_ms, offset_ms, max_drift_ms)
        end = len(data)
        size = end - start
        if size >= PARAM_HEADER_LEN and not data[start] & 0x80:
            length = int.from_bytes(data[start + 2 : start + 4], "big")
            if (
                length >= PARAM_HEADER_LEN
                and size % length == 0
                and int.from_bytes(data[start : start + 2], "big") & 0x3FF == PT.TagReportData
            ):
                layout = self._layout(data, start, length, result)
                rows = size // length
                # Every header byte of every TagReportData, one column at a time.
                if layout is not None and all(
                    data[start + offset : end : length] == bytes((value,)) * rows
                    for offset, value in layout.header_bytes
                ):
                    if layout.error is not None:
                        result.errors += [layout.error] * rows
                    else:
                        picked = map(layout.pick, layout.lean.iter_unpack(data[start:end]))
                        self._emit(layout, picked, result, context)
                    return result
        self._one_by_one(data, start, result, context)
        return result

    def _layout(self, data: bytes, pos: int, length: int, result: ReportReads) -> _Layout | None:
        """A known layout that matches the TagReportData at ``pos``, else a new one."""
        for layout in self._layouts.get(length, ()):
            if layout.check(layout.full.unpack_from(data, pos)) == layout.expected:
                return layout
        try:
            layout = _learn(data, pos, length)
        except LlrpError as error:
            result.errors.append(error)
            return None
        if self._count < MAX_LAYOUTS:
            self._layouts.setdefault(length, []).append(layout)
            self._count += 1
        return layout

    def _one_by_one(self, data: bytes, pos: int, result: ReportReads, context: _Context) -> None:
        end = len(data)
        while pos < end:
            if data[pos] & 0x80 or end - pos < PARAM_HEADER_LEN:
                result.errors.append(
                    LlrpError(Malformed.TRUNCATED, f"no parameter header at offset {pos}")
                )
                return
            word = int.from_bytes(data[pos : pos + 2], "big")
            length = int.from_bytes(data[pos + 2 : pos + 4], "big")
            if length < PARAM_HEADER_LEN or pos + length > end:
                result.errors.append(
                    LlrpError(
                        Malformed.BAD_LENGTH,
                        f"parameter {word & 0x3FF} at offset {pos} has length {length}, "
                        f"{end - pos} byte(s) left",
                    )
                )
                return
            if word & 0x3FF != PT.TagReportData:
                result.skipped += 1
            else:
                layout = self._layout(data, pos, length, result)
                if layout is not None:
                    if layout.error is not None:
                        result.errors.append(layout.error)
                    else:
                        row = layout.values(layout.full.unpack_from(data, pos))
                        self._emit(layout, (row,), result, context)
            pos += length

    def _emit(
        self,
        layout: _Layout,
        rows: Iterable[tuple[Any, ...]],
        result: ReportReads,
        context: _Context,
    ) -> None:
        """Reads from ``(epc bytes, antenna, reader time us or None, rssi or None)`` rows."""
        reader_id, received_ms = context.reader_id, context.received_ms
        offset_ms, max_drift_ms = context.offset_ms, context.max_drift_ms
        hexes = self._hex
        if len(hexes) > HEX_CACHE_SIZE:
            hexes.clear()
        append = result.reads.append
        low, high = received_ms - max_drift_ms, received_ms + max_drift_ms
        divisor = layout.rssi_divisor
        drifted = no_time = no_rssi = 0
        for raw_epc, antenna, seen_us, raw_rssi in rows:
            epc = hexes.get(raw_epc)
            if epc is None:
                epc = hexes[raw_epc] = raw_epc.hex().upper()
            if seen_us is None:
                ts_ms = received_ms
                no_time += 1
            else:
                ts_ms = seen_us // 1000 + offset_ms
                if ts_ms < low or ts_ms > high:
                    ts_ms = received_ms
                    drifted += 1
            if raw_rssi is None:
                rssi = NO_RSSI_DBM
                no_rssi += 1
            else:
                rssi = raw_rssi / divisor
            append(TagRead(reader_id, antenna, epc, rssi, ts_ms))
        result.drift_corrected += drifted
        result.no_timestamp += no_time
        result.no_rssi += no_rssi


# --- full detail (slow path: tests, diagnostics) --------------------------------------------


@dataclass(frozen=True, slots=True)
class TagDetail:
    """Everything a TagReportData may say about one tag (absent values are None)."""

    epc: str
    antenna: int | None = None
    peak_rssi_dbm: float | None = None
    first_seen_us: int | None = None
    last_seen_us: int | None = None
    seen_count: int | None = None
    channel_index: int | None = None
    rospec_id: int | None = None
    phase_angle: int | None = None
    """Impinj RF phase angle, 0..4095 for 0..2 pi."""
    doppler_frequency: int | None = None
    """Impinj RF Doppler frequency, in 1/16 Hz."""
    tid: tuple[int, ...] | None = None
    """Impinj serialized TID words."""

    @property
    def phase_radians(self) -> float | None:
        return None if self.phase_angle is None else self.phase_angle * 2 * 3.141592653589793 / 4096

    @property
    def doppler_hz(self) -> float | None:
        return None if self.doppler_frequency is None else self.doppler_frequency / 16


def tag_details(message: Message) -> list[TagDetail]:
    """Every tag of a decoded RO_ACCESS_REPORT, with all the detail it carries."""
    return [_detail(p) for p in message.find_all(PT.TagReportData)]


def _value(param: Param | None, name: str) -> Any:
    return None if param is None else param.fields[name]


def _detail(trd: Param) -> TagDetail:
    epc96 = trd.find(PT.EPC96)
    if epc96 is not None:
        epc = _value(epc96, "epc").hex().upper()
    else:
        data = trd.find(PT.EPCData)
        if data is None:
            raise LlrpError(Malformed.MISSING_PARAMETER, "TagReportData without EPC")
        epc = _value(data, "epc").data.hex().upper()
    impinj_rssi = _value(trd.find(CUSTOM, Impinj.PeakRSSI), "rssi_centi_dbm")
    peak = _value(trd.find(PT.PeakRSSI), "peak_rssi")
    return TagDetail(
        epc=epc,
        antenna=_value(trd.find(PT.AntennaID), "antenna_id"),
        peak_rssi_dbm=impinj_rssi / 100
        if impinj_rssi is not None
        else (None if peak is None else float(peak)),
        first_seen_us=_value(trd.find(PT.FirstSeenTimestampUTC), "microseconds"),
        last_seen_us=_value(trd.find(PT.LastSeenTimestampUTC), "microseconds"),
        seen_count=_value(trd.find(PT.TagSeenCount), "tag_count"),
        channel_index=_value(trd.find(PT.ChannelIndex), "channel_index"),
        rospec_id=_value(trd.find(PT.ROSpecID), "rospec_id"),
        phase_angle=_value(trd.find(CUSTOM, Impinj.RFPhaseAngle), "phase_angle"),
        doppler_frequency=_value(trd.find(CUSTOM, Impinj.RFDopplerFrequency), "doppler_frequency"),
        tid=_value(trd.find(CUSTOM, Impinj.SerializedTID), "tid"),
    )


# --- reader events --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReaderEvent:
    """One event of a READER_EVENT_NOTIFICATION, as the driver uses it."""

    kind: str
    """connection_attempt, connection_close, antenna_disconnected, antenna_connected,
    buffer_fill_warning, buffer_overflow, reader_exception, rospec, aispec, gpi, hopping,
    rf_survey, spec_loop, custom or unknown."""
    reader_us: int | None
    """The event's UTCTimestamp (reader clock), None when it carries only Uptime."""
    value: int | None = None
    """Antenna id, buffer fill percentage, connection status or event type, by kind."""
    text: str = ""


_SIMPLE_EVENTS: Final = {
    PT.ReportBufferOverflowErrorEvent: "buffer_overflow",
    PT.ConnectionCloseEvent: "connection_close",
    PT.ROSpecEvent: "rospec",
    PT.AISpecEvent: "aispec",
    PT.GPIEvent: "gpi",
    PT.HoppingEvent: "hopping",
    PT.RFSurveyEvent: "rf_survey",
    PT.SpecLoopEvent: "spec_loop",
    CUSTOM: "custom",
}


def reader_events(message: Message) -> list[ReaderEvent]:
    """The events of a decoded READER_EVENT_NOTIFICATION (usually one)."""
    data = message.find(PT.ReaderEventNotificationData)
    if data is None:
        raise LlrpError(
            Malformed.MISSING_PARAMETER,
            "READER_EVENT_NOTIFICATION without ReaderEventNotificationData",
        )
    stamp = data.find(PT.UTCTimestamp)
    reader_us = None if stamp is None else stamp.num("microseconds")
    events: list[ReaderEvent] = []
    for param in data.params:
        type_ = param.type
        if type_ in (PT.UTCTimestamp, PT.Uptime):
            continue
        if type_ == PT.ConnectionAttemptEvent:
            status = param.num("status")
            name = (
                ConnectionAttemptStatus(status).name
                if status in ConnectionAttemptStatus._value2member_map_
                else f"status {status}"
            )
            events.append(ReaderEvent("connection_attempt", reader_us, status, name))
        elif type_ == PT.AntennaEvent:
            disconnected = param.num("event_type") == AntennaEventType.Antenna_Disconnected
            kind = "antenna_disconnected" if disconnected else "antenna_connected"
            events.append(ReaderEvent(kind, reader_us, param.num("antenna_id")))
        elif type_ == PT.ReportBufferLevelWarningEvent:
            percent = param.num("report_buffer_percentage_full")
            events.append(ReaderEvent("buffer_fill_warning", reader_us, percent))
        elif type_ == PT.ReaderExceptionEvent:
            events.append(ReaderEvent("reader_exception", reader_us, None, param.text("message")))
        else:
            kind = _SIMPLE_EVENTS.get(type_, "unknown")
            value = param.fields.get("event_type")
            events.append(ReaderEvent(kind, reader_us, value if isinstance(value, int) else None))
    return events


class ClockOffset:
    """The reader clock's offset from ours, from the UTCTimestamp of its events.

    ``offset_ms`` is added to reader times. A measured difference within ``tolerance_ms`` is
    taken as transport delay (offset 0: the reader's clock is trusted); beyond it the reader's
    clock is off and the measured difference is used, so reads keep their relative timing
    instead of all collapsing onto receive times. Pure: the caller passes both times.
    """

    def __init__(self, tolerance_ms: int) -> None:
        self.tolerance_ms = tolerance_ms
        self.offset_ms = 0
        self.samples = 0
        self.changes = 0

    def observe(self, reader_us: int, received_ms: int) -> int:
        measured = received_ms - reader_us // 1000
        offset = measured if abs(measured) > self.tolerance_ms else 0
        self.samples += 1
        if offset != self.offset_ms:
            self.changes += 1
            self.offset_ms = offset
        return offset
