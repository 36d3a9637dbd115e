"""RO_ACCESS_REPORT to :class:`TagRead`, fast, and reader events to plain values.

A reader's TagReportData all look alike: the ROReportSpec fixes which parameters each one
carries, so a report of 100 tags is 100 copies of one layout. :class:`ReportDecoder` learns a
layout the first time it sees it (a ``struct`` format for the whole TagReportData, plus the
header bytes that must match) and then unpacks every TagReportData with it -- a whole report
in one ``struct.iter_unpack`` when all its entries share a layout. A TagReportData whose
headers do not match any learnt layout is parsed on its own and its layout learnt; one that
cannot be parsed is reported by reason and skipped by its length, the others are kept.

Per tag (§17.2.3.1 TagReportData): the EPC from EPC-96 (TV 13) or EPCData (241); the antenna
from AntennaID (TV 1); RSSI from Impinj's ImpinjPeakRSSI (centi-dBm) when present, else
PeakRSSI (TV 6, dBm); the time from LastSeenTimestampUTC (TV 4), else FirstSeenTimestampUTC
(TV 2), in the reader's microseconds since the epoch, shifted by the reader's clock offset
(:class:`ClockOffset`). A read further than ``max_drift_ms`` from its receive time after that
is given the receive time, as the other drivers do.
"""

from __future__ import annotations

import struct
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

_TV_VALUE_FORMAT: Final[dict[int, str]] = {
    PT.AntennaID: "H",
    PT.PeakRSSI: "b",
    PT.FirstSeenTimestampUTC: "Q",
    PT.LastSeenTimestampUTC: "Q",
    PT.EPC96: "12s",
}


@dataclass(frozen=True, slots=True)
class _Layout:
    """How to unpack one TagReportData shape; ``-1``: that value is absent."""

    struct: struct.Struct
    check: Any
    """itemgetter of the header values that identify the layout."""
    expected: tuple[int, ...]
    epc: int
    antenna: int
    rssi: int
    rssi_centi: int
    last_us: int
    first_us: int
    error: LlrpError | None


def _learn(data: bytes, pos: int, length: int) -> _Layout:
    """The layout of the TagReportData at ``pos`` (whose header was checked by the caller)."""
    fmt = [">HH"]
    checks: list[tuple[int, int]] = [
        (0, int.from_bytes(data[pos : pos + 2], "big")),
        (1, length),
    ]
    roles = dict.fromkeys(("epc", "antenna", "rssi", "rssi_centi", "last_us", "first_us"), -1)
    index = 2
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
            value = _TV_VALUE_FORMAT.get(type_)
            checks.append((index, first))
            if value is None:
                fmt.append(f"B{size}x")
                index += 1
            else:
                fmt.append("B" + value)
                role = {
                    PT.AntennaID: "antenna",
                    PT.PeakRSSI: "rssi",
                    PT.FirstSeenTimestampUTC: "first_us",
                    PT.LastSeenTimestampUTC: "last_us",
                    PT.EPC96: "epc",
                }[PT(type_)]
                roles[role] = index + 1
                index += 2
            at += 1 + size
            continue
        if at + PARAM_HEADER_LEN > end:
            raise LlrpError(Malformed.TRUNCATED, "parameter header runs past its TagReportData")
        word = int.from_bytes(data[at : at + 2], "big")
        sub_length = int.from_bytes(data[at + 2 : at + 4], "big")
        if sub_length < PARAM_HEADER_LEN or at + sub_length > end:
            raise LlrpError(
                Malformed.BAD_LENGTH,
                f"parameter {word & 0x3FF} of length {sub_length} in a TagReportData of "
                f"{length} bytes",
            )
        type_ = word & 0x3FF
        checks += [(index, word), (index + 1, sub_length)]
        if type_ == PT.EPCData and sub_length >= 6:
            bits = int.from_bytes(data[at + 4 : at + 6], "big")
            nbytes = sub_length - 6
            if (bits + 7) // 8 != nbytes or bits == 0:
                raise LlrpError(Malformed.BAD_FIELD, f"EPCData of {bits} bits in {nbytes} byte(s)")
            fmt.append(f"HHH{nbytes}s")
            checks.append((index + 2, bits))
            roles["epc"] = index + 3
            index += 4
        elif type_ == CUSTOM and sub_length >= 12:
            vendor = int.from_bytes(data[at + 4 : at + 8], "big")
            subtype = int.from_bytes(data[at + 8 : at + 12], "big")
            checks += [(index + 2, vendor), (index + 3, subtype)]
            if vendor == IMPINJ and subtype == Impinj.PeakRSSI and sub_length == 14:
                fmt.append("HHIIh")
                roles["rssi_centi"] = index + 4
                index += 5
            else:
                fmt.append(f"HHII{sub_length - 12}x")
                index += 4
        else:
            fmt.append(f"HH{sub_length - 4}x")
            index += 2
        at += sub_length
    compiled = struct.Struct("".join(fmt))
    assert compiled.size == length, (compiled.format, length)
    error = None
    if roles["epc"] < 0:
        error = LlrpError(Malformed.MISSING_PARAMETER, "TagReportData without EPC")
    elif roles["antenna"] < 0:
        error = LlrpError(Malformed.MISSING_PARAMETER, "TagReportData without AntennaID")
    return _Layout(
        compiled,
        itemgetter(*(i for i, _ in checks)),
        tuple(v for _, v in checks),
        error=error,
        **roles,
    )


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
        end = len(data)
        if end - start >= PARAM_HEADER_LEN and not data[start] & 0x80:
            length = int.from_bytes(data[start + 2 : start + 4], "big")
            if (
                length >= PARAM_HEADER_LEN
                and (end - start) % length == 0
                and int.from_bytes(data[start : start + 2], "big") & 0x3FF == PT.TagReportData
            ):
                layout = self._layout(data, start, length, result)
                if layout is not None and layout.error is None:
                    rows = list(layout.struct.iter_unpack(memoryview(data)[start:end]))
                    heads = list(map(layout.check, rows))
                    if heads.count(layout.expected) == len(heads):
                        self._emit(
                            layout, rows, result, reader_id, received_ms, offset_ms, max_drift_ms
                        )
                        return result
        self._one_by_one(data, start, result, reader_id, received_ms, offset_ms, max_drift_ms)
        return result

    def _layout(self, data: bytes, pos: int, length: int, result: ReportReads) -> _Layout | None:
        """A known layout that matches the TagReportData at ``pos``, else a new one."""
        for layout in self._layouts.get(length, ()):
            if layout.check(layout.struct.unpack_from(data, pos)) == layout.expected:
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

    def _one_by_one(
        self,
        data: bytes,
        pos: int,
        result: ReportReads,
        reader_id: str,
        received_ms: int,
        offset_ms: int,
        max_drift_ms: int,
    ) -> None:
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
                        row = layout.struct.unpack_from(data, pos)
                        self._emit(
                            layout, [row], result, reader_id, received_ms, offset_ms, max_drift_ms
                        )
            pos += length

    def _emit(
        self,
        layout: _Layout,
        rows: list[tuple[Any, ...]],
        result: ReportReads,
        reader_id: str,
        received_ms: int,
        offset_ms: int,
        max_drift_ms: int,
    ) -> None:
        hexes = self._hex
        if len(hexes) > HEX_CACHE_SIZE:
            hexes.clear()
        epc_i, antenna_i = layout.epc, layout.antenna
        time_i = layout.last_us if layout.last_us >= 0 else layout.first_us
        centi_i, rssi_i = layout.rssi_centi, layout.rssi
        reads = result.reads
        append = reads.append
        low, high = received_ms - max_drift_ms, received_ms + max_drift_ms
        drifted = 0
        for row in rows:
            raw_epc = row[epc_i]
            epc = hexes.get(raw_epc)
            if epc is None:
                epc = hexes[raw_epc] = raw_epc.hex().upper()
            if time_i >= 0:
                ts_ms = row[time_i] // 1000 + offset_ms
                if ts_ms < low or ts_ms > high:
                    ts_ms = received_ms
                    drifted += 1
            else:
                ts_ms = received_ms
            if centi_i >= 0:
                rssi = row[centi_i] / 100
            elif rssi_i >= 0:
                rssi = float(row[rssi_i])
            else:
                rssi = NO_RSSI_DBM
            append(TagRead(reader_id, row[antenna_i], epc, rssi, ts_ms))
        result.drift_corrected += drifted
        if time_i < 0:
            result.no_timestamp += len(rows)
        if centi_i < 0 and rssi_i < 0:
            result.no_rssi += len(rows)


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
    """One event of a READER_EVENT_NOTIFICATION (§17.2.7.1), as the driver uses it."""

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
