"""Read a capture back through the real protocol parsers (shared by the simulator tests)."""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.config.readers import R2000SerialReader
from edge.config.store import StoreConfig
from edge.replay.capture import Capture, MqttMessage, SerialChunk
from edge.rfid.impinj import parse_impinj
from edge.rfid.r2000 import R2000Parser, TagFrame
from edge.rfid.reads import TagRead
from edge.rfid.zebra import parse_zebra

MAX_DRIFT_MS = 5_000
"""The readers' default ``max_clock_drift_s``."""


@dataclass
class Streams:
    reads: list[TagRead] = field(default_factory=list)
    parsers: dict[str, R2000Parser] = field(default_factory=dict)
    drift_corrected: dict[str, int] = field(default_factory=dict)
    """Per MQTT reader: reads whose reader timestamp was replaced by the receive time."""


def parse_capture(capture: Capture, config: StoreConfig) -> Streams:
    """Every tag read in the capture, as the drivers would deliver them (serial reads carry
    the time of the chunk that completed their frame, MQTT reads the reader's timestamp
    unless it drifted more than 5 s from the receive time); malformed MQTT payloads fail.
    Messages on other topics (POS sales) are skipped."""
    readers = {reader.id: reader for reader in config.readers}
    topics = {reader.topic: reader for reader in config.readers if reader.kind != "r2000_serial"}
    streams = Streams()
    for record in capture.records():
        if isinstance(record, SerialChunk):
            serial = readers[record.reader_id]
            assert isinstance(serial, R2000SerialReader)
            parser = streams.parsers.setdefault(record.reader_id, R2000Parser(serial.address))
            for frame in parser.feed(record.data):
                if isinstance(frame, TagFrame):
                    streams.reads.append(
                        TagRead(
                            record.reader_id,
                            frame.antenna,
                            frame.epc_hex,
                            frame.rssi_dbm,
                            record.t_ms,
                        )
                    )
        elif isinstance(record, MqttMessage):
            reader = topics.get(record.topic)
            if reader is None:
                continue  # the tills' sales (tests/replay/test_pos_sales.py), not a reader
            parse = parse_zebra if reader.kind == "zebra_mqtt" else parse_impinj
            result = parse(record.payload, reader.id, record.t_ms, MAX_DRIFT_MS)
            assert result.errors == [], result.errors
            streams.drift_corrected[reader.id] = (
                streams.drift_corrected.get(reader.id, 0) + result.clock_drift_corrected
            )
            streams.reads.extend(result.reads)
    return streams
