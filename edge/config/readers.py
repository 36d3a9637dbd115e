"""RFID readers: one model per family, told apart by ``kind``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from edge.config.base import StrictModel


class ReaderBase(StrictModel):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", title="Reader id")
    antennas: dict[int, str] = Field(
        title="Antenna port -> zone id", description="Every port that reads must map to a zone"
    )
    offline_after_s: float = Field(
        default=30.0, gt=0, title="Raise reader_offline after this long without data"
    )
    max_clock_drift_s: float = Field(
        default=5.0,
        gt=0,
        title="Reader clock tolerance",
        description="Reader timestamps further than this from receive time are replaced by it",
    )


class R2000SerialReader(ReaderBase):
    kind: Literal["r2000_serial"]
    port: str = Field(title="pyserial URL: /dev/ttyUSB0, socket://, rfc2217://, loop://")
    baudrate: int = Field(default=115200, title="Baud rate (8N1)")
    address: int = Field(default=1, ge=0, le=255, title="Reader address byte")
    inventory_repeat: int = Field(default=1, ge=1, le=255, title="Repeat count of cmd 0x89")
    reconnect_max_s: float = Field(default=30.0, gt=0, title="Longest reconnect backoff")


class ZebraMqttReader(ReaderBase):
    kind: Literal["zebra_mqtt"]
    topic: str = Field(title="Topic of the IoT Connector's tag data events")


class ImpinjMqttReader(ReaderBase):
    kind: Literal["impinj_mqtt"]
    topic: str = Field(title="Topic of the IoT device interface's events")


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
    R2000SerialReader | ZebraMqttReader | ImpinjMqttReader | LlrpReader,
    Field(discriminator="kind"),
]
