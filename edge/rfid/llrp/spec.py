"""LLRP numbers and layouts, written from the EPCglobal "Low Level Reader Protocol (LLRP)"
specification, version 1.0.1 (2007) and 1.1 (2010), and Impinj's "Octane LLRP" reference for
the vendor extensions (IANA private enterprise number 25882).

Names below are the specification's message and parameter names (its "Binary Encoding"
part: messages, then parameters, then the Class 1 Gen 2 air protocol parameters).

- A message is a 10-byte header -- 3 bits reserved, 3 bits version
  (1 = 1.0.1, 2 = 1.1), 10 bits message type, a 32-bit length that counts the header, a
  32-bit message id -- then the message's fields, then its parameters.
- A TLV parameter starts with 6 reserved bits, a 10-bit type (128..1023)
  and a 16-bit length that counts its own 4-byte header; a TV parameter is one byte
  ``0x80 | type`` (type 1..127) followed by a value whose size the type fixes.
- Vectors: ``u8v``/``u16v``/``u32v``/``utf8v`` carry a 16-bit element count first; ``u1v`` a
  16-bit *bit* count, then ceil(bits / 8) bytes; ``u96`` is 12 bytes (EPC-96).
- Fields always precede sub-parameters; reserved bits are kept in ``reserved*`` fields so
  that a decoded message re-encodes to the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

HEADER_LEN: Final = 10
PARAM_HEADER_LEN: Final = 4
VERSION_1_0_1: Final = 1
VERSION_1_1: Final = 2
IMPINJ: Final = 25882
"""Impinj's IANA private enterprise number: the vendor id of its custom messages/parameters."""
CUSTOM: Final = 1023
"""Message type of CUSTOM_MESSAGE and parameter type of Custom."""


@dataclass(frozen=True, slots=True)
class F:
    """One field: ``kind`` is u8 u16 u32 u64 s8 s16 s32 u8v u16v u32v utf8v u1v u96."""

    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class Bits:
    """``nbytes`` bytes split MSB first into named bit fields (widths add up to 8*nbytes)."""

    nbytes: int
    parts: tuple[tuple[str, int], ...]


Field = F | Bits


def _r(nbytes: int, *parts: tuple[str, int]) -> Bits:
    used = sum(width for _, width in parts)
    rest = nbytes * 8 - used
    return Bits(nbytes, (*parts, ("reserved", rest)) if rest else parts)


class MessageType(IntEnum):
    GET_READER_CAPABILITIES = 1
    GET_READER_CONFIG = 2
    SET_READER_CONFIG = 3
    CLOSE_CONNECTION_RESPONSE = 4
    GET_READER_CAPABILITIES_RESPONSE = 11
    GET_READER_CONFIG_RESPONSE = 12
    SET_READER_CONFIG_RESPONSE = 13
    CLOSE_CONNECTION = 14
    ADD_ROSPEC = 20
    DELETE_ROSPEC = 21
    START_ROSPEC = 22
    STOP_ROSPEC = 23
    ENABLE_ROSPEC = 24
    DISABLE_ROSPEC = 25
    GET_ROSPECS = 26
    ADD_ROSPEC_RESPONSE = 30
    DELETE_ROSPEC_RESPONSE = 31
    START_ROSPEC_RESPONSE = 32
    STOP_ROSPEC_RESPONSE = 33
    ENABLE_ROSPEC_RESPONSE = 34
    DISABLE_ROSPEC_RESPONSE = 35
    GET_ROSPECS_RESPONSE = 36
    ADD_ACCESSSPEC = 40
    DELETE_ACCESSSPEC = 41
    ENABLE_ACCESSSPEC = 42
    DISABLE_ACCESSSPEC = 43
    GET_ACCESSSPECS = 44
    CLIENT_REQUEST_OP = 45
    GET_SUPPORTED_VERSION = 46
    SET_PROTOCOL_VERSION = 47
    ADD_ACCESSSPEC_RESPONSE = 50
    DELETE_ACCESSSPEC_RESPONSE = 51
    ENABLE_ACCESSSPEC_RESPONSE = 52
    DISABLE_ACCESSSPEC_RESPONSE = 53
    GET_ACCESSSPECS_RESPONSE = 54
    CLIENT_REQUEST_OP_RESPONSE = 55
    GET_SUPPORTED_VERSION_RESPONSE = 56
    SET_PROTOCOL_VERSION_RESPONSE = 57
    GET_REPORT = 60
    RO_ACCESS_REPORT = 61
    KEEPALIVE = 62
    READER_EVENT_NOTIFICATION = 63
    ENABLE_EVENTS_AND_REPORTS = 64
    KEEPALIVE_ACK = 72
    ERROR_MESSAGE = 100
    CUSTOM_MESSAGE = 1023


_ROSPEC_ID = (F("u32", "rospec_id"),)
_ACCESSSPEC_ID = (F("u32", "accessspec_id"),)

MESSAGE_FIELDS: Final[dict[int, tuple[Field, ...]]] = {
    MessageType.GET_READER_CAPABILITIES: (F("u8", "requested_data"),),
    MessageType.GET_READER_CONFIG: (
        F("u16", "antenna_id"),
        F("u8", "requested_data"),
        F("u16", "gpi_port_num"),
        F("u16", "gpo_port_num"),
    ),
    MessageType.SET_READER_CONFIG: (_r(1, ("reset_to_factory_default", 1)),),
    MessageType.DELETE_ROSPEC: _ROSPEC_ID,
    MessageType.START_ROSPEC: _ROSPEC_ID,
    MessageType.STOP_ROSPEC: _ROSPEC_ID,
    MessageType.ENABLE_ROSPEC: _ROSPEC_ID,
    MessageType.DISABLE_ROSPEC: _ROSPEC_ID,
    MessageType.DELETE_ACCESSSPEC: _ACCESSSPEC_ID,
    MessageType.ENABLE_ACCESSSPEC: _ACCESSSPEC_ID,
    MessageType.DISABLE_ACCESSSPEC: _ACCESSSPEC_ID,
    MessageType.SET_PROTOCOL_VERSION: (F("u8", "protocol_version"),),
    MessageType.GET_SUPPORTED_VERSION_RESPONSE: (
        F("u8", "current_version"),
        F("u8", "supported_version"),
    ),
}
"""Fields of each message type; a type not listed has none (only parameters)."""

CUSTOM_MESSAGE_FIELDS: Final[dict[tuple[int, int], tuple[Field, ...]]] = {
    (IMPINJ, 21): (F("u32", "reserved"),),  # IMPINJ_ENABLE_EXTENSIONS
    (IMPINJ, 22): (),  # IMPINJ_ENABLE_EXTENSIONS_RESPONSE: LLRPStatus
}
"""(vendor, subtype) -> fields of custom messages we know; the rest keep their data raw."""

IMPINJ_ENABLE_EXTENSIONS: Final = 21
IMPINJ_ENABLE_EXTENSIONS_RESPONSE: Final = 22


class P(IntEnum):
    """Parameter types (TV: 1..127, TLV: 128..1023)."""

    AntennaID = 1
    FirstSeenTimestampUTC = 2
    FirstSeenTimestampUptime = 3
    LastSeenTimestampUTC = 4
    LastSeenTimestampUptime = 5
    PeakRSSI = 6
    ChannelIndex = 7
    TagSeenCount = 8
    ROSpecID = 9
    InventoryParameterSpecID = 10
    C1G2CRC = 11
    C1G2PC = 12
    EPC96 = 13
    SpecIndex = 14
    ClientRequestOpSpecResult = 15
    AccessSpecID = 16
    OpSpecID = 17
    C1G2SingulationDetails = 18
    C1G2XPCW1 = 19
    C1G2XPCW2 = 20
    UTCTimestamp = 128
    Uptime = 129
    GeneralDeviceCapabilities = 137
    MaximumReceiveSensitivity = 363
    ReceiveSensitivityTableEntry = 139
    PerAntennaAirProtocol = 140
    GPIOCapabilities = 141
    LLRPCapabilities = 142
    RegulatoryCapabilities = 143
    UHFBandCapabilities = 144
    TransmitPowerLevelTableEntry = 145
    FrequencyInformation = 146
    FrequencyHopTable = 147
    FixedFrequencyTable = 148
    PerAntennaReceiveSensitivityRange = 149
    ROSpec = 177
    ROBoundarySpec = 178
    ROSpecStartTrigger = 179
    PeriodicTriggerValue = 180
    GPITriggerValue = 181
    ROSpecStopTrigger = 182
    AISpec = 183
    AISpecStopTrigger = 184
    TagObservationTrigger = 185
    InventoryParameterSpec = 186
    RFSurveySpec = 187
    RFSurveySpecStopTrigger = 188
    AccessSpec = 207
    AccessSpecStopTrigger = 208
    AccessCommand = 209
    ClientRequestOpSpec = 210
    ClientRequestResponse = 211
    LLRPConfigurationStateValue = 217
    Identification = 218
    GPOWriteData = 219
    KeepaliveSpec = 220
    AntennaProperties = 221
    AntennaConfiguration = 222
    RFReceiver = 223
    RFTransmitter = 224
    GPIPortCurrentState = 225
    EventsAndReports = 226
    ROReportSpec = 237
    TagReportContentSelector = 238
    AccessReportSpec = 239
    TagReportData = 240
    EPCData = 241
    RFSurveyReportData = 242
    FrequencyRSSILevelEntry = 243
    ReaderEventNotificationSpec = 244
    EventNotificationState = 245
    ReaderEventNotificationData = 246
    HoppingEvent = 247
    GPIEvent = 248
    ROSpecEvent = 249
    ReportBufferLevelWarningEvent = 250
    ReportBufferOverflowErrorEvent = 251
    ReaderExceptionEvent = 252
    RFSurveyEvent = 253
    AISpecEvent = 254
    AntennaEvent = 255
    ConnectionAttemptEvent = 256
    ConnectionCloseEvent = 257
    LLRPStatus = 287
    FieldError = 288
    ParameterError = 289
    C1G2LLRPCapabilities = 327
    C1G2UHFRFModeTable = 328
    C1G2UHFRFModeTableEntry = 329
    C1G2InventoryCommand = 330
    C1G2Filter = 331
    C1G2TagInventoryMask = 332
    C1G2TagInventoryStateAwareFilterAction = 333
    C1G2TagInventoryStateUnawareFilterAction = 334
    C1G2RFControl = 335
    C1G2SingulationControl = 336
    C1G2TagInventoryStateAwareSingulationAction = 337
    C1G2TagSpec = 338
    C1G2TargetTag = 339
    C1G2Read = 341
    C1G2Write = 342
    C1G2Kill = 343
    C1G2Lock = 344
    C1G2LockPayload = 345
    C1G2BlockErase = 346
    C1G2BlockWrite = 347
    C1G2EPCMemorySelector = 348
    C1G2ReadOpSpecResult = 349
    C1G2WriteOpSpecResult = 350
    C1G2KillOpSpecResult = 351
    C1G2LockOpSpecResult = 352
    C1G2BlockEraseOpSpecResult = 353
    C1G2BlockWriteOpSpecResult = 354
    LoopSpec = 355
    SpecLoopEvent = 356
    Custom = 1023


TV_FIELDS: Final[dict[int, tuple[F, ...]]] = {
    P.AntennaID: (F("u16", "antenna_id"),),
    P.FirstSeenTimestampUTC: (F("u64", "microseconds"),),
    P.FirstSeenTimestampUptime: (F("u64", "microseconds"),),
    P.LastSeenTimestampUTC: (F("u64", "microseconds"),),
    P.LastSeenTimestampUptime: (F("u64", "microseconds"),),
    P.PeakRSSI: (F("s8", "peak_rssi"),),
    P.ChannelIndex: (F("u16", "channel_index"),),
    P.TagSeenCount: (F("u16", "tag_count"),),
    P.ROSpecID: (F("u32", "rospec_id"),),
    P.InventoryParameterSpecID: (F("u16", "inventory_parameter_spec_id"),),
    P.C1G2CRC: (F("u16", "crc"),),
    P.C1G2PC: (F("u16", "pc_bits"),),
    P.EPC96: (F("u96", "epc"),),
    P.SpecIndex: (F("u16", "spec_index"),),
    P.ClientRequestOpSpecResult: (F("u16", "op_spec_id"),),
    P.AccessSpecID: (F("u32", "accessspec_id"),),
    P.OpSpecID: (F("u16", "op_spec_id"),),
    P.C1G2SingulationDetails: (F("u16", "num_collision_slots"), F("u16", "num_empty_slots")),
    P.C1G2XPCW1: (F("u16", "xpc_w1"),),
    P.C1G2XPCW2: (F("u16", "xpc_w2"),),
}
"""Every TV parameter (general and Class 1 Gen 2 ones): a TV value's size is fixed by
its type, so an unknown TV type cannot be skipped."""

FIXED_SIZES: Final = {"u8": 1, "s8": 1, "u16": 2, "s16": 2, "u32": 4, "s32": 4, "u64": 8, "u96": 12}
TV_SIZES: Final[dict[int, int]] = {
    t: sum(FIXED_SIZES[f.kind] for f in fields) for t, fields in TV_FIELDS.items()
}
"""Bytes after the type byte, per TV type."""

_MB = ("mb", 2)
_OP = (F("u16", "op_spec_id"), F("u32", "access_password"))
_RESULT = (F("u8", "result"), F("u16", "op_spec_id"))

TLV_FIELDS: Final[dict[int, tuple[Field, ...]]] = {
    P.UTCTimestamp: (F("u64", "microseconds"),),
    P.Uptime: (F("u64", "microseconds"),),
    P.GeneralDeviceCapabilities: (
        F("u16", "max_number_of_antenna_supported"),
        _r(2, ("can_set_antenna_properties", 1), ("has_utc_clock_capability", 1)),
        F("u32", "device_manufacturer_name"),
        F("u32", "model_name"),
        F("utf8v", "reader_firmware_version"),
    ),
    P.MaximumReceiveSensitivity: (F("s16", "maximum_sensitivity_value"),),
    P.ReceiveSensitivityTableEntry: (F("u16", "index"), F("s16", "receive_sensitivity_value")),
    P.PerAntennaAirProtocol: (F("u16", "antenna_id"), F("u8v", "protocol_ids")),
    P.GPIOCapabilities: (F("u16", "num_gpis"), F("u16", "num_gpos")),
    P.LLRPCapabilities: (
        _r(
            1,
            ("can_do_rf_survey", 1),
            ("can_report_buffer_fill_warning", 1),
            ("supports_client_request_op_spec", 1),
            ("can_do_tag_inventory_state_aware_singulation", 1),
            ("supports_event_and_report_holding", 1),
        ),
        F("u8", "max_num_priority_levels_supported"),
        F("u16", "client_request_op_spec_timeout"),
        F("u32", "max_num_rospecs"),
        F("u32", "max_num_specs_per_rospec"),
        F("u32", "max_num_inventory_parameter_specs_per_aispec"),
        F("u32", "max_num_accessspecs"),
        F("u32", "max_num_op_specs_per_accessspec"),
    ),
    P.RegulatoryCapabilities: (F("u16", "country_code"), F("u16", "communications_standard")),
    P.UHFBandCapabilities: (),
    P.TransmitPowerLevelTableEntry: (F("u16", "index"), F("s16", "transmit_power_value")),
    P.FrequencyInformation: (_r(1, ("hopping", 1)),),
    P.FrequencyHopTable: (F("u8", "hop_table_id"), F("u8", "reserved"), F("u32v", "frequencies")),
    P.FixedFrequencyTable: (F("u32v", "frequencies"),),
    P.PerAntennaReceiveSensitivityRange: (
        F("u16", "antenna_id"),
        F("u16", "receive_sensitivity_index_min"),
        F("u16", "receive_sensitivity_index_max"),
    ),
    P.ROSpec: (F("u32", "rospec_id"), F("u8", "priority"), F("u8", "current_state")),
    P.ROBoundarySpec: (),
    P.ROSpecStartTrigger: (F("u8", "trigger_type"),),
    P.PeriodicTriggerValue: (F("u32", "offset"), F("u32", "period")),
    P.GPITriggerValue: (F("u16", "gpi_port_num"), _r(1, ("gpi_event", 1)), F("u32", "timeout")),
    P.ROSpecStopTrigger: (F("u8", "trigger_type"), F("u32", "duration_trigger_value")),
    P.AISpec: (F("u16v", "antenna_ids"),),
    P.AISpecStopTrigger: (F("u8", "trigger_type"), F("u32", "duration_trigger")),
    P.TagObservationTrigger: (
        F("u8", "trigger_type"),
        F("u8", "reserved"),
        F("u16", "number_of_tags"),
        F("u16", "number_of_attempts"),
        F("u16", "t"),
        F("u32", "timeout"),
    ),
    P.InventoryParameterSpec: (F("u16", "inventory_parameter_spec_id"), F("u8", "protocol_id")),
    P.RFSurveySpec: (
        F("u16", "antenna_id"),
        F("u32", "start_frequency"),
        F("u32", "end_frequency"),
    ),
    P.RFSurveySpecStopTrigger: (F("u8", "trigger_type"), F("u32", "duration"), F("u32", "n")),
    P.AccessSpec: (
        F("u32", "accessspec_id"),
        F("u16", "antenna_id"),
        F("u8", "protocol_id"),
        _r(1, ("current_state", 1)),
        F("u32", "rospec_id"),
    ),
    P.AccessSpecStopTrigger: (F("u8", "trigger_type"), F("u16", "operation_count_value")),
    P.AccessCommand: (),
    P.ClientRequestOpSpec: (F("u16", "op_spec_id"),),
    P.ClientRequestResponse: (F("u32", "accessspec_id"),),
    P.LLRPConfigurationStateValue: (F("u32", "state_value"),),
    P.Identification: (F("u8", "id_type"), F("u8v", "reader_id")),
    P.GPOWriteData: (F("u16", "gpo_port_number"), _r(1, ("gpo_data", 1))),
    P.KeepaliveSpec: (F("u8", "trigger_type"), F("u32", "periodic_trigger_value")),
    P.AntennaProperties: (
        _r(1, ("antenna_connected", 1)),
        F("u16", "antenna_id"),
        F("s16", "antenna_gain"),
    ),
    P.AntennaConfiguration: (F("u16", "antenna_id"),),
    P.RFReceiver: (F("u16", "receiver_sensitivity"),),
    P.RFTransmitter: (
        F("u16", "hop_table_id"),
        F("u16", "channel_index"),
        F("u16", "transmit_power"),
    ),
    P.GPIPortCurrentState: (F("u16", "gpi_port_num"), _r(1, ("config", 1)), F("u8", "state")),
    P.EventsAndReports: (_r(1, ("hold_events_and_reports_upon_reconnect", 1)),),
    P.ROReportSpec: (F("u8", "trigger"), F("u16", "n")),
    P.TagReportContentSelector: (
        _r(
            2,
            ("enable_rospec_id", 1),
            ("enable_spec_index", 1),
            ("enable_inventory_parameter_spec_id", 1),
            ("enable_antenna_id", 1),
            ("enable_channel_index", 1),
            ("enable_peak_rssi", 1),
            ("enable_first_seen_timestamp", 1),
            ("enable_last_seen_timestamp", 1),
            ("enable_tag_seen_count", 1),
            ("enable_accessspec_id", 1),
        ),
    ),
    P.AccessReportSpec: (F("u8", "trigger"),),
    P.TagReportData: (),
    P.EPCData: (F("u1v", "epc"),),
    P.RFSurveyReportData: (),
    P.FrequencyRSSILevelEntry: (
        F("u32", "frequency"),
        F("u32", "bandwidth"),
        F("s8", "average_rssi"),
        F("s8", "peak_rssi"),
    ),
    P.ReaderEventNotificationSpec: (),
    P.EventNotificationState: (F("u16", "event_type"), _r(1, ("notification_state", 1))),
    P.ReaderEventNotificationData: (),
    P.HoppingEvent: (F("u16", "hop_table_id"), F("u16", "next_channel_index")),
    P.GPIEvent: (F("u16", "gpi_port_number"), _r(1, ("gpi_event", 1))),
    P.ROSpecEvent: (
        F("u8", "event_type"),
        F("u32", "rospec_id"),
        F("u32", "preempting_rospec_id"),
    ),
    P.ReportBufferLevelWarningEvent: (F("u8", "report_buffer_percentage_full"),),
    P.ReportBufferOverflowErrorEvent: (),
    P.ReaderExceptionEvent: (F("utf8v", "message"),),
    P.RFSurveyEvent: (F("u8", "event_type"), F("u32", "rospec_id"), F("u16", "spec_index")),
    P.AISpecEvent: (F("u8", "event_type"), F("u32", "rospec_id"), F("u16", "spec_index")),
    P.AntennaEvent: (F("u8", "event_type"), F("u16", "antenna_id")),
    P.ConnectionAttemptEvent: (F("u16", "status"),),
    P.ConnectionCloseEvent: (),
    P.LLRPStatus: (F("u16", "status_code"), F("utf8v", "error_description")),
    P.FieldError: (F("u16", "field_num"), F("u16", "error_code")),
    P.ParameterError: (F("u16", "parameter_type"), F("u16", "error_code")),
    P.C1G2LLRPCapabilities: (
        _r(
            1,
            ("can_support_block_erase", 1),
            ("can_support_block_write", 1),
            ("can_support_block_permalock", 1),
            ("can_support_tag_recommissioning", 1),
            ("can_support_umi_method2", 1),
            ("can_support_xpc", 1),
        ),
        F("u16", "max_num_select_filters_per_query"),
    ),
    P.C1G2UHFRFModeTable: (),
    P.C1G2UHFRFModeTableEntry: (
        F("u32", "mode_identifier"),
        _r(1, ("dr_value", 1), ("epc_hag_tc_conformance", 1)),
        F("u8", "m_value"),
        F("u8", "forward_link_modulation"),
        F("u8", "spectral_mask_indicator"),
        F("u32", "bdr_value"),
        F("u32", "pie_value"),
        F("u32", "min_tari_value"),
        F("u32", "max_tari_value"),
        F("u32", "step_tari_value"),
    ),
    P.C1G2InventoryCommand: (_r(1, ("tag_inventory_state_aware", 1)),),
    P.C1G2Filter: (_r(1, ("t", 2)),),
    P.C1G2TagInventoryMask: (_r(1, _MB), F("u16", "pointer"), F("u1v", "tag_mask")),
    P.C1G2TagInventoryStateAwareFilterAction: (F("u8", "target"), F("u8", "action")),
    P.C1G2TagInventoryStateUnawareFilterAction: (F("u8", "action"),),
    P.C1G2RFControl: (F("u16", "mode_index"), F("u16", "tari")),
    P.C1G2SingulationControl: (
        _r(1, ("session", 2)),
        F("u16", "tag_population"),
        F("u32", "tag_transit_time"),
    ),
    P.C1G2TagInventoryStateAwareSingulationAction: (_r(1, ("i", 1), ("s", 1)),),
    P.C1G2TagSpec: (),
    P.C1G2TargetTag: (
        _r(1, _MB, ("match", 1)),
        F("u16", "pointer"),
        F("u1v", "tag_mask"),
        F("u1v", "tag_data"),
    ),
    P.C1G2Read: (*_OP, _r(1, _MB), F("u16", "word_pointer"), F("u16", "word_count")),
    P.C1G2Write: (*_OP, _r(1, _MB), F("u16", "word_pointer"), F("u16v", "write_data")),
    P.C1G2Kill: (F("u16", "op_spec_id"), F("u32", "kill_password")),
    P.C1G2Lock: _OP,
    P.C1G2LockPayload: (F("u8", "privilege"), F("u8", "data_field")),
    P.C1G2BlockErase: (*_OP, _r(1, _MB), F("u16", "word_pointer"), F("u16", "word_count")),
    P.C1G2BlockWrite: (*_OP, _r(1, _MB), F("u16", "word_pointer"), F("u16v", "write_data")),
    P.C1G2EPCMemorySelector: (_r(1, ("enable_crc", 1), ("enable_pc_bits", 1), ("enable_xpc", 1)),),
    P.C1G2ReadOpSpecResult: (*_RESULT, F("u16v", "read_data")),
    P.C1G2WriteOpSpecResult: (*_RESULT, F("u16", "num_words_written")),
    P.C1G2KillOpSpecResult: _RESULT,
    P.C1G2LockOpSpecResult: _RESULT,
    P.C1G2BlockEraseOpSpecResult: _RESULT,
    P.C1G2BlockWriteOpSpecResult: (*_RESULT, F("u16", "num_words_written")),
    P.LoopSpec: (F("u32", "loop_count"),),
    P.SpecLoopEvent: (F("u32", "rospec_id"), F("u32", "loop_count")),
}
"""Fields of every TLV parameter the codec knows; any other type is kept as raw bytes."""


class Impinj(IntEnum):
    """Subtypes of Impinj's custom parameters (Octane LLRP reference)."""

    RequestedData = 21
    InventorySearchMode = 23
    TagReportContentSelector = 50
    EnableSerializedTID = 51
    EnableRFPhaseAngle = 52
    EnablePeakRSSI = 53
    EnableGPSCoordinates = 54
    SerializedTID = 55
    RFPhaseAngle = 56
    PeakRSSI = 57
    EnableOptimizedRead = 65
    EnableRFDopplerFrequency = 67
    RFDopplerFrequency = 68


CUSTOM_FIELDS: Final[dict[tuple[int, int], tuple[Field, ...]]] = {
    (IMPINJ, Impinj.RequestedData): (F("u32", "requested_data"),),
    (IMPINJ, Impinj.InventorySearchMode): (F("u16", "inventory_search_mode"),),
    (IMPINJ, Impinj.TagReportContentSelector): (),
    (IMPINJ, Impinj.EnableSerializedTID): (F("u16", "mode"),),
    (IMPINJ, Impinj.EnableRFPhaseAngle): (F("u16", "mode"),),
    (IMPINJ, Impinj.EnablePeakRSSI): (F("u16", "mode"),),
    (IMPINJ, Impinj.EnableGPSCoordinates): (F("u16", "mode"),),
    (IMPINJ, Impinj.SerializedTID): (F("u16v", "tid"),),
    (IMPINJ, Impinj.RFPhaseAngle): (F("u16", "phase_angle"),),
    (IMPINJ, Impinj.PeakRSSI): (F("s16", "rssi_centi_dbm"),),
    (IMPINJ, Impinj.EnableOptimizedRead): (F("u16", "mode"),),
    (IMPINJ, Impinj.EnableRFDopplerFrequency): (F("u16", "mode"),),
    (IMPINJ, Impinj.RFDopplerFrequency): (F("s16", "doppler_frequency"),),
}
"""(vendor, subtype) -> fields of the custom parameters we know; others keep raw data."""


class StatusCode(IntEnum):
    """LLRPStatus codes."""

    M_Success = 0
    M_ParameterError = 100
    M_FieldError = 101
    M_UnexpectedParameter = 102
    M_MissingParameter = 103
    M_DuplicateParameter = 104
    M_OverflowParameter = 105
    M_OverflowField = 106
    M_UnknownParameter = 107
    M_UnknownField = 108
    M_UnsupportedMessage = 109
    M_UnsupportedVersion = 110
    M_UnsupportedParameter = 111
    M_UnexpectedMessage = 112
    P_ParameterError = 200
    P_FieldError = 201
    P_UnexpectedParameter = 202
    P_MissingParameter = 203
    P_DuplicateParameter = 204
    P_OverflowParameter = 205
    P_OverflowField = 206
    P_UnknownParameter = 207
    P_UnknownField = 208
    P_UnsupportedParameter = 209
    A_Invalid = 300
    A_OutOfRange = 301
    R_DeviceError = 401


class ConnectionAttemptStatus(IntEnum):
    Success = 0
    Failed_Reader_Initiated_Connection_Already_Exists = 1
    Failed_Client_Initiated_Connection_Already_Exists = 2
    Failed_Any_Other_Reason = 3
    Another_Connection_Attempted = 4


class EventType(IntEnum):
    """EventNotificationState event types."""

    Upon_Hopping_To_Next_Channel = 0
    GPI_Event = 1
    ROSpec_Event = 2
    Report_Buffer_Fill_Warning = 3
    Reader_Exception_Event = 4
    RFSurvey_Event = 5
    AISpec_Event = 6
    AISpec_Event_With_Details = 7
    Antenna_Event = 8
    SpecLoop_Event = 9


class ROSpecStartTriggerType(IntEnum):
    Null = 0
    Immediate = 1
    Periodic = 2
    GPI = 3


class ROSpecStopTriggerType(IntEnum):
    Null = 0
    Duration = 1
    GPI_With_Timeout = 2


class AISpecStopTriggerType(IntEnum):
    Null = 0
    Duration = 1
    GPI_With_Timeout = 2
    Tag_Observation = 3


class ROReportTriggerType(IntEnum):
    Null = 0
    Upon_N_Tags_Or_End_Of_AISpec = 1
    Upon_N_Tags_Or_End_Of_ROSpec = 2
    Upon_N_Seconds = 3  # LLRP 1.1
    Upon_N_Seconds_Or_End_Of_ROSpec = 4  # LLRP 1.1
    Upon_N_Milliseconds = 5  # LLRP 1.1


class KeepaliveTriggerType(IntEnum):
    Null = 0
    Periodic = 1


class AntennaEventType(IntEnum):
    Antenna_Disconnected = 0
    Antenna_Connected = 1


class GetReaderCapabilitiesRequestedData(IntEnum):
    All = 0
    General_Device_Capabilities = 1
    LLRP_Capabilities = 2
    Regulatory_Capabilities = 3
    LLRP_Air_Protocol_Capabilities = 4


class AirProtocol(IntEnum):
    Unspecified = 0
    EPCGlobalClass1Gen2 = 1
