"""The LLRP codec against what we did not write.

1. Golden vectors: message bodies captured from a real Impinj Speedway R420 (firmware
   5.14.0.240) by EdgeX's device-rfid-llrp-go (Apache-2.0), github.com/edgexfoundry/
   device-rfid-llrp-go, commit cd6a08a6bfb7c36bf9122a0360461b2f1c8e1ae6, ``pkg/llrp/testdata``:
   each ``*.bytes`` (a body without its 10-byte header) with EdgeX's own decoding beside it in
   ``*.json``. They are copied unchanged, with that repository's Apache-2.0 licence, into
   ``tests/rfid/vendor_corpus/llrp/edgex/`` (``O2O_LLRP_VECTORS`` names another folder laid out
   the same way). Every one must decode, re-encode
   byte for byte, and agree with EdgeX's decoding field for field; :data:`VECTOR_SHA256`
   pins the exact files.
2. llrpkit (MIT), an independent LLRP implementation: every request we send is decoded by it
   to the values we meant, and every message it builds (its emulator's capabilities, reports
   with Impinj extensions, events) decodes with ours and re-encodes to its bytes.
3. Hypothesis: every parameter layout the codec knows round-trips.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from llrpkit.emulator import LLRPEmulator
from llrpkit.protocol import BitStr, decode_message, impinj, messages, params

from edge.rfid.llrp import commands
from edge.rfid.llrp.codec import (
    BitString,
    LlrpError,
    Malformed,
    Message,
    Param,
    decode_body,
    decode_params,
    encode_body,
    encode_message,
    encode_param,
)
from edge.rfid.llrp.codec import (
    decode_message as our_decode,
)
from edge.rfid.llrp.framing import LlrpFramer
from edge.rfid.llrp.reports import ReportDecoder, reader_events, tag_details
from edge.rfid.llrp.spec import (
    CUSTOM,
    CUSTOM_FIELDS,
    FIXED_SIZES,
    IMPINJ,
    MESSAGE_FIELDS,
    TLV_FIELDS,
    TV_FIELDS,
    Bits,
    F,
    Field,
    Impinj,
    MessageType,
    StatusCode,
)
from edge.rfid.llrp.spec import P as PT

VECTORS = Path(
    os.environ.get("O2O_LLRP_VECTORS")
    or Path(__file__).resolve().parent / "vendor_corpus" / "llrp" / "edgex"
)

BODY_TYPES = {
    "CloseConnectionResponse": MessageType.CLOSE_CONNECTION_RESPONSE,
    "GetAccessSpecsResponse": MessageType.GET_ACCESSSPECS_RESPONSE,
    "GetROSpecsResponse": MessageType.GET_ROSPECS_RESPONSE,
    "GetReaderCapabilitiesResponse": MessageType.GET_READER_CAPABILITIES_RESPONSE,
    "GetReaderConfigResponse": MessageType.GET_READER_CONFIG_RESPONSE,
    "ReaderEventNotification": MessageType.READER_EVENT_NOTIFICATION,
    "ROAccessReport": MessageType.RO_ACCESS_REPORT,
}


def _vector_files() -> list[Path]:
    return sorted(VECTORS.rglob("*.bytes")) if VECTORS.is_dir() else []


# The vectors ship with the tests: missing ones are a failure, not a skip.
needs_vectors = pytest.mark.usefixtures("golden_vectors")


@pytest.fixture(scope="module")
def golden_vectors() -> list[Path]:
    files = _vector_files()
    assert len(files) == 15, f"LLRP golden vectors missing from {VECTORS}: {files}"
    return files


def _decoded(path: Path) -> tuple[Message, dict[str, Any]]:
    body = path.read_bytes()
    message = decode_body(BODY_TYPES[path.stem.split("-")[0]], body)
    return message, json.loads(path.with_suffix(".json").read_text())


@needs_vectors
def test_there_are_fifteen_vectors_and_every_one_round_trips() -> None:
    files = _vector_files()
    assert len(files) == 15
    for path in files:
        body = path.read_bytes()
        message, _ = _decoded(path)
        assert encode_body(message) == body, path.name
        assert all(p.raw is None for p in message.params), f"{path.name}: unknown parameter"
        whole = encode_message(message)
        assert our_decode(whole) == message


@needs_vectors
def test_tag_reports_agree_with_edgex() -> None:
    decoder = ReportDecoder()
    reports = sorted(VECTORS.rglob("ROAccessReport-*.bytes"))
    assert len(reports) == 9
    for path in reports:
        message, expected = _decoded(path)
        (tag,) = expected["TagReportData"]
        (detail,) = tag_details(message)
        assert detail.epc == base64.b64decode(tag["EPC96"]["EPC"]).hex().upper()
        assert detail.antenna == tag["AntennaID"]
        assert detail.peak_rssi_dbm == tag["PeakRSSI"]
        assert detail.first_seen_us == tag["FirstSeenUTC"]
        (read,) = decoder.reads(
            path.read_bytes(), 0, "r420", tag["FirstSeenUTC"] // 1000, 0, 5000
        ).reads
        assert (read.epc, read.antenna, read.rssi_dbm, read.ts_ms) == (
            detail.epc,
            tag["AntennaID"],
            float(tag["PeakRSSI"]),
            tag["FirstSeenUTC"] // 1000,
        )


@needs_vectors
def test_capabilities_agree_with_edgex() -> None:
    message, expected = _decoded(VECTORS / "GetReaderCapabilitiesResponse-000.bytes")
    caps = commands.capabilities_of(message)
    general = expected["GeneralDeviceCapabilities"]
    assert caps.max_antennas == general["MaxSupportedAntennas"] == 4
    assert caps.manufacturer == general["DeviceManufacturer"] == IMPINJ
    assert caps.model == general["Model"]
    assert caps.firmware == general["FirmwareVersion"] == "5.14.0.240"
    assert caps.utc_clock is general["HasUTCClock"]
    uhf = expected["RegulatoryCapabilities"]["UHFBandCapabilities"]
    assert caps.power_table == {
        level["Index"]: level["TransmitPowerValue"] / 100 for level in uhf["TransmitPowerLevels"]
    }
    modes = uhf["C1G2RFModes"]["UHFC1G2RFModeTableEntries"]
    assert caps.modes == tuple(mode["ModeID"] for mode in modes)
    assert (
        caps.hopping
        is expected["RegulatoryCapabilities"]["UHFBandCapabilities"]["FrequencyInformation"][
            "Hopping"
        ]
    )
    llrp = expected["LLRPCapabilities"]
    assert caps.max_rospecs == llrp["MaxROSpecs"]
    assert commands.status_of(message).ok
    assert commands.power_index_for(caps.power_table, 30.0) == 81
    assert commands.power_index_for(caps.power_table, 25.1) == 61  # 25.00 dBm


@needs_vectors
def test_reader_config_and_events_agree_with_edgex() -> None:
    message, expected = _decoded(VECTORS / "GetReaderConfigResponse-000.bytes")
    ident = message.find(PT.Identification)
    assert ident is not None
    assert ident.fields["reader_id"] == base64.b64decode(expected["Identification"]["ReaderID"])
    spec = message.find(PT.ROReportSpec)
    assert spec is not None and spec.num("trigger") == expected["ROReportSpec"]["Trigger"]
    selector = spec.find(PT.TagReportContentSelector)
    assert selector is not None
    assert selector.num("enable_peak_rssi") == 1 and selector.num("enable_last_seen_timestamp") == 0
    configurations = message.find_all(PT.AntennaConfiguration)
    assert [c.num("antenna_id") for c in configurations] == [
        c["AntennaID"] for c in expected["AntennaConfigurations"]
    ]
    transmitter = configurations[0].find(PT.RFTransmitter)
    assert transmitter is not None and transmitter.num("transmit_power") == 81
    event, expected_event = _decoded(VECTORS / "ReaderEventNotification-000.bytes")
    (only,) = reader_events(event)
    assert only.kind == "connection_close"
    assert only.reader_us == expected_event["ReaderEventNotificationData"]["UTCTimestamp"]


@needs_vectors
def test_vectors_are_the_published_ones() -> None:
    """The files are byte for byte those of the cited commit (so a test failure is ours)."""
    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in _vector_files()}
    assert digests == PUBLISHED_SHA256


PUBLISHED_SHA256 = {
    f"{name}.bytes": digest
    for name, digest in (
        line.split()
        for line in """
CloseConnectionResponse-000 0ce86cb264d4af2d9e7b5f21cb98a47ec3c99b2df44baf6af14e9e02aab72ca1
GetAccessSpecsResponse-000 0ce86cb264d4af2d9e7b5f21cb98a47ec3c99b2df44baf6af14e9e02aab72ca1
GetROSpecsResponse-000 0ce86cb264d4af2d9e7b5f21cb98a47ec3c99b2df44baf6af14e9e02aab72ca1
GetReaderCapabilitiesResponse-000 a35987f77a3a9f25ca9aed009392204be25cce272b30a2d1589e07554f71d2df
GetReaderConfigResponse-000 d63944102e93970344d0bf6309a0b2d85975e54734a35279676d3f6590a741de
ReaderEventNotification-000 d26b90958dec6e8c5af5187be58912b60f5e6ac83ec8b829027c961e0992d313
ROAccessReport-001 61b84ac5ba0a13bd2d994cbe6ebc627b0c5c4917c4a102663fa73fc7d6e7fef0
ROAccessReport-002 10b4e4f07dbc0d529c7ff2f5417d1291773b4b9fc4c607f8719a993f0e7498e6
ROAccessReport-003 2573e3451913fd88a07913500d945cfd63cc1c1dcf9a05b5fe5486671cac6256
ROAccessReport-004 75768220ef989716e1519a72c7e482fb2f5f88997a180844f7072f37a92d27e3
ROAccessReport-005 a528e284760799eb3688a4d2cfac65ea9e22c80731016ba8e627ac7e600bfb14
ROAccessReport-006 0fb6761a48658d59e8f5cdeb66d5beb0fca3d0d6b9c050b4aa584b24b200b916
ROAccessReport-007 047ff544cdb96ceeefe5e73198e4fbf1b1bf357e270296769279d5b9487cb8cb
ROAccessReport-008 66eb8699e674d684e20c5b876443d3abf574e05fa0a707e5c5bbc5a4dff74d47
ROAccessReport-009 98b51bc973b1aff696e118a04675e2f1ffb2b51b4b983b15a8d70865c1a177f8
""".strip().splitlines()
    )
}
"""sha256 of each vector at the cited commit."""


# --- llrpkit: an independent implementation -------------------------------------------------


def _requests() -> list[Message]:
    settings_ = commands.AntennaSettings(
        power_index=21, mode_index=1002, session=2, tag_population=64, search_mode=3
    )
    return [
        commands.get_reader_capabilities(1, 1),
        commands.set_reader_config(2, 1, keepalive_ms=2500, report_every_n_tags=100, impinj=True),
        commands.add_rospec(3, 1, [4, 1, 2], settings_, report_every_n_tags=100, impinj=True),
        commands.rospec_command(MessageType.DELETE_ROSPEC, 4, 1, 0),
        commands.rospec_command(MessageType.START_ROSPEC, 5, 1, 1),
        commands.simple(MessageType.KEEPALIVE_ACK, 6, 1),
        commands.simple(MessageType.ENABLE_EVENTS_AND_REPORTS, 7, 1),
        commands.simple(MessageType.GET_ROSPECS, 8, 1),
        commands.impinj_enable_extensions(9, 1),
        commands.simple(MessageType.CLOSE_CONNECTION, 10, 1),
    ]


def test_llrpkit_decodes_every_request_as_meant() -> None:
    decoded = [decode_message(encode_message(m)) for m in _requests()]
    names = [type(m).__name__ for m in decoded]
    assert names == [
        "GET_READER_CAPABILITIES", "SET_READER_CONFIG", "ADD_ROSPEC", "DELETE_ROSPEC",
        "START_ROSPEC", "KEEPALIVE_ACK", "ENABLE_EVENTS_AND_REPORTS", "GET_ROSPECS",
        "IMPINJ_ENABLE_EXTENSIONS", "CLOSE_CONNECTION",
    ]  # fmt: skip
    assert [m.message_id for m in decoded] == list(range(1, 11))
    config = decoded[1]
    assert config.reset_to_factory_default is False
    assert config.keepalive_spec.periodic_trigger_value == 2500
    report = config.ro_report_spec
    assert (int(report.ro_report_trigger), report.n) == (2, 100)
    selector = report.tag_report_content_selector
    assert selector.enable_antenna_id and selector.enable_peak_rssi
    assert selector.enable_first_seen_timestamp and selector.enable_last_seen_timestamp
    assert selector.enable_tag_seen_count and not selector.enable_channel_index
    assert isinstance(report.custom[0], impinj.ImpinjTagReportContentSelector)
    states = {
        int(s.event_type): s.notification_state
        for s in config.reader_event_notification_spec.event_notification_states
    }
    assert states[8] and states[3] and states[4] and not states[0]
    rospec = decoded[2].ro_spec
    assert rospec.ro_spec_id == 1 and int(rospec.current_state) == 0
    assert int(rospec.ro_boundary_spec.ro_spec_start_trigger.ro_spec_start_trigger_type) == 0
    (ai_spec,) = rospec.spec_parameters
    assert list(ai_spec.antenna_ids) == [1, 2, 4]
    (inventory,) = ai_spec.inventory_parameter_specs
    assert [a.antenna_id for a in inventory.antenna_configurations] == [1, 2, 4]
    antenna = inventory.antenna_configurations[0]
    assert antenna.rf_transmitter.transmit_power == 21
    (command,) = antenna.air_protocol_inventory_command_settings
    assert command.c1_g2_rf_control.mode_index == 1002
    assert int(command.c1_g2_singulation_control.session) == 2
    assert command.c1_g2_singulation_control.tag_population == 64
    assert int(command.custom[0].inventory_search_mode) == 3
    assert decoded[3].ro_spec_id == 0 and decoded[4].ro_spec_id == 1


def _llrpkit_messages() -> list[bytes]:
    emulator = LLRPEmulator(antenna_count=4)
    tag = params.TagReportData(
        epc_parameter=params.EPC_96(epc=bytes.fromhex("3074257BF7194E4000001A85")),
        antenna_id=params.AntennaID(antenna_id=3),
        peak_rssi=params.PeakRSSI(peak_rssi=-57),
        channel_index=params.ChannelIndex(channel_index=7),
        first_seen_timestamp_utc=params.FirstSeenTimestampUTC(microseconds=1_772_877_600_100_200),
        last_seen_timestamp_utc=params.LastSeenTimestampUTC(microseconds=1_772_877_600_300_400),
        tag_seen_count=params.TagSeenCount(tag_count=4),
    )
    tag.custom += [
        impinj.ImpinjRFPhaseAngle(phase_angle=1024),
        impinj.ImpinjPeakRSSI(rssi=-5650),
        impinj.ImpinjRFDopplerFrequency(doppler_frequency=-48),
    ]
    long_epc = params.TagReportData(
        epc_parameter=params.EPCData(
            epc=BitStr.from_bytes(bytes.fromhex("E280116060000209A1B2C3D4E5F60718"))
        ),
        antenna_id=params.AntennaID(antenna_id=1),
        peak_rssi=params.PeakRSSI(peak_rssi=-61),
    )
    event = messages.READER_EVENT_NOTIFICATION(
        reader_event_notification_data=params.ReaderEventNotificationData(
            timestamp=params.UTCTimestamp(microseconds=1_772_877_600_000_000),
            antenna_event=params.AntennaEvent(event_type=0, antenna_id=2),
        )
    )
    return [
        emulator._capabilities_response().to_bytes(message_id=11),
        messages.RO_ACCESS_REPORT(tag_report_datas=[tag, long_epc, tag]).to_bytes(message_id=12),
        event.to_bytes(message_id=13),
        messages.ERROR_MESSAGE(
            llrp_status=params.LLRPStatus(
                status_code=StatusCode.M_UnsupportedMessage, error_description="no"
            )
        ).to_bytes(message_id=14),
        messages.KEEPALIVE().to_bytes(message_id=15),
    ]


def test_llrpkit_messages_decode_and_reencode_byte_for_byte() -> None:
    caps_bytes, report_bytes, event_bytes, error_bytes, keepalive = _llrpkit_messages()
    for data in (caps_bytes, report_bytes, event_bytes, error_bytes, keepalive):
        message = our_decode(data)
        assert encode_message(message) == data
        assert all(p.raw is None for p in message.params)
    caps = commands.capabilities_of(our_decode(caps_bytes))
    assert caps.is_impinj and caps.max_antennas == 4 and caps.model == 700
    assert caps.power_table[1] == 10.0 and caps.power_table[21] == 30.0
    assert caps.modes == (0, 1, 2, 3, 1002, 1003) and caps.hop_table_ids == (1,)
    first, long_epc, _ = tag_details(our_decode(report_bytes))
    assert first.epc == "3074257BF7194E4000001A85" and first.antenna == 3
    assert first.peak_rssi_dbm == -56.5  # Impinj centi-dBm wins over PeakRSSI's -57
    assert (first.first_seen_us, first.last_seen_us) == (
        1_772_877_600_100_200,
        1_772_877_600_300_400,
    )
    assert (first.seen_count, first.channel_index, first.phase_angle) == (4, 7, 1024)
    assert first.doppler_hz == -3.0 and first.phase_radians == pytest.approx(3.14159265 / 2)
    assert long_epc.epc == "E280116060000209A1B2C3D4E5F60718" and long_epc.peak_rssi_dbm == -61
    (event,) = reader_events(our_decode(event_bytes))
    assert (event.kind, event.value, event.reader_us) == (
        "antenna_disconnected",
        2,
        1_772_877_600_000_000,
    )
    status = commands.status_of(our_decode(error_bytes))
    assert (status.ok, status.name, status.description) == (False, "M_UnsupportedMessage", "no")


def test_fast_report_path_agrees_with_the_full_decoding() -> None:
    report = _llrpkit_messages()[1]
    reads = ReportDecoder().reads(report, 10, "r", 1_772_877_600_400, 0, 5000).reads
    details = tag_details(our_decode(report))
    assert [(r.epc, r.antenna, r.rssi_dbm) for r in reads] == [
        (d.epc, d.antenna, d.peak_rssi_dbm) for d in details
    ]
    # LastSeen when present, else receive time (the long-EPC tag has no timestamp).
    assert [r.ts_ms for r in reads] == [1_772_877_600_300, 1_772_877_600_400, 1_772_877_600_300]


def test_reader_clock_offset_and_drift() -> None:
    report = _llrpkit_messages()[1]
    decoder = ReportDecoder()
    # The reader's clock is one hour behind: shifted by the offset, the reads keep their spacing.
    late = 3_600_000
    shifted = decoder.reads(report, 10, "r", 1_772_877_600_400 + late, late, 5000)
    assert shifted.reads[0].ts_ms == 1_772_877_600_300 + late
    assert shifted.drift_corrected == 0
    # Without the offset, the same reads are far off: they get the receive time, counted.
    drifted = decoder.reads(report, 10, "r", 1_772_877_600_400 + late, 0, 5000)
    assert [r.ts_ms for r in drifted.reads] == [1_772_877_600_400 + late] * 3
    assert drifted.drift_corrected == 2 and drifted.no_timestamp == 1


def test_a_bad_tag_report_is_skipped_and_the_others_kept() -> None:
    good = encode_param(
        Param(PT.TagReportData, {}, (
            Param(PT.EPC96, {"epc": bytes(range(12))}),
            Param(PT.AntennaID, {"antenna_id": 2}),
            Param(PT.PeakRSSI, {"peak_rssi": -60}),
        ))
    )  # fmt: skip
    no_antenna = encode_param(Param(PT.TagReportData, {}, (Param(PT.EPC96, {"epc": bytes(12)}),)))
    unknown = encode_param(Param(900, raw=b"\x01\x02\x03"))
    broken = bytes.fromhex("00f0 0020 8d00")  # says 32 bytes, has 6
    body = good + no_antenna + unknown + good + broken
    result = ReportDecoder().reads(body, 0, "r", 1000, 0, 5000)
    assert [r.antenna for r in result.reads] == [2, 2]
    assert [e.reason for e in result.errors] == [Malformed.MISSING_PARAMETER, Malformed.BAD_LENGTH]
    assert result.skipped == 1 and result.no_timestamp == 2


def test_unknown_parameters_are_kept_and_skipped_by_length() -> None:
    unknown = Param(901, raw=b"\xaa" * 5)
    vendor = Param(CUSTOM, vendor=4242, subtype=7, raw=b"\x00\x01")
    status = Param(PT.LLRPStatus, {"status_code": 0, "error_description": ""}, (unknown,))
    body = encode_param(status) + encode_param(vendor)
    decoded = decode_params(body)
    assert decoded[0].params == (unknown,) and decoded[1] == vendor
    assert b"".join(encode_param(p) for p in decoded) == body


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (bytes.fromhex("00 1f"), Malformed.TRUNCATED),
        (bytes.fromhex("011f 0002"), Malformed.BAD_LENGTH),
        (bytes.fromhex("011f 0010 0000"), Malformed.TRUNCATED),
        (bytes.fromhex("fe 00"), Malformed.UNKNOWN_TV),
        (bytes.fromhex("011f 0008 0000 0005"), Malformed.TRUNCATED),  # utf8v longer than the param
        (
            bytes.fromhex("00f1 0008 0040 0000"),
            Malformed.TRUNCATED,
        ),  # EPCData of 64 bits in 2 bytes
    ],
    ids=["header", "length-below-4", "length-past-end", "unknown-tv", "utf8v", "u1v"],
)
def test_malformed_parameters_are_refused_by_reason(data: bytes, reason: Malformed) -> None:
    with pytest.raises(LlrpError) as error:
        decode_params(data)
    assert error.value.reason is reason


def test_custom_messages_unknown_and_known() -> None:
    other = Message(MessageType.CUSTOM_MESSAGE, 3, vendor=99, subtype=5, raw=b"xyz")
    assert our_decode(encode_message(other)) == other
    ok = Param(PT.LLRPStatus, {"status_code": 0, "error_description": ""})
    response = Message(MessageType.CUSTOM_MESSAGE, 4, {}, (ok,), vendor=IMPINJ, subtype=22)
    data = encode_message(response)
    assert type(decode_message(data)).__name__ == "IMPINJ_ENABLE_EXTENSIONS_RESPONSE"
    assert commands.status_of(our_decode(data)).ok


# --- hypothesis: every layout round-trips ---------------------------------------------------


def _field_values(spec: tuple[Field, ...]) -> st.SearchStrategy[dict[str, Any]]:
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for item in spec:
        if isinstance(item, Bits):
            for name, width in item.parts:
                parts[name] = st.integers(0, (1 << width) - 1)
            continue
        parts[item.name] = _value(item)
    return st.fixed_dictionaries(parts)


def _value(item: F) -> st.SearchStrategy[Any]:
    kind = item.kind
    if kind == "u96":
        return st.binary(min_size=12, max_size=12)
    if kind in FIXED_SIZES:
        bits = FIXED_SIZES[kind] * 8
        if kind.startswith("s"):
            return st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
        return st.integers(0, (1 << bits) - 1)
    if kind == "u8v":
        return st.binary(max_size=40)
    if kind == "utf8v":
        return st.text(max_size=30)
    if kind == "u1v":
        return st.integers(0, 200).flatmap(
            lambda bits: st.binary(min_size=(bits + 7) // 8, max_size=(bits + 7) // 8).map(
                lambda data: BitString(bits, data)
            )
        )
    width = 16 if kind == "u16v" else 32
    return st.lists(st.integers(0, (1 << width) - 1), max_size=20).map(tuple)


LAYOUTS: list[tuple[int, int, int, tuple[Field, ...]]] = [
    *((t, 0, 0, spec) for t, spec in TV_FIELDS.items()),
    *((t, 0, 0, spec) for t, spec in TLV_FIELDS.items()),
    *((CUSTOM, vendor, subtype, spec) for (vendor, subtype), spec in CUSTOM_FIELDS.items()),
]


@st.composite
def _params(draw: st.DrawFn, depth: int = 0) -> Param:
    type_, vendor, subtype, spec = draw(st.sampled_from(LAYOUTS))
    children: tuple[Param, ...] = ()
    if type_ >= 128 and depth < 2:
        children = tuple(draw(st.lists(_params(depth + 1), max_size=3)))
    return Param(type_, draw(_field_values(spec)), children, vendor, subtype)


@st.composite
def _messages(draw: st.DrawFn) -> Message:
    type_ = draw(st.sampled_from(list(MessageType)))
    params_ = tuple(draw(st.lists(_params(), max_size=4)))
    msg_id = draw(st.integers(0, 2**32 - 1))
    version = draw(st.sampled_from([1, 2]))
    if type_ == MessageType.CUSTOM_MESSAGE:
        raw = b"".join(encode_param(p) for p in params_)
        return Message(
            type_,
            msg_id,
            {},
            (),
            version,
            vendor=draw(st.integers(0, 2**32 - 1)),
            subtype=draw(st.integers(0, 255)),
            raw=raw,
        )
    fields = draw(_field_values(MESSAGE_FIELDS.get(type_, ())))
    return Message(type_, msg_id, fields, params_, version)


@settings(max_examples=500, deadline=None)
@given(_messages())
def test_every_layout_round_trips(message: Message) -> None:
    data = encode_message(message)
    assert our_decode(data) == message
    framer = LlrpFramer()
    assert [f.data for f in framer.feed(data[:3]) + framer.feed(data[3:])] == [data]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.binary(min_size=2, max_size=32).filter(lambda b: len(b) % 2 == 0),
            st.integers(1, 65535),
            st.integers(-128, 127),
            st.none() | st.integers(-32768, 32767),
            st.none() | st.integers(0, 2**63),
            st.booleans(),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_fast_path_equals_full_decoding(
    tags: list[tuple[bytes, int, int, int | None, int | None, bool]],
) -> None:
    """Any mix of EPC lengths, optional Impinj RSSI and timestamps, uniform or not."""
    trds = []
    for epc, antenna, rssi, centi, seen_us, channel in tags:
        children = [
            Param(PT.EPC96, {"epc": epc})
            if len(epc) == 12
            else Param(PT.EPCData, {"epc": BitString(len(epc) * 8, epc)}),
            Param(PT.AntennaID, {"antenna_id": antenna}),
            Param(PT.PeakRSSI, {"peak_rssi": rssi}),
        ]
        if channel:
            children.append(Param(PT.ChannelIndex, {"channel_index": 3}))
        if seen_us is not None:
            children.append(Param(PT.LastSeenTimestampUTC, {"microseconds": seen_us}))
        if centi is not None:
            children.append(
                Param(CUSTOM, {"rssi_centi_dbm": centi}, vendor=IMPINJ, subtype=Impinj.PeakRSSI)
            )
        trds.append(Param(PT.TagReportData, {}, tuple(children)))
    body = b"".join(encode_param(p) for p in trds)
    received_ms = 1_772_877_600_000
    decoder = ReportDecoder()
    for _ in range(2):  # learnt layouts must give the same answer
        result = decoder.reads(body, 0, "r", received_ms, 0, 2**62)
        details = tag_details(decode_body(MessageType.RO_ACCESS_REPORT, body))
        assert [(r.epc, r.antenna, r.rssi_dbm) for r in result.reads] == [
            (d.epc, d.antenna, d.peak_rssi_dbm) for d in details
        ]
        assert [r.ts_ms for r in result.reads] == [
            received_ms if d.last_seen_us is None else d.last_seen_us // 1000 for d in details
        ]


@pytest.mark.parametrize("cut", range(1, 40))
def test_the_framer_handles_any_split(cut: int) -> None:
    stream = b"".join(encode_message(m) for m in _requests()[:3])
    framer = LlrpFramer()
    frames = []
    for start in range(0, len(stream), cut):
        frames += framer.feed(stream[start : start + cut])
    assert [f.data for f in frames] == [encode_message(m) for m in _requests()[:3]]
    assert [(f.type, f.id) for f in frames] == [(1, 1), (3, 2), (20, 3)]
    assert framer.pending == 0


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (bytes.fromhex("0401 00000005 00000001"), Malformed.BAD_LENGTH),
        (bytes.fromhex("0401 7fffffff 00000001"), Malformed.BAD_LENGTH),
        (b"GET / HTTP/1.1\r\n\r\n", Malformed.BAD_VERSION),
        (bytes.fromhex("1c01 0000000a 00000001"), Malformed.BAD_VERSION),
    ],
    ids=["below-header", "oversized", "http", "version-7"],
)
def test_the_framer_refuses_what_cannot_be_llrp(data: bytes, reason: Malformed) -> None:
    framer = LlrpFramer(max_message_bytes=1 << 20)
    good = encode_message(_requests()[0])
    assert framer.feed(good) != []
    with pytest.raises(LlrpError) as error:
        framer.feed(data)
    assert error.value.reason is reason
