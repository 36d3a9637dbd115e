"""RFID readers: one model per family, told apart by ``kind``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

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


ReaderConfig = Annotated[
    R2000SerialReader | ZebraMqttReader | ImpinjMqttReader, Field(discriminator="kind")
]
