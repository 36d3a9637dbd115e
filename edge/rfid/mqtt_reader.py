"""Driver for readers that publish JSON over MQTT (Zebra IoT Connector, Impinj R700).

It subscribes to the reader's topics (``config.topics()``) on the process's one
:class:`MqttConnection` and, for each message, on paho's network thread: hands
``(received_ms, topic, payload)`` to the recorder tap, parses the message with
``received_ms = clock.now_ms()``, delivers every read to ``on_read`` and every health signal
to ``on_status``, and only THEN counts the message in ``messages_received``: the replayer waits
on that counter, so once it moves, all reads of the message have been delivered.

Topics:

- ``topic``: tag data events (Zebra data interface, Impinj events).
- Zebra ``management_topic``: the IoT Connector's management events. A heartbeat is a sign
  of life; its ``radio_control`` says whether the radio inventories.
- Impinj ``status_topic``: the reader's MQTT ``willTopic``. Its connect message, last will
  and disconnect message are the reader's own broker connection
  (``ReaderSignal.LAST_WILL``).

Health (docs/readers.md): ``on_status`` reports the broker subscription as the link
(``ReaderSignal.LINK``: connected when the broker (re)connects, not when the link is lost);
events without a tag, heartbeats, inventory states, overflows and event-number gaps as
``ReaderSignal.READER``. Reads from antenna ports the configuration does not map to a zone
are dropped and counted (``unmapped_antenna``, or ``no_antenna`` without ``default_zone``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from edge.clock import Clock
from edge.config.readers import ImpinjMqttReader, ZebraMqttReader
from edge.mqtt.client import MqttConnection
from edge.progress import Progress
from edge.rfid.event_delivery import EventDelivery, EventReaderStats
from edge.rfid.impinj import parse_impinj
from edge.rfid.mqtt_payloads import ParseResult
from edge.rfid.reads import ReaderSignal, ReaderStatus, ReadSink, StatusSink
from edge.rfid.zebra import parse_zebra

MessageTap = Callable[[int, str, bytes], None]
"""``tap(received_ms, topic, payload)``: sees every message before it is parsed (recorder)."""

Parser = Callable[[bytes, str, int, int], ParseResult]

PARSERS: dict[str, Parser] = {"zebra_mqtt": parse_zebra, "impinj_mqtt": parse_impinj}

UNKNOWN_STATUS_MESSAGE = "unknown_status_message"
"""Malformed reason of a status-topic payload that is none of the configured messages."""


@dataclass(frozen=True, slots=True)
class MqttReaderStats(EventReaderStats):
    messages_received: int = 0
    """Messages handled on all the reader's topics."""
    status_messages: int = 0
    """Messages on the Impinj ``status_topic`` (connect message, last will, disconnect)."""


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
        self._on_status = on_status
        self._on_message = on_message
        self._log = logger or logging.getLogger(__name__)
        self._parse = PARSERS[config.kind]
        self._max_drift_ms = round(config.max_clock_drift_s * 1000)
        self._delivery = EventDelivery(config, on_read, on_status, self._log)
        self._status_topic = config.status_topic if isinstance(config, ImpinjMqttReader) else None
        self._messages_received = Progress()
        self._status_messages = 0
        self._counts_lock = threading.Lock()

    @property
    def reader_id(self) -> str:
        return self.config.id

    @property
    def messages_received(self) -> int:
        """Messages fully handled (all their reads delivered); the replayer waits on it."""
        return self._messages_received.count

    def wait_until(self, done: Callable[[], bool], timeout_s: float) -> bool:
        """Block until ``done()`` holds, checked whenever :attr:`messages_received` moves;
        False after ``timeout_s``."""
        return self._messages_received.wait_until(done, timeout_s)

    def start(self) -> None:
        """Subscribe (renewed after every reconnect) and report the subscription's state."""
        self._connection.add_connection_listener(self._on_connection)
        for topic in self.config.topics():
            handler = self.handle_status_message if topic == self._status_topic else None
            self._connection.subscribe(topic, handler or self.handle_message, qos=1)
        if self._connection.connected:
            self._on_connection(True)

    def stop(self) -> None:
        """Unsubscribe; messages already being handled still finish."""
        for topic in self.config.topics():
            self._connection.unsubscribe(topic)
        self._connection.remove_connection_listener(self._on_connection)

    def stats(self) -> MqttReaderStats:
        counts = self._delivery.counts()
        with self._counts_lock:
            return MqttReaderStats(
                **{name: getattr(counts, name) for name in EventReaderStats.__dataclass_fields__},
                messages_received=self._messages_received.count,
                status_messages=self._status_messages,
            )

    def handle_message(self, topic: str, payload: bytes) -> None:
        """One message of tag data or management events (paho's network thread)."""
        received_ms = self._clock.now_ms()
        try:
            if self._on_message is not None:
                self._on_message(received_ms, topic, payload)
            result = self._parse(payload, self.reader_id, received_ms, self._max_drift_ms)
            self._delivery.deliver(result, received_ms, topic)
        finally:
            # Even when a sink failed: the replayer must not wait for this message forever.
            self._messages_received.advance()

    def handle_status_message(self, topic: str, payload: bytes) -> None:
        """One message on the reader's willTopic: its own broker connection."""
        received_ms = self._clock.now_ms()
        try:
            if self._on_message is not None:
                self._on_message(received_ms, topic, payload)
            with self._counts_lock:
                self._status_messages += 1
            status = self._last_will_status(payload, received_ms)
            if status is None:
                self._delivery.count_malformed(
                    UNKNOWN_STATUS_MESSAGE, f"{payload[:80]!r} is no configured message", topic
                )
            else:
                self._log.info("reader %s: %s", self.reader_id, status.detail)
                self._on_status(status)
        finally:
            self._messages_received.advance()

    def _last_will_status(self, payload: bytes, received_ms: int) -> ReaderStatus | None:
        config = self.config
        assert isinstance(config, ImpinjMqttReader)
        text = payload.decode("utf-8", errors="replace")
        if text == config.connect_message:
            connected, what = True, "connected to the broker (connect message)"
        elif text == config.will_message:
            connected, what = False, "lost by the broker (last will)"
        elif text == config.disconnect_message:
            connected, what = False, "disconnected from the broker (disconnect message)"
        else:
            return None
        return ReaderStatus(
            self.reader_id, connected, received_ms, f"reader {what}", ReaderSignal.LAST_WILL
        )

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
