"""What the Zebra and Impinj drivers do with a parsed message, whatever carried it.

:class:`EventDelivery` takes :class:`~edge.rfid.mqtt_payloads.ParseResult` s of one reader,
delivers the reads whose antenna maps to a zone, turns what the events say about the reader
into :class:`~edge.rfid.reads.ReaderStatus` es, and counts everything by reason. It holds the
reader's event-number sequence (lost events) and its counters; it does no I/O, and it is fed
from one thread at a time (the driver's), while :meth:`counts` may be read from any thread.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass

from edge.config.readers import NO_ANTENNA_PORT, EventReaderBase
from edge.mqtt.client import worth_logging
from edge.rfid.mqtt_payloads import Malformed, ParseResult, ReaderNotice
from edge.rfid.reads import (
    NO_ANTENNA,
    ReaderSignal,
    ReaderStatus,
    ReadSink,
    StatusSink,
)

assert NO_ANTENNA == NO_ANTENNA_PORT  # the configuration's port 0 is the reads' "no antenna"


class EventSequence:
    """Gaps in a reader's event numbers (Zebra ``eventNum``): events that never arrived.

    A number more than one past the previous means the ones between were lost. A number at or
    below the previous means the reader restarted its numbering (or the broker delivered an
    event twice): counted as a reset, and the sequence goes on from it.
    """

    def __init__(self) -> None:
        self._last: int | None = None
        self.lost = 0
        self.resets = 0

    def observe(self, number: int) -> int:
        """Take the next event number; return how many events it shows lost."""
        last, self._last = self._last, number
        if last is None or number == last + 1:
            return 0
        if number > last + 1:
            gap = number - last - 1
            self.lost += gap
            return gap
        self.resets += 1
        return 0


@dataclass(frozen=True, slots=True)
class EventReaderStats:
    """Counters of one Zebra or Impinj reader's events (all since the driver started)."""

    reader_id: str
    reads: int
    """Reads delivered."""
    malformed: dict[str, int]
    """Rejected objects, messages or lines, by reason (``MalformedReason`` values, and the
    transport's own: ``truncated_line``, ``line_too_long``, ``unknown_status_message``)."""
    ignored: dict[str, int]
    """Recognised events without a tag, by event type."""
    clock_drift_corrected: int
    unmapped_antenna: int
    """Reads from an antenna port the configuration does not map: dropped."""
    no_antenna: int
    """Reads that reported no antenna from a reader without ``default_zone``: dropped."""
    lost_events: int
    """Events the reader dropped (Impinj overflow ``eventsPurged``) or that never arrived
    (gaps in Zebra ``eventNum``)."""
    event_num_resets: int
    """Times the reader's event numbering restarted (reboot) or repeated."""
    overflows: int
    """Impinj ``overflowEvent`` s: the reader's event buffer overflowed."""


class EventDelivery:
    def __init__(
        self,
        config: EventReaderBase,
        on_read: ReadSink,
        on_status: StatusSink,
        logger: logging.Logger,
    ) -> None:
        self.reader_id = config.id
        self._ports = frozenset(config.port_zones())
        self._on_read = on_read
        self._on_status = on_status
        self._log = logger
        self._sequence = EventSequence()
        self._lock = threading.Lock()  # counts() runs on other threads
        self._reads = 0
        self._malformed: Counter[str] = Counter()
        self._ignored: Counter[str] = Counter()
        self._drift_corrected = 0
        self._unmapped = 0
        self._no_antenna = 0
        self._purged = 0
        self._overflows = 0

    def deliver(self, result: ParseResult, received_ms: int, where: str) -> None:
        """Hand out the reads of one message, then the statuses it implies; count the rest.

        ``where`` names the message's origin in log lines (a topic, a stream URL).
        """
        self._account(result, where)
        for read in result.reads:
            if read.antenna not in self._ports:
                self._drop(read.antenna)
                continue
            self._on_read(read)
            with self._lock:
                self._reads += 1
        lost = sum(self._sequence.observe(number) for number in result.event_nums)
        if lost:
            self._log.warning(
                "reader %s: %d events lost (event numbers skipped) on %s",
                self.reader_id,
                lost,
                where,
            )
            self._status(received_ms, f"{lost} events missing from the event numbers", lost)
        self._notices(result.notices, bool(result.reads), received_ms)

    def malformed(self, error: Malformed, where: str) -> None:
        """Count (and log, sparingly) one rejected message, object or line."""
        with self._lock:
            self._malformed[error.reason.value] += 1
            count = self._malformed[error.reason.value]
        if worth_logging(count):
            self._log.warning(
                "reader %s: malformed data on %s: %s (%d so far)",
                self.reader_id,
                where,
                error,
                count,
            )

    def count_malformed(self, reason: str, detail: str, where: str) -> None:
        """A transport-level rejection (cut line, unknown status payload), by reason."""
        with self._lock:
            self._malformed[reason] += 1
            count = self._malformed[reason]
        if worth_logging(count):
            self._log.warning(
                "reader %s: %s on %s: %s (%d so far)", self.reader_id, reason, where, detail, count
            )

    def counts(self) -> EventReaderStats:
        with self._lock:
            return EventReaderStats(
                reader_id=self.reader_id,
                reads=self._reads,
                malformed=dict(self._malformed),
                ignored=dict(self._ignored),
                clock_drift_corrected=self._drift_corrected,
                unmapped_antenna=self._unmapped,
                no_antenna=self._no_antenna,
                lost_events=self._purged + self._sequence.lost,
                event_num_resets=self._sequence.resets,
                overflows=self._overflows,
            )

    # -- internals -------------------------------------------------------------------------

    def _account(self, result: ParseResult, where: str) -> None:
        for error in result.errors:
            self.malformed(error, where)
        with self._lock:
            self._drift_corrected += result.clock_drift_corrected
            for notice in result.notices:
                self._ignored[notice.event_type] += 1
                self._purged += notice.lost_events
                if notice.event_type == "overflow":
                    self._overflows += 1
            counts = [self._ignored[notice.event_type] for notice in result.notices]
        for notice, count in zip(result.notices, counts, strict=True):
            level = logging.INFO if count == 1 else logging.DEBUG
            self._log.log(level, "reader %s: %s event (no tag)", self.reader_id, notice.event_type)

    def _drop(self, antenna: int) -> None:
        with self._lock:
            if antenna == NO_ANTENNA:
                self._no_antenna += 1
                count = self._no_antenna
            else:
                self._unmapped += 1
                count = self._unmapped
        if not worth_logging(count):
            return
        if antenna == NO_ANTENNA:
            self._log.warning(
                "reader %s: a read without antenna and no default_zone configured; read "
                "dropped (%d so far)",
                self.reader_id,
                count,
            )
        else:
            self._log.warning(
                "reader %s: antenna %d is not in the configuration; read dropped (%d so far)",
                self.reader_id,
                antenna,
                count,
            )

    def _notices(self, notices: list[ReaderNotice], had_reads: bool, received_ms: int) -> None:
        """Every notice that says something (state, loss) becomes a status; plain signs of
        life one status per message at most, and none beside reads (reads are signs too)."""
        plain: ReaderNotice | None = None
        for notice in notices:
            if notice.state is None and not notice.lost_events:
                plain = notice
                continue
            if notice.lost_events:
                self._log.warning(
                    "reader %s: %s event, %d events lost (%s)",
                    self.reader_id,
                    notice.event_type,
                    notice.lost_events,
                    notice.detail,
                )
            elif notice.state is not None:
                self._log.info(
                    "reader %s: %s event, %s", self.reader_id, notice.event_type, notice.state
                )
            self._on_status(
                ReaderStatus(
                    self.reader_id,
                    True,
                    received_ms,
                    _detail(notice),
                    ReaderSignal.READER,
                    notice.state,
                    notice.lost_events,
                )
            )
        if plain is not None and not had_reads:
            self._on_status(
                ReaderStatus(self.reader_id, True, received_ms, _detail(plain), ReaderSignal.READER)
            )

    def _status(self, received_ms: int, detail: str, lost: int) -> None:
        self._on_status(
            ReaderStatus(self.reader_id, True, received_ms, detail, ReaderSignal.READER, None, lost)
        )


def _detail(notice: ReaderNotice) -> str:
    text = f"{notice.event_type} event"
    return f"{text}: {notice.detail}" if notice.detail else text
