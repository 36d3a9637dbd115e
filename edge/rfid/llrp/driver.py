"""Driver for fixed readers spoken to over LLRP (TCP, port 5084): a thin I/O shell around the
pure codec in :mod:`edge.rfid.llrp`.

A background thread connects, then runs the conversation of docs/readers.md ("LLRP
readers"): wait for the reader's ConnectionAttemptEvent (a refusal -- another client holds
the reader -- is a failed attempt: back off and retry), negotiate LLRP 1.1 or fall back to
1.0.1, read the capabilities, set keepalive, events and report content, delete the ROSpecs
an earlier connection left (all at once, or one by one when the reader refuses id 0), add
one ROSpec for the antennas the configuration maps, enable it and start it explicitly. Then
it answers KEEPALIVEs and turns every RO_ACCESS_REPORT into :class:`TagRead` s.

Silence for ``keepalive_s x missed_keepalives`` is a dead link: the connection is dropped,
the reader reported offline, and the driver reconnects with capped, jittered backoff. On
``stop()`` it stops and deletes its ROSpec and closes the connection as LLRP asks.

Time: every message of one ``recv`` carries the injected clock's time when the bytes
arrived (the recorder tap gets that time too, so a replay gives the same reads). Reader
timestamps are shifted by the reader's clock offset, measured from the UTCTimestamp of its
events (:class:`~edge.rfid.llrp.reports.ClockOffset`); a read still further than
``max_clock_drift_s`` from its receive time gets the receive time, as in the other drivers.
``messages_received`` counts a message only after all its reads were delivered.

Bad input: a message whose body cannot be decoded is counted by reason and skipped (the
framing still holds); a header that cannot be LLRP loses the stream, so the connection is
dropped and reopened. ERROR_MESSAGEs are logged and counted, never fatal: readers answer
ENABLE_EVENTS_AND_REPORTS with one when they do not implement it.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable

from edge.clock import Clock
from edge.config.readers import LlrpReader
from edge.mqtt.client import worth_logging
from edge.rfid.llrp import commands
from edge.rfid.llrp.codec import LlrpError, Message, decode_body, encode_message
from edge.rfid.llrp.commands import (
    ROSPEC_ID,
    AntennaSettings,
    ReaderCapabilities,
    capabilities_of,
    power_index_for,
    rospec_ids,
    status_of,
)
from edge.rfid.llrp.framing import Frame, LlrpFramer
from edge.rfid.llrp.reports import ClockOffset, ReaderEvent, ReportDecoder, reader_events
from edge.rfid.llrp.spec import (
    HEADER_LEN,
    IMPINJ_ENABLE_EXTENSIONS_RESPONSE,
    VERSION_1_0_1,
    VERSION_1_1,
    ConnectionAttemptStatus,
    MessageType,
)
from edge.rfid.reader_thread import ReaderThread
from edge.rfid.reads import ReaderStatus, ReadSink, StatusSink
from edge.rfid.serial_reader import backoff_delay_s

MessageTap = Callable[[int, bytes], None]
"""``tap(received_ms, message)``: every whole message from the reader, header included, as
received, before it is handled (the recorder)."""

RECV_BYTES = 256 * 1024
POLL_INTERVAL_S = 0.05
"""Longest blocking receive, so that ``stop()`` and the keepalive watchdog are prompt."""
CLOSE_TIMEOUT_S = 2.0
"""Longest wait for each answer while shutting down (STOP/DELETE_ROSPEC, CLOSE_CONNECTION)."""

M = MessageType


class _SessionFailure(Exception):
    """The connection cannot go on; the message says why (it becomes the status detail)."""


class _Stopped(Exception):
    """``stop()`` was called while the driver waited for the reader."""


class LlrpReaderDriver(ReaderThread):
    def __init__(
        self,
        config: LlrpReader,
        clock: Clock,
        on_read: ReadSink,
        on_status: StatusSink,
        *,
        on_message: MessageTap | None = None,
        logger: logging.Logger | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``monotonic`` times the I/O (keepalive watchdog, answer timeouts); read times come
        from ``clock``."""
        log = logger or logging.getLogger(__name__)
        super().__init__(config, clock, on_read, on_status, log, f"llrp-{config.id}")
        self._config = config
        self._on_message = on_message
        self._monotonic = monotonic
        self._rng = random.Random(config.id)
        self._max_drift_ms = round(config.max_clock_drift_s * 1000)
        self._offset = ClockOffset(self._max_drift_ms)
        self._decoder = ReportDecoder()
        self._sock: socket.socket | None = None
        self._framer = LlrpFramer()
        self._backlog: list[tuple[int, Frame]] = []
        self._next_id = 1
        self._version = VERSION_1_0_1
        self._last_rx_s = 0.0
        self._events_request_id: int | None = None
        self._capabilities: ReaderCapabilities | None = None
        self._messages_received = 0
        self._lock = threading.Lock()  # stats() runs on other threads
        self._counters: Counter[str] = Counter()
        self._malformed: Counter[str] = Counter()

    # --- public ---------------------------------------------------------------------------

    @property
    def reader_id(self) -> str:
        return self._config.id

    @property
    def config(self) -> LlrpReader:
        return self._config

    @property
    def messages_received(self) -> int:
        """Messages fully handled (all their reads delivered); a replay waits on it."""
        return self._messages_received

    @property
    def protocol_version(self) -> int:
        """1 (LLRP 1.0.1) or 2 (LLRP 1.1), as negotiated on the current connection."""
        return self._version

    @property
    def capabilities(self) -> ReaderCapabilities | None:
        return self._capabilities

    def stats(self) -> dict[str, int]:
        """Counters for /metrics: ``malformed_<reason>`` per refused input, the rest by name."""
        with self._lock:
            stats = dict(self._counters)
            stats.update({f"malformed_{k}": v for k, v in self._malformed.items()})
        stats["messages_received"] = self._messages_received
        stats["clock_offset_ms"] = self._offset.offset_ms
        stats["protocol_version"] = self._version
        return stats

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stops and deletes the ROSpec and closes the connection (a few seconds at most)."""
        super().stop(timeout_s)

    # --- connection loop ------------------------------------------------------------------

    def _run(self) -> None:
        attempt = 0
        ever_connected = False
        while not self._stop.is_set():
            failure: str | None
            try:
                failure = self._connection(ever_connected)
            except Exception:
                # A failing sink must not end the driver for good: log, reconnect, go on.
                self._count("driver_errors")
                self._log.exception("reader %s: driver error", self._config.id)
                failure = "driver error"
            if failure is None:
                return  # stopped on request
            if self._connected:
                ever_connected = True
                attempt = 0
            self._set_connected(False, failure)
            attempt += 1
            delay_s = backoff_delay_s(attempt, self._config.reconnect_max_s, self._rng)
            self._log.info(
                "reader %s: reconnecting in %.2f s (attempt %d)", self._config.id, delay_s, attempt
            )
            self._stop.wait(delay_s)

    def _connection(self, ever_connected: bool) -> str | None:
        """One connection from connect to close: None when stopped, else why it ended."""
        config = self._config
        try:
            sock = socket.create_connection(
                (config.host, config.port), timeout=config.connect_timeout_s
            )
        except OSError as error:
            self._count("connect_errors")
            return f"cannot connect to {config.host}:{config.port}: {error}"
        sock.settimeout(POLL_INTERVAL_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._framer = LlrpFramer()
        self._backlog.clear()
        self._version = VERSION_1_0_1
        self._last_rx_s = self._monotonic()
        try:
            self._set_up()
            if ever_connected:
                self._count("reconnects")
            self._steady()
            return None  # unreachable: _steady ends by exception
        except _Stopped:
            self._close_gracefully()
            return None
        except _SessionFailure as failure:
            self._log.warning("reader %s: %s", config.id, failure)
            return str(failure)
        except OSError as error:
            self._count("socket_errors")
            self._log.warning("reader %s: connection failed: %s", config.id, error)
            return f"connection failed: {error}"
        finally:
            self._sock = None
            sock.close()

    def _set_up(self) -> None:
        """From the ConnectionAttemptEvent to a running ROSpec (docs/readers.md)."""
        config = self._config
        self._await_connection_event()
        self._negotiate_version()
        answer = self._request(
            commands.get_reader_capabilities(self._id(), self._version),
            M.GET_READER_CAPABILITIES_RESPONSE,
        )
        self._require(answer, "GET_READER_CAPABILITIES")
        caps = self._capabilities = capabilities_of(answer)
        impinj = caps.is_impinj and config.impinj_extensions and self._enable_impinj()
        self._require(
            self._request(
                commands.set_reader_config(
                    self._id(),
                    self._version,
                    keepalive_ms=round(config.keepalive_s * 1000),
                    report_every_n_tags=config.report_every_n_tags,
                    impinj=impinj,
                ),
                M.SET_READER_CONFIG_RESPONSE,
            ),
            "SET_READER_CONFIG",
        )
        # No response is defined for ENABLE_EVENTS_AND_REPORTS; an ERROR_MESSAGE that answers
        # it (readers that do not implement it) is logged by _error_message, never fatal.
        self._events_request_id = self._id()
        self._send(
            commands.simple(M.ENABLE_EVENTS_AND_REPORTS, self._events_request_id, self._version)
        )
        self._delete_leftovers()
        self._require(
            self._request(
                commands.add_rospec(
                    self._id(),
                    self._version,
                    config.antennas,
                    self._antenna_settings(caps, impinj),
                    report_every_n_tags=config.report_every_n_tags,
                    impinj=impinj,
                ),
                M.ADD_ROSPEC_RESPONSE,
            ),
            "ADD_ROSPEC",
        )
        self._require(self._rospec(M.ENABLE_ROSPEC, ROSPEC_ID), "ENABLE_ROSPEC")
        started = status_of(self._rospec(M.START_ROSPEC, ROSPEC_ID))
        if not started.ok:
            # A reader that started the ROSpec on ENABLE refuses a second start: go on.
            self._log.warning("reader %s: START_ROSPEC answered %s", config.id, started)
            self._count("start_rospec_refused")
        self._set_connected(
            True,
            f"LLRP {'1.1' if self._version == VERSION_1_1 else '1.0.1'} at "
            f"{config.host}:{config.port}, model {caps.model}, firmware {caps.firmware!r}, "
            f"antennas {sorted(config.antennas)}",
        )

    def _await_connection_event(self) -> None:
        deadline = self._monotonic() + self._config.response_timeout_s
        while True:
            frames = self._frames(deadline, "the ConnectionAttemptEvent")
            for n, (received_ms, frame) in enumerate(frames):
                for event in self._handle(frame, received_ms):
                    if event.kind != "connection_attempt":
                        continue
                    if event.value == ConnectionAttemptStatus.Success:
                        self._backlog = frames[n + 1 :]
                        return
                    self._count("connection_refused")
                    raise _SessionFailure(
                        f"reader refused the connection: {event.text} (another client may "
                        "hold the reader)"
                    )

    def _negotiate_version(self) -> None:
        """LLRP 1.1 when the reader supports it, else 1.0.1."""
        answer = self._request(
            commands.get_supported_version(self._id()), M.GET_SUPPORTED_VERSION_RESPONSE
        )
        if answer.type != M.GET_SUPPORTED_VERSION_RESPONSE or not status_of(answer).ok:
            self._log.info(
                "reader %s: LLRP 1.1 not supported (%s): using 1.0.1",
                self._config.id,
                status_of(answer),
            )
            return
        if answer.num("supported_version") < VERSION_1_1:
            return
        self._version = VERSION_1_1
        answer = self._request(
            commands.set_protocol_version(self._id(), VERSION_1_1), M.SET_PROTOCOL_VERSION_RESPONSE
        )
        if not status_of(answer).ok:
            self._version = VERSION_1_0_1
            self._log.info(
                "reader %s: SET_PROTOCOL_VERSION 1.1 refused (%s): using 1.0.1",
                self._config.id,
                status_of(answer),
            )

    def _enable_impinj(self) -> bool:
        answer = self._request(
            commands.impinj_enable_extensions(self._id(), self._version), M.CUSTOM_MESSAGE
        )
        status = status_of(answer)
        if (
            answer.type == M.CUSTOM_MESSAGE
            and answer.subtype == IMPINJ_ENABLE_EXTENSIONS_RESPONSE
            and status.ok
        ):
            return True
        self._log.warning(
            "reader %s: Impinj extensions refused (%s); reports without them",
            self._config.id,
            status,
        )
        return False

    def _antenna_settings(self, caps: ReaderCapabilities, impinj: bool) -> AntennaSettings:
        config = self._config
        power_index = None
        if config.tx_power_dbm is not None:
            power_index = power_index_for(caps.power_table, config.tx_power_dbm)
            if power_index is None:
                self._log.warning("reader %s: no power table; tx_power_dbm ignored", config.id)
            else:
                self._log.info(
                    "reader %s: %.2f dBm is power index %d (%.2f dBm)",
                    config.id,
                    config.tx_power_dbm,
                    power_index,
                    caps.power_table[power_index],
                )
        if config.mode_index is not None and caps.modes and config.mode_index not in caps.modes:
            self._log.warning(
                "reader %s: mode_index %d is not in the reader's mode table %s",
                config.id,
                config.mode_index,
                list(caps.modes),
            )
        search_mode = config.search_mode
        if search_mode is not None and not impinj:
            self._log.warning("reader %s: search_mode needs Impinj extensions; ignored", config.id)
            search_mode = None
        hopping = caps.hopping
        return AntennaSettings(
            power_index=power_index,
            mode_index=config.mode_index,
            session=config.session,
            tag_population=config.tag_population,
            search_mode=search_mode,
            hop_table_id=(caps.hop_table_ids[0] if caps.hop_table_ids else 1) if hopping else 0,
            channel_index=0 if hopping else 1,
        )

    def _delete_leftovers(self) -> None:
        """DELETE_ROSPEC 0 deletes all; a reader that refuses id 0 gets the ids
        GET_ROSPECS lists deleted one by one."""
        status = status_of(self._rospec(M.DELETE_ROSPEC, 0))
        if status.ok:
            return
        self._count("delete_all_refused")
        self._log.info(
            "reader %s: DELETE_ROSPEC 0 answered %s; deleting one by one", self._config.id, status
        )
        listing = self._request(
            commands.simple(M.GET_ROSPECS, self._id(), self._version), M.GET_ROSPECS_RESPONSE
        )
        for rospec_id in rospec_ids(listing) if status_of(listing).ok else []:
            deleted = status_of(self._rospec(M.DELETE_ROSPEC, rospec_id))
            if not deleted.ok:
                self._log.warning(
                    "reader %s: DELETE_ROSPEC %d answered %s", self._config.id, rospec_id, deleted
                )

    def _steady(self) -> None:
        while True:
            for received_ms, frame in self._frames(None, "reports"):
                self._handle(frame, received_ms)

    def _close_gracefully(self) -> None:
        """STOP and DELETE our ROSpec, then CLOSE_CONNECTION; best effort."""
        if self._sock is None or not self._connected:
            return
        try:
            for type_ in (M.STOP_ROSPEC, M.DELETE_ROSPEC):
                self._rospec(type_, ROSPEC_ID, CLOSE_TIMEOUT_S, stopping=True)
            self._request(
                commands.simple(M.CLOSE_CONNECTION, self._id(), self._version),
                M.CLOSE_CONNECTION_RESPONSE,
                CLOSE_TIMEOUT_S,
                stopping=True,
            )
        except (_SessionFailure, _Stopped, OSError) as error:
            self._log.info("reader %s: closing: %s", self._config.id, error)
        self._set_connected(False, "stopped")

    # --- requests and answers -------------------------------------------------------------

    def _id(self) -> int:
        self._next_id = self._next_id % 0xFFFFFFFF + 1
        return self._next_id

    def _send(self, message: Message) -> None:
        assert self._sock is not None
        self._sock.sendall(encode_message(message))
        self._count("messages_sent")

    def _rospec(
        self,
        type_: MessageType,
        rospec_id: int,
        timeout_s: float | None = None,
        *,
        stopping: bool = False,
    ) -> Message:
        return self._request(
            commands.rospec_command(type_, self._id(), self._version, rospec_id),
            MessageType(type_ + 10),
            timeout_s,
            stopping=stopping,
        )

    def _request(
        self,
        message: Message,
        answer_type: MessageType,
        timeout_s: float | None = None,
        *,
        stopping: bool = False,
    ) -> Message:
        """Send and wait for the answer with the same message id (or an ERROR_MESSAGE);
        everything else that arrives meanwhile is handled as usual."""
        self._send(message)
        deadline = self._monotonic() + (timeout_s or self._config.response_timeout_s)
        name = M(message.type).name
        while True:
            frames = self._frames(deadline, f"the answer to {name}", stopping=stopping)
            for n, (received_ms, frame) in enumerate(frames):
                if frame.id == message.id and frame.type in (answer_type, M.ERROR_MESSAGE):
                    self._backlog = frames[n + 1 :]
                    answer = self._decode(frame, received_ms)
                    self._delivered()
                    if answer is None:
                        raise _SessionFailure(f"the answer to {name} cannot be decoded")
                    if answer.type == M.ERROR_MESSAGE:
                        self._count("error_messages")
                        self._log.info(
                            "reader %s: %s answered with ERROR_MESSAGE %s",
                            self._config.id,
                            name,
                            status_of(answer),
                        )
                    return answer
                self._handle(frame, received_ms)

    def _require(self, answer: Message, name: str) -> None:
        status = status_of(answer)
        if not status.ok:
            self._count("requests_refused")
            raise _SessionFailure(f"{name} refused: {status}")

    def _frames(
        self, deadline: float | None, waiting_for: str, *, stopping: bool = False
    ) -> list[tuple[int, Frame]]:
        """The next messages from the reader (at least one), with their receive time."""
        if self._backlog:
            backlog, self._backlog = self._backlog, []
            return backlog
        sock = self._sock
        assert sock is not None
        limit_s = self._config.keepalive_s * self._config.missed_keepalives
        while True:
            if self._stop.is_set() and not stopping:
                raise _Stopped
            now = self._monotonic()
            if now - self._last_rx_s > limit_s:
                self._count("dead_links")
                raise _SessionFailure(
                    f"no keepalive for {now - self._last_rx_s:.1f} s "
                    f"({self._config.missed_keepalives} x {self._config.keepalive_s:g} s): "
                    "dead link"
                )
            if deadline is not None and now > deadline:
                self._count("timeouts")
                raise _SessionFailure(f"no answer from the reader: waited for {waiting_for}")
            try:
                chunk = sock.recv(RECV_BYTES)
            except TimeoutError:
                continue
            if not chunk:
                raise _SessionFailure("the reader closed the connection")
            received_ms = self._clock.now_ms()
            self._last_rx_s = self._monotonic()
            try:
                frames = self._framer.feed(chunk)
            except LlrpError as error:
                self._malformed_input(error, "stream")
                raise _SessionFailure(f"the byte stream is not LLRP: {error}") from None
            if frames:
                return [(received_ms, frame) for frame in frames]

    # --- handling what the reader sends ---------------------------------------------------

    def _decode(self, frame: Frame, received_ms: int) -> Message | None:
        if self._on_message is not None:
            self._on_message(received_ms, frame.data)
        try:
            return decode_body(frame.type, frame.body, version=frame.version, msg_id=frame.id)
        except LlrpError as error:
            self._malformed_input(
                error,
                M(frame.type).name
                if frame.type in M._value2member_map_
                else f"message type {frame.type}",
            )
            return None

    def _delivered(self) -> None:
        self._messages_received += 1

    def _handle(self, frame: Frame, received_ms: int) -> list[ReaderEvent]:
        """Any message outside a request/answer pair; returns the events of a notification."""
        try:
            if frame.type == M.RO_ACCESS_REPORT:
                if self._on_message is not None:
                    self._on_message(received_ms, frame.data)
                self._report(frame.data, received_ms)
                return []
            if frame.type == M.KEEPALIVE:
                if self._on_message is not None:
                    self._on_message(received_ms, frame.data)
                self._count("keepalives")
                self._send(commands.simple(M.KEEPALIVE_ACK, frame.id, self._version))
                if self._connected:
                    self._heartbeat(received_ms, "keepalive")
                return []
            message = self._decode(frame, received_ms)
            if message is None:
                return []
            if message.type == M.READER_EVENT_NOTIFICATION:
                return self._notification(message, received_ms)
            if message.type == M.ERROR_MESSAGE:
                self._error_message(message)
            else:
                self._count("unexpected_messages")
                self._log.info(
                    "reader %s: ignoring unexpected message type %d (id %d)",
                    self._config.id,
                    message.type,
                    message.id,
                )
            return []
        finally:
            self._delivered()

    def _report(self, data: bytes, received_ms: int) -> None:
        result = self._decoder.reads(
            data,
            HEADER_LEN,
            self._config.id,
            received_ms,
            self._offset.offset_ms,
            self._max_drift_ms,
        )
        for error in result.errors:
            self._malformed_input(error, "RO_ACCESS_REPORT")
        antennas = self._config.antennas
        on_read = self._on_read
        delivered = 0
        for read in result.reads:
            if read.antenna not in antennas:
                self._count("unmapped_antenna")
                continue
            on_read(read)
            delivered += 1
        with self._lock:
            counters = self._counters
            counters["reports"] += 1
            counters["reads"] += delivered
            counters["clock_drift_corrected"] += result.drift_corrected
            counters["no_rssi"] += result.no_rssi
            counters["no_timestamp"] += result.no_timestamp
            counters["skipped_parameters"] += result.skipped

    def _notification(self, message: Message, received_ms: int) -> list[ReaderEvent]:
        try:
            events = reader_events(message)
        except LlrpError as error:
            self._malformed_input(error, "READER_EVENT_NOTIFICATION")
            return []
        reader_id = self._config.id
        for event in events:
            if event.reader_us is not None:
                before = self._offset.offset_ms
                offset = self._offset.observe(event.reader_us, received_ms)
                if offset != before:
                    self._log.warning(
                        "reader %s: reader clock is %+d ms off; reads corrected", reader_id, -offset
                    )
            self._count(f"event_{event.kind}")
            detail = _event_detail(event)
            if detail is None:
                continue
            if event.kind == "connection_close":
                raise _SessionFailure("the reader closes the connection (ConnectionCloseEvent)")
            log = self._log.info if event.kind == "antenna_connected" else self._log.warning
            log("reader %s: %s", reader_id, detail)
            self._on_status(ReaderStatus(reader_id, True, received_ms, detail))
        return events

    def _error_message(self, message: Message) -> None:
        self._count("error_messages")
        status = status_of(message)
        if message.id == self._events_request_id:
            self._log.info(
                "reader %s: ENABLE_EVENTS_AND_REPORTS not supported (%s); "
                "events and reports flow anyway",
                self._config.id,
                status,
            )
        else:
            self._log.warning(
                "reader %s: ERROR_MESSAGE for message id %d: %s",
                self._config.id,
                message.id,
                status,
            )

    def _malformed_input(self, error: LlrpError, where: str) -> None:
        with self._lock:
            self._malformed[error.reason.value] += 1
            count = self._malformed[error.reason.value]
        if worth_logging(count):
            self._log.warning(
                "reader %s: malformed %s: %s (%d so far)", self._config.id, where, error, count
            )

    def _count(self, name: str) -> None:
        with self._lock:
            self._counters[name] += 1


def _event_detail(event: ReaderEvent) -> str | None:
    """The status detail of an event worth reporting, None for the others."""
    if event.kind == "antenna_disconnected":
        return f"antenna {event.value} disconnected"
    if event.kind == "antenna_connected":
        return f"antenna {event.value} connected"
    if event.kind == "buffer_fill_warning":
        return f"report buffer {event.value} % full"
    if event.kind == "buffer_overflow":
        return "report buffer overflowed: reads were lost"
    if event.kind == "reader_exception":
        return f"reader exception: {event.text}"
    if event.kind == "connection_close":
        return "connection closed by the reader"
    return None
