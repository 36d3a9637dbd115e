"""Driver for readers that publish JSON over MQTT (Zebra IoT Connector, Impinj R700).

It subscribes to the reader's topic on the process's one :class:`MqttConnection` and, for each
message, on paho's network thread: hands ``(received_ms, topic, payload)`` to the recorder tap,
parses the message with ``received_ms = clock.now_ms()``, delivers every read to ``on_read``,
and only THEN counts the message in ``messages_received``: the replayer waits on that counter,
so once it moves, all reads of the message have been delivered.

Reads from antenna ports that the configuration does not map to a zone are dropped and
counted (``unmapped_antenna``). ``on_status`` reports the path to the reader, i.e. the broker
subscription: connected when the broker (re)connects, disconnected when the link is lost. The
reader itself has no connection to watch; ``reader_offline`` is decided by the alert rules
from the time of its last sign of life. A message with events but no tag (a heartbeat, an
inventory status) is such a sign too: it is reported as ``connected`` with the event type.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from edge.clock import Clock
from edge.config.readers import ImpinjMqttReader, ZebraMqttReader
from edge.mqtt.client import MqttConnection, worth_logging
from edge.rfid.impinj import parse_impinj
from edge.rfid.mqtt_payloads import ParseResult
from edge.rfid.reads import ReaderStatus, ReadSink, StatusSink
from edge.rfid.zebra import parse_zebra

MessageTap = Callable[[int, str, bytes], None]
"""``tap(received_ms, topic, payload)``: sees every message before it is parsed (recorder)."""

Parser = Callable[[bytes, str, int, int], ParseResult]

PARSERS: dict[str, Parser] = {"zebra_mqtt": parse_zebra, "impinj_mqtt": parse_impinj}


@dataclass(frozen=True, slots=True)
class MqttReaderStats:
    reader_id: str
    messages_received: int
    reads: int
    malformed: dict[str, int]
    """Rejected objects (or whole messages) by reason."""
    ignored: dict[str, int]
    """Recognised events without a tag, by event type."""
    clock_drift_corrected: int
    unmapped_antenna: int


class MqttReaderDriver:
    def __init__(
        self,
        config: ZebraMqttReader | ImpinjMqttReader,
        connection: MqttConnection,
        clock: Clock,
        on_read: ReadSink,
        on_status: StatusSink,
        *,
        on_message: MessageTap | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.config = config
        self._connection = connection
        self._clock = clock
        self._on_read = on_read
        self._on_status = on_status
        self._on_message = on_message
        self._log = logger or logging.getLogger(__name__)
        self._parse = PARSERS[config.kind]
        self._max_drift_ms = round(config.max_clock_drift_s * 1000)
        self._messages_received = 0
        self._reads = 0
        self._counts_lock = threading.Lock()  # stats() runs on other threads
        self._malformed: Counter[str] = Counter()
        self._ignored: Counter[str] = Counter()
        self._drift_corrected = 0
        self._unmapped = 0

    @property
    def reader_id(self) -> str:
        return self.config.id

    @property
    def messages_received(self) -> int:
        """Messages fully handled (all their reads delivered); the replayer waits on it."""
        return self._messages_received

    def start(self) -> None:
        """Subscribe (renewed after every reconnect) and report the subscription's state."""
        self._connection.add_connection_listener(self._on_connection)
        self._connection.subscribe(self.config.topic, self.handle_message, qos=1)
        if self._connection.connected:
            self._on_connection(True)

    def stop(self) -> None:
        """Unsubscribe; messages already being handled still finish."""
        self._connection.unsubscribe(self.config.topic)
        self._connection.remove_connection_listener(self._on_connection)

    def stats(self) -> MqttReaderStats:
        with self._counts_lock:
            return MqttReaderStats(
                reader_id=self.reader_id,
                messages_received=self._messages_received,
                reads=self._reads,
                malformed=dict(self._malformed),
                ignored=dict(self._ignored),
                clock_drift_corrected=self._drift_corrected,
                unmapped_antenna=self._unmapped,
            )

    def handle_message(self, topic: str, payload: bytes) -> None:
        """One MQTT message (paho's network thread)."""
        received_ms = self._clock.now_ms()
        try:
            if self._on_message is not None:
                self._on_message(received_ms, topic, payload)
            result = self._parse(payload, self.reader_id, received_ms, self._max_drift_ms)
            self._account(topic, result)
            for read in result.reads:
                if read.antenna not in self.config.antennas:
                    self._unmapped += 1
                    self._log_repeated(
                        self._unmapped,
                        "reader %s: antenna %d is not in the configuration; read dropped",
                        self.reader_id,
                        read.antenna,
                    )
                    continue
                self._on_read(read)
                self._reads += 1
            if result.ignored and not result.reads:
                self._on_status(
                    ReaderStatus(self.reader_id, True, received_ms, f"{result.ignored[-1]} event")
                )
        finally:
            # Even when a sink failed: the replayer must not wait for this message forever.
            self._messages_received += 1

    def _account(self, topic: str, result: ParseResult) -> None:
        with self._counts_lock:
            self._drift_corrected += result.clock_drift_corrected
        for error in result.errors:
            with self._counts_lock:
                self._malformed[error.reason.value] += 1
                count = self._malformed[error.reason.value]
            self._log_repeated(
                count, "reader %s: malformed message on %s: %s", self.reader_id, topic, error
            )
        for event_type in result.ignored:
            with self._counts_lock:
                self._ignored[event_type] += 1
                count = self._ignored[event_type]
            level = logging.INFO if count == 1 else logging.DEBUG
            self._log.log(level, "reader %s: %s event (no tag)", self.reader_id, event_type)

    def _log_repeated(self, count: int, message: str, *args: object) -> None:
        if worth_logging(count):
            self._log.warning(message + " (%d so far)", *args, count)

    def _on_connection(self, connected: bool) -> None:
        broker = self._connection.broker
        self._on_status(
            ReaderStatus(
                reader_id=self.reader_id,
                connected=connected,
                ts_ms=self._clock.now_ms(),
                detail=f"subscription to {self.config.topic} on {broker}",
            )
        )
