"""RFID readers: one model per family, told apart by ``kind``."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from edge.config.base import KeyPathError, StrictModel, env_secret

R2000_PORTS = 8
"""Antenna ports of the largest R2000 module (4-port modules use 1..4)."""
NO_ANTENNA_PORT = 0
"""The port of reads whose reader reports no antenna (``edge.rfid.reads.NO_ANTENNA``)."""

QUIET_OFFLINE_AFTER_S = 7200.0
"""Default ``offline_after_s`` of a reader whose only sign of life is its reads (an MQTT reader
without heartbeats or last will): silence is no proof, and a door reader is quiet for an hour
when nobody passes, so only two hours of silence count (docs/readers.md, "Reader health")."""


class HealthSource(StrEnum):
    """What tells that a reader of this kind and configuration is offline."""

    HEARTBEAT = "heartbeat"
    """Periodic signs of life (R2000 inventory rounds, LLRP keepalives, Impinj HTTP keep-alive
    lines, Zebra heartbeats): none for offline_after_s means offline."""
    CONNECTION = "connection"
    """The reader's MQTT last will: offline when it says so (for offline_after_s), never from
    silence."""
    READS = "reads"
    """Nothing but reads: silence for offline_after_s (default QUIET_OFFLINE_AFTER_S)."""


class ReaderBase(StrictModel):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", title="Reader id")
    antennas: dict[int, str] = Field(
        title="Antenna port -> zone id", description="Every port that reads must map to a zone"
    )
    offline_after_s: float = Field(
        default=30.0,
        gt=0,
        title="Raise reader_offline after this long without a sign of life",
        description="Unset: by kind (docs/readers.md, Reader health): 30 s for R2000 and LLRP, "
        "90 s Impinj HTTP, 180 s Zebra with management_topic, 7200 s for readers heard "
        "only through their reads; with a last will, the grace after it",
    )
    max_clock_drift_s: float = Field(
        default=5.0,
        gt=0,
        title="Reader clock tolerance",
        description="Reader timestamps further than this from receive time are replaced by it",
    )

    DEFAULT_OFFLINE_AFTER_S: ClassVar[float] = 30.0

    def health_source(self) -> HealthSource:
        return HealthSource.HEARTBEAT

    def offline_after(self) -> float:
        """``offline_after_s`` as configured, else the default of the reader's health source."""
        if "offline_after_s" in self.model_fields_set:
            return self.offline_after_s
        if self.health_source() is HealthSource.READS:
            return QUIET_OFFLINE_AFTER_S
        return self.DEFAULT_OFFLINE_AFTER_S

    def port_zones(self) -> dict[int, str]:
        """Antenna port -> zone of every port whose reads count (tracker, driver)."""
        return dict(self.antennas)

    def zone_references(self) -> list[tuple[str, str]]:
        """``(what, zone id)`` of every zone this reader names, for the store's check."""
        return [(f"antenna {port}", zone) for port, zone in self.antennas.items()]


class R2000SerialReader(ReaderBase):
    kind: Literal["r2000_serial"]
    port: str = Field(title="pyserial URL: /dev/ttyUSB0, socket://, rfc2217://, loop://")
    baudrate: int = Field(default=115200, title="Baud rate (8N1)")
    address: int = Field(default=1, ge=0, le=255, title="Reader address byte")
    inventory_mode: Literal["fast_switch", "work_antenna"] = Field(
        default="fast_switch",
        title="How the driver inventories the antennas",
        description="fast_switch: cmd 0x8A walks the antenna sequence in the module; "
        "work_antenna: cmd 0x74 then 0x89 rounds, one antenna at a time",
    )
    antenna_sequence: list[int] | None = Field(
        default=None,
        min_length=1,
        max_length=8,
        title="Antennas to inventory, in order",
        description="Unset: every mapped antenna, in port order; a port may repeat (a busy "
        "antenna read twice per pass); each must be mapped under antennas",
    )
    dwell_rounds: int = Field(
        default=1,
        ge=1,
        le=255,
        title="Inventory rounds per antenna before switching",
        description="The Stay byte of cmd 0x8A, the repeat byte of cmd 0x89 per antenna",
    )
    switch_interval_ms: int = Field(
        default=0, ge=0, le=255, title="Pause between antennas (Interval byte of cmd 0x8A), ms"
    )
    inventory_repeat: int = Field(
        default=1,
        ge=1,
        le=255,
        title="Passes over the antenna sequence per command (Repeat byte of cmd 0x8A)",
    )
    reconnect_max_s: float = Field(default=30.0, gt=0, title="Longest reconnect backoff")

    @model_validator(mode="after")
    def _r2000_antennas(self) -> R2000SerialReader:
        for port in self.antennas:
            if not 1 <= port <= R2000_PORTS:
                raise KeyPathError(
                    ("antennas", port),
                    f"Reader {self.id}: antenna {port} is not a port of an R2000 module "
                    f"(1..{R2000_PORTS})",
                )
        for index, port in enumerate(self.antenna_sequence or []):
            if port not in self.antennas:
                raise KeyPathError(
                    ("antenna_sequence", index),
                    f"Reader {self.id}: antenna_sequence names antenna {port}, which antennas "
                    f"does not map to a zone (mapped: {sorted(self.antennas)})",
                )
        return self

    def inventory_sequence(self) -> list[int]:
        """The antennas the driver inventories, in order: the sequence, or every mapped one."""
        return list(self.antenna_sequence or sorted(self.antennas))


class EventReaderBase(ReaderBase):
    """Readers that report events (Zebra, Impinj), whose antenna may be switched off."""

    default_zone: str | None = Field(
        default=None,
        title="Zone of reads that report no antenna",
        description=(
            "For a reader whose events carry no antenna (Zebra SIMPLE mode, or the antenna "
            "switched off in its metadata or eventConfig); such reads are dropped without it"
        ),
    )

    @model_validator(mode="after")
    def _port_zero_is_default_zone(self) -> EventReaderBase:
        if NO_ANTENNA_PORT in self.antennas:
            raise ValueError(
                f"Reader {self.id}: antenna {NO_ANTENNA_PORT} is not a port; "
                "give the zone of reads without an antenna as default_zone"
            )
        return self

    def port_zones(self) -> dict[int, str]:
        zones = dict(self.antennas)
        if self.default_zone is not None:
            zones[NO_ANTENNA_PORT] = self.default_zone
        return zones

    def zone_references(self) -> list[tuple[str, str]]:
        references = super().zone_references()
        if self.default_zone is not None:
            references.append(("default_zone", self.default_zone))
        return references


def _distinct_topics(reader_id: str, topics: dict[str, str | None]) -> None:
    named = {key: topic for key, topic in topics.items() if topic is not None}
    if len(set(named.values())) < len(named):
        keys = " and ".join(named)
        raise ValueError(f"Reader {reader_id}: {keys} must be different topics")


class ZebraMqttReader(EventReaderBase):
    kind: Literal["zebra_mqtt"]
    topic: str = Field(title="Topic of the IoT Connector's tag data events")
    management_topic: str | None = Field(
        default=None,
        title="Topic of the IoT Connector's management events",
        description=(
            "Heartbeats, errors, warnings and GPI events: with it, heartbeats are signs of "
            "life and say whether the radio inventories"
        ),
    )

    DEFAULT_OFFLINE_AFTER_S: ClassVar[float] = 180.0
    """Three heartbeat intervals of the IoT Connector's 60 s."""

    def health_source(self) -> HealthSource:
        return HealthSource.READS if self.management_topic is None else HealthSource.HEARTBEAT

    @model_validator(mode="after")
    def _topics(self) -> ZebraMqttReader:
        _distinct_topics(self.id, {"topic": self.topic, "management_topic": self.management_topic})
        return self

    def topics(self) -> list[str]:
        """Every topic the driver subscribes to (record and replay them all)."""
        return [t for t in (self.topic, self.management_topic) if t is not None]


class ImpinjMqttReader(EventReaderBase):
    kind: Literal["impinj_mqtt"]
    topic: str = Field(title="Topic of the IoT device interface's events")
    status_topic: str | None = Field(
        default=None,
        title="The reader's MQTT willTopic",
        description=(
            "Where the reader's broker connection is announced (connect message, last will, "
            "disconnect message); unset when the reader sets no willTopic"
        ),
    )
    connect_message: str = Field(
        default="connected",
        max_length=1000,
        title="The reader's connectMessage",
        description="Payload on status_topic when the reader (re)connects to the broker",
    )
    will_message: str = Field(
        default="connection lost",
        max_length=1000,
        title="The reader's willMessage",
        description="Payload the broker sends on status_topic when the reader drops off",
    )
    disconnect_message: str = Field(
        default="",
        max_length=1000,
        title="The reader's disconnectMessage",
        description="Payload on status_topic when the reader disconnects gracefully",
    )

    def health_source(self) -> HealthSource:
        return HealthSource.READS if self.status_topic is None else HealthSource.CONNECTION

    @model_validator(mode="after")
    def _topics(self) -> ImpinjMqttReader:
        _distinct_topics(self.id, {"topic": self.topic, "status_topic": self.status_topic})
        if self.status_topic is not None and self.connect_message in (
            self.will_message,
            self.disconnect_message,
        ):
            raise ValueError(
                f"Reader {self.id}: connect_message must differ from will_message and "
                "disconnect_message, or status_topic cannot tell them apart"
            )
        return self

    def topics(self) -> list[str]:
        """Every topic the driver subscribes to (record and replay them all)."""
        return [t for t in (self.topic, self.status_topic) if t is not None]


class ImpinjHttpReader(EventReaderBase):
    kind: Literal["impinj_http"]
    url: str = Field(
        pattern=r"^https?://[^/?#]+$",
        title="Base URL of the reader, e.g. https://impinj-14-2b-9c.local",
        description="The driver reads the event stream at <url>/api/v1/data/stream",
    )
    username: str | None = Field(default=None, title="User of the reader's basic auth")
    password: str | None = Field(
        default=None,
        title="Password of the reader's basic auth",
        description="Give ${ENV_VAR}: it is read from the environment, never written here",
    )
    verify_tls: bool = Field(
        default=True,
        title="Check the reader's TLS certificate",
        description="The R700 ships a self-signed certificate: give its CA as ca_file instead",
    )
    ca_file: str | None = Field(default=None, title="CA bundle that signed the reader's cert")
    connect_timeout_s: float = Field(
        default=10.0, gt=0, le=300, title="Longest wait for the reader to answer a connect"
    )
    stall_timeout_s: float = Field(
        default=90.0,
        gt=0,
        le=3600,
        title="Reconnect after this long without a byte",
        description=(
            "Impinj advises 90 s: at least three keep-alive intervals of the stream "
            "(keepAliveIntervalSeconds of the reader's /http-stream settings)"
        ),
    )
    reconnect_max_s: float = Field(default=30.0, gt=0, le=3600, title="Longest reconnect backoff")

    DEFAULT_OFFLINE_AFTER_S: ClassVar[float] = 90.0
    """Three keep-alive lines of the stream (stall_timeout_s's reasoning)."""

    @field_validator("password", mode="before")
    @classmethod
    def _password_from_env(cls, value: object) -> object:
        if value is None:
            return None
        if not (isinstance(value, str) and value.startswith("${") and value.endswith("}")):
            raise ValueError("give ${ENV_VAR} and set the password in the environment")
        return env_secret(value)

    @model_validator(mode="after")
    def _credentials_pair(self) -> ImpinjHttpReader:
        if (self.username is None) != (self.password is None):
            raise ValueError(f"Reader {self.id}: give username and password together")
        return self


class LlrpReader(ReaderBase):
    """A fixed reader driven over LLRP 1.0.1/1.1 (Impinj Speedway/R420/R700, Zebra FX7500/FX9600
    in LLRP mode); docs/readers.md describes the conversation."""

    kind: Literal["llrp"]
    host: str = Field(
        min_length=1, max_length=253, title="Reader host name or IP address", pattern=r"^\S+$"
    )
    port: int = Field(default=5084, ge=1, le=65535, title="LLRP TCP port (5084; 5085 is TLS)")
    keepalive_s: float = Field(
        default=5.0,
        ge=0.1,
        le=3600.0,
        title="Keepalive period asked of the reader",
        description="The reader sends a KEEPALIVE this often; the driver answers each one",
    )
    missed_keepalives: int = Field(
        default=3,
        ge=2,
        le=100,
        title="Dead link after this many keepalive periods of silence",
        description="Nothing at all from the reader for keepalive_s x missed_keepalives: the "
        "driver drops the connection, reports the reader offline and reconnects",
    )
    tx_power_dbm: float | None = Field(
        default=None,
        ge=0.0,
        le=40.0,
        title="Transmit power, dBm",
        description="The reader's power table entry at or just below this value; "
        "unset: the reader's own setting",
    )
    mode_index: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        title="C1G2 RF mode identifier",
        description="From the reader's mode table (Impinj AutoSet: 1000, 1002, ...); unset: "
        "the reader's own setting",
    )
    session: int | None = Field(
        default=None, ge=0, le=3, title="Gen2 session (0-3); unset: the reader's own setting"
    )
    tag_population: int = Field(
        default=32, ge=1, le=65535, title="Expected tags in view (sent with the session)"
    )
    search_mode: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        title="Impinj inventory search mode",
        description="1 single target, 2 dual target, 3 single target with suppression "
        "(TagFocus), ...; Impinj readers only (ignored, with a warning, by others)",
    )
    impinj_extensions: bool = Field(
        default=True,
        title="Use Impinj extensions on Impinj readers",
        description="Peak RSSI in 1/100 dBm, RF phase angle and Doppler in every tag report",
    )
    report_every_n_tags: int = Field(
        default=1,
        ge=1,
        le=65535,
        title="Tags per RO_ACCESS_REPORT",
        description="1: a report per read, lowest latency. More: fewer, larger reports, but "
        "reads wait until that many are buffered",
    )
    connect_timeout_s: float = Field(default=5.0, gt=0, le=120.0, title="TCP connect timeout")
    response_timeout_s: float = Field(
        default=5.0, gt=0, le=120.0, title="Longest wait for the answer to a request"
    )
    reconnect_max_s: float = Field(default=30.0, gt=0, le=3600.0, title="Longest reconnect backoff")

    @model_validator(mode="after")
    def _consistent(self) -> LlrpReader:
        for port in self.antennas:
            if not 1 <= port <= 65535:
                raise ValueError(
                    f"Reader {self.id}: antenna {port} is not an LLRP antenna id (1-65535)"
                )
        if self.keepalive_s >= self.offline_after_s:
            raise ValueError(
                f"Reader {self.id}: keepalive_s ({self.keepalive_s:g}) must be shorter than "
                f"offline_after_s ({self.offline_after_s:g}), or a quiet reader looks offline "
                "between keepalives"
            )
        return self


ReaderConfig = Annotated[
    R2000SerialReader | ZebraMqttReader | ImpinjMqttReader | ImpinjHttpReader | LlrpReader,
    Field(discriminator="kind"),
]
