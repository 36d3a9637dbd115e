"""What an LLRP client sends, and what it reads from the answers (pure: messages in and out).

The requests follow the specification's message and parameter definitions (listed in
docs/readers.md); the choices a store reader needs -- which events, what each tag report
carries, one ROSpec for the configured antennas -- are made here, once, so that the driver
only sequences them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from edge.rfid.llrp.codec import Message, Param, walk
from edge.rfid.llrp.spec import (
    CUSTOM,
    IMPINJ,
    IMPINJ_ENABLE_EXTENSIONS,
    AirProtocol,
    AISpecStopTriggerType,
    EventType,
    GetReaderCapabilitiesRequestedData,
    Impinj,
    KeepaliveTriggerType,
    MessageType,
    ROReportTriggerType,
    ROSpecStartTriggerType,
    ROSpecStopTriggerType,
    StatusCode,
)
from edge.rfid.llrp.spec import P as PT

ROSPEC_ID = 1
"""The one ROSpec this client adds (ids are per connection; 0 means "all" in commands)."""
INVENTORY_PARAMETER_SPEC_ID = 1


def _msg(
    type_: MessageType,
    msg_id: int,
    version: int,
    fields: Mapping[str, int] | None = None,
    params: tuple[Param, ...] = (),
) -> Message:
    return Message(type_, msg_id, dict(fields or {}), params, version)


def get_supported_version(msg_id: int) -> Message:
    """GET_SUPPORTED_VERSION (LLRP 1.1 only), sent with version 2; 1.0.1 readers answer
    ERROR_MESSAGE."""
    return _msg(MessageType.GET_SUPPORTED_VERSION, msg_id, 2)


def set_protocol_version(msg_id: int, version: int) -> Message:
    return _msg(MessageType.SET_PROTOCOL_VERSION, msg_id, 2, {"protocol_version": version})


def get_reader_capabilities(msg_id: int, version: int) -> Message:
    return _msg(
        MessageType.GET_READER_CAPABILITIES,
        msg_id,
        version,
        {"requested_data": GetReaderCapabilitiesRequestedData.All},
    )


def rospec_command(type_: MessageType, msg_id: int, version: int, rospec_id: int) -> Message:
    """DELETE/START/STOP/ENABLE/DISABLE_ROSPEC; id 0 means all ROSpecs."""
    return _msg(type_, msg_id, version, {"rospec_id": rospec_id})


def simple(type_: MessageType, msg_id: int, version: int) -> Message:
    """A message without fields: GET_ROSPECS, KEEPALIVE_ACK, ENABLE_EVENTS_AND_REPORTS,
    CLOSE_CONNECTION."""
    return _msg(type_, msg_id, version)


def impinj_enable_extensions(msg_id: int, version: int) -> Message:
    """Impinj's IMPINJ_ENABLE_EXTENSIONS custom message: without it an Impinj reader refuses
    Impinj custom parameters (peak RSSI in centi-dBm, RF phase, Doppler)."""
    return Message(
        MessageType.CUSTOM_MESSAGE,
        msg_id,
        {"reserved": 0},
        (),
        version,
        vendor=IMPINJ,
        subtype=IMPINJ_ENABLE_EXTENSIONS,
    )


def _custom(subtype: Impinj, params: tuple[Param, ...] = (), **fields: int) -> Param:
    return Param(CUSTOM, fields, params, vendor=IMPINJ, subtype=subtype)


EVENTS_ON = (
    EventType.ROSpec_Event,
    EventType.Report_Buffer_Fill_Warning,
    EventType.Reader_Exception_Event,
    EventType.Antenna_Event,
)
"""Reader events the client asks for (ReaderEventNotificationSpec); the others
(hopping, GPI, AISpec, RF survey) are switched off so they do not crowd the link."""
EVENTS_OFF = (
    EventType.Upon_Hopping_To_Next_Channel,
    EventType.GPI_Event,
    EventType.RFSurvey_Event,
    EventType.AISpec_Event,
    EventType.AISpec_Event_With_Details,
)


def ro_report_spec(report_every_n_tags: int, impinj: bool) -> Param:
    """ROReportSpec: a report every N tags (or at the end of the ROSpec), each
    TagReportData with antenna, peak RSSI, first/last seen and seen count; with Impinj
    extensions also peak RSSI in centi-dBm, RF phase angle and Doppler frequency."""
    selector = Param(
        PT.TagReportContentSelector,
        {
            "enable_rospec_id": 0,
            "enable_spec_index": 0,
            "enable_inventory_parameter_spec_id": 0,
            "enable_antenna_id": 1,
            "enable_channel_index": 0,
            "enable_peak_rssi": 1,
            "enable_first_seen_timestamp": 1,
            "enable_last_seen_timestamp": 1,
            "enable_tag_seen_count": 1,
            "enable_accessspec_id": 0,
        },
    )
    params: tuple[Param, ...] = (selector,)
    if impinj:
        params += (
            _custom(
                Impinj.TagReportContentSelector,
                (
                    _custom(Impinj.EnableRFPhaseAngle, mode=1),
                    _custom(Impinj.EnablePeakRSSI, mode=1),
                    _custom(Impinj.EnableRFDopplerFrequency, mode=1),
                ),
            ),
        )
    return Param(
        PT.ROReportSpec,
        {"trigger": ROReportTriggerType.Upon_N_Tags_Or_End_Of_ROSpec, "n": report_every_n_tags},
        params,
    )


def set_reader_config(
    msg_id: int, version: int, *, keepalive_ms: int, report_every_n_tags: int, impinj: bool
) -> Message:
    """SET_READER_CONFIG with ResetToFactoryDefault false: events, report content
    and a periodic keepalive (KeepaliveSpec)."""
    states = tuple(
        Param(PT.EventNotificationState, {"event_type": event, "notification_state": state})
        for events, state in ((EVENTS_ON, 1), (EVENTS_OFF, 0))
        for event in events
    )
    return _msg(
        MessageType.SET_READER_CONFIG,
        msg_id,
        version,
        {"reset_to_factory_default": 0},
        (
            Param(PT.ReaderEventNotificationSpec, {}, states),
            ro_report_spec(report_every_n_tags, impinj),
            Param(
                PT.KeepaliveSpec,
                {
                    "trigger_type": KeepaliveTriggerType.Periodic,
                    "periodic_trigger_value": keepalive_ms,
                },
            ),
        ),
    )


@dataclass(frozen=True, slots=True)
class AntennaSettings:
    """What the ROSpec asks of each antenna; None leaves the reader's own setting."""

    power_index: int | None = None
    mode_index: int | None = None
    session: int | None = None
    tag_population: int = 32
    search_mode: int | None = None
    """Impinj inventory search mode (1 single target, 2 dual target, 3 TagFocus, ...)."""
    hop_table_id: int = 1
    channel_index: int = 0


def add_rospec(
    msg_id: int,
    version: int,
    antennas: Iterable[int],
    settings: AntennaSettings,
    *,
    report_every_n_tags: int,
    impinj: bool,
    rospec_id: int = ROSPEC_ID,
) -> Message:
    """ADD_ROSPEC: one ROSpec, disabled, with a Null start trigger (it runs
    when START_ROSPEC says so: some readers ignore an Immediate trigger) and a Null stop
    trigger (it runs until STOP_ROSPEC); one AISpec over ``antennas`` that runs until the
    ROSpec stops, inventorying EPC Class 1 Gen 2 tags."""
    ports = tuple(sorted(antennas))
    configurations = tuple(_antenna_configuration(port, settings) for port in ports)
    inventory = Param(
        PT.InventoryParameterSpec,
        {
            "inventory_parameter_spec_id": INVENTORY_PARAMETER_SPEC_ID,
            "protocol_id": AirProtocol.EPCGlobalClass1Gen2,
        },
        tuple(c for c in configurations if c is not None),
    )
    ai_spec = Param(
        PT.AISpec,
        {"antenna_ids": ports},
        (
            Param(
                PT.AISpecStopTrigger,
                {"trigger_type": AISpecStopTriggerType.Null, "duration_trigger": 0},
            ),
            inventory,
        ),
    )
    boundary = Param(
        PT.ROBoundarySpec,
        {},
        (
            Param(PT.ROSpecStartTrigger, {"trigger_type": ROSpecStartTriggerType.Null}),
            Param(
                PT.ROSpecStopTrigger,
                {"trigger_type": ROSpecStopTriggerType.Null, "duration_trigger_value": 0},
            ),
        ),
    )
    rospec = Param(
        PT.ROSpec,
        {"rospec_id": rospec_id, "priority": 0, "current_state": 0},
        (boundary, ai_spec, ro_report_spec(report_every_n_tags, impinj)),
    )
    return _msg(MessageType.ADD_ROSPEC, msg_id, version, None, (rospec,))


def _antenna_configuration(port: int, settings: AntennaSettings) -> Param | None:
    """AntennaConfiguration for one port, or None when nothing is configured."""
    children: list[Param] = []
    if settings.power_index is not None:
        children.append(
            Param(
                PT.RFTransmitter,
                {
                    "hop_table_id": settings.hop_table_id,
                    "channel_index": settings.channel_index,
                    "transmit_power": settings.power_index,
                },
            )
        )
    command: list[Param] = []
    if settings.mode_index is not None:
        command.append(Param(PT.C1G2RFControl, {"mode_index": settings.mode_index, "tari": 0}))
    if settings.session is not None:
        command.append(
            Param(
                PT.C1G2SingulationControl,
                {
                    "session": settings.session,
                    "tag_population": settings.tag_population,
                    "tag_transit_time": 0,
                },
            )
        )
    if settings.search_mode is not None:
        command.append(
            _custom(Impinj.InventorySearchMode, inventory_search_mode=settings.search_mode)
        )
    if command:
        children.append(
            Param(PT.C1G2InventoryCommand, {"tag_inventory_state_aware": 0}, tuple(command))
        )
    if not children:
        return None
    return Param(PT.AntennaConfiguration, {"antenna_id": port}, tuple(children))


# --- reading answers ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Status:
    code: int
    description: str

    @property
    def ok(self) -> bool:
        return self.code == StatusCode.M_Success

    @property
    def name(self) -> str:
        return (
            StatusCode(self.code).name
            if self.code in StatusCode._value2member_map_
            else str(self.code)
        )

    def __str__(self) -> str:
        return f"{self.name}" + (f" ({self.description})" if self.description else "")


def status_of(message: Message) -> Status:
    """The LLRPStatus of a response or ERROR_MESSAGE, with the parameter/field
    error details folded into the description; a response without one is a failure."""
    param = message.find(PT.LLRPStatus)
    if param is None:
        return Status(-1, f"message type {message.type} carries no LLRPStatus")
    details = [param.text("error_description")] if param.text("error_description") else []
    for error in walk(param.params):
        if error.type == PT.ParameterError:
            details.append(
                f"parameter {error.num('parameter_type')}: error {error.num('error_code')}"
            )
        elif error.type == PT.FieldError:
            details.append(f"field {error.num('field_num')}: error {error.num('error_code')}")
    return Status(param.num("status_code"), "; ".join(details))


@dataclass(frozen=True, slots=True)
class ReaderCapabilities:
    """What GET_READER_CAPABILITIES_RESPONSE says that the client uses."""

    max_antennas: int
    manufacturer: int
    model: int
    firmware: str
    utc_clock: bool
    power_table: dict[int, float]
    """Transmit power index -> dBm (TransmitPowerLevelTableEntry, 1/100 dBm)."""
    modes: tuple[int, ...]
    """C1G2 UHF RF mode identifiers."""
    hop_table_ids: tuple[int, ...]
    hopping: bool
    max_rospecs: int | None

    @property
    def is_impinj(self) -> bool:
        return self.manufacturer == IMPINJ


def capabilities_of(message: Message) -> ReaderCapabilities:
    general = message.find(PT.GeneralDeviceCapabilities)
    llrp = message.find(PT.LLRPCapabilities)
    params = tuple(walk(message.params))
    hopping = next((p for p in params if p.type == PT.FrequencyInformation), None)
    return ReaderCapabilities(
        max_antennas=general.num("max_number_of_antenna_supported") if general else 0,
        manufacturer=general.num("device_manufacturer_name") if general else 0,
        model=general.num("model_name") if general else 0,
        firmware=general.text("reader_firmware_version") if general else "",
        utc_clock=bool(general.num("has_utc_clock_capability")) if general else False,
        power_table={
            p.num("index"): p.num("transmit_power_value") / 100
            for p in params
            if p.type == PT.TransmitPowerLevelTableEntry
        },
        modes=tuple(
            p.num("mode_identifier") for p in params if p.type == PT.C1G2UHFRFModeTableEntry
        ),
        hop_table_ids=tuple(
            p.num("hop_table_id") for p in params if p.type == PT.FrequencyHopTable
        ),
        hopping=bool(hopping.num("hopping")) if hopping else True,
        max_rospecs=llrp.num("max_num_rospecs") if llrp else None,
    )


def power_index_for(table: Mapping[int, float], dbm: float) -> int | None:
    """The table's index for the highest power not above ``dbm`` (the lowest entry when all
    are above); None for an empty table."""
    if not table:
        return None
    below = [(power, index) for index, power in table.items() if power <= dbm + 1e-9]
    if below:
        return max(below)[1]
    return min((power, index) for index, power in table.items())[1]


def rospec_ids(message: Message) -> list[int]:
    """The ROSpec ids of a GET_ROSPECS_RESPONSE."""
    return [p.num("rospec_id") for p in message.find_all(PT.ROSpec)]
