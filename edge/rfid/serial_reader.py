"""Driver for R2000-family serial readers: a thin I/O shell around :mod:`edge.rfid.r2000`.

A background thread opens the port with ``serial.serial_for_url`` (so a device path, a
pseudo-terminal, ``socket://``, ``rfc2217://`` and ``loop://`` all work), keeps real-time
inventory running, and turns tag frames into :class:`TagRead`. When the port disappears or
fails it reconnects with capped, jittered exponential backoff and reports each connection
change as a :class:`ReaderStatus`.

Determinism for replay: every read of a chunk carries one timestamp, taken from the injected
clock when the chunk arrived, and all reads of a chunk are delivered before
:attr:`R2000SerialDriver.bytes_received` counts the chunk's bytes.
"""

from __future__ import annotations

import logging
import random
import select
import time
from collections.abc import Callable
from typing import Any

import serial

from edge.clock import Clock
from edge.config.readers import R2000SerialReader
from edge.progress import Progress
from edge.rfid.r2000 import ErrorResponse, Frame, R2000Parser, TagFrame
from edge.rfid.r2000_inventory import InventoryCommander
from edge.rfid.reader_thread import ReaderThread
from edge.rfid.reads import ReadSink, StatusSink, TagRead

ChunkSink = Callable[[int, bytes], None]
"""Receives ``(receive time ms, bytes)`` for every chunk read from the port (the recorder)."""

RECONNECT_BASE_S = 0.5
"""First reconnect delay; doubled per failed attempt up to the reader's ``reconnect_max_s``."""
READ_CHUNK_BYTES = 65536
POLL_INTERVAL_S = 0.05
"""Longest wait for data in one go, so that ``stop()`` is honoured quickly."""
HELD_POLL_S = 0.002
"""Longest wait while bytes are held for an unfinished frame (their idle flush may be due)."""
IDLE_POLL_S = 0.01
"""Sleep between polls of ports without a file descriptor (``loop://``, ``rfc2217://``)."""


def backoff_delay_s(attempt: int, cap_s: float, rng: random.Random) -> float:
    """Delay before reconnect attempt ``attempt`` (1-based): exponential, capped, and
    jittered into its upper half so that many readers do not retry in lock-step."""
    ceiling = min(cap_s, RECONNECT_BASE_S * 2 ** min(attempt - 1, 30))
    return rng.uniform(ceiling / 2, ceiling)


class R2000SerialDriver(ReaderThread):
    def __init__(
        self,
        config: R2000SerialReader,
        clock: Clock,
        on_read: ReadSink,
        on_status: StatusSink,
        *,
        on_chunk: ChunkSink | None = None,
        logger: logging.Logger | None = None,
        resend_after_s: float = 1.0,
    ) -> None:
        """``resend_after_s``: re-send the inventory command after this long without a valid
        frame; an error response (say "antenna missing") is such a frame, so a failing reader
        is retried at this pace, not hammered."""
        log = logger or logging.getLogger(__name__)
        super().__init__(config, clock, on_read, on_status, log, f"r2000-{config.id}")
        self._config = config
        self._on_chunk = on_chunk
        self._resend_after_s = resend_after_s
        self._commander = InventoryCommander(config, round(resend_after_s * 1000))
        self._parser = R2000Parser(config.address)
        self._held_due_ms: int | None = None
        self._rng = random.Random(config.id)
        self._errors_logged: set[int] = set()
        self._bytes_received = Progress()
        self._counters = {
            "reconnects": 0,
            "open_errors": 0,
            "read_errors": 0,
            "commands_sent": 0,
            "reads": 0,
        }

    # --- public ---------------------------------------------------------------------------

    @property
    def reader_id(self) -> str:
        return self._config.id

    @property
    def bytes_received(self) -> int:
        """Bytes read so far; all reads from these bytes have been delivered."""
        return self._bytes_received.count

    @property
    def held_due_ms(self) -> int | None:
        """Event time by which bytes held without a complete frame are flushed (None: none
        held). Published after the reads of the chunk that left them are delivered, so a
        replayer that moves the clock past it can wait until they are flushed."""
        return self._held_due_ms

    def wait_until(self, done: Callable[[], bool], timeout_s: float) -> bool:
        """Block until ``done()`` holds, checked whenever :attr:`bytes_received` or
        :attr:`held_due_ms` moves (the replayer's hand-over); False after ``timeout_s``."""
        return self._bytes_received.wait_until(done, timeout_s)

    def stats(self) -> dict[str, int]:
        return {
            **self._parser.stats,
            **self._counters,
            "commands_sent": self._commander.commands_sent,
            "missing_antennas": len(self._commander.missing_antennas),
            "bytes_received": self._bytes_received.count,
        }

    # --- thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        attempt = 0
        ever_connected = False
        while not self._stop.is_set():
            try:
                port = serial.serial_for_url(
                    self._config.port, baudrate=self._config.baudrate, timeout=0
                )
            except (serial.SerialException, OSError, ValueError) as error:
                self._counters["open_errors"] += 1
                self._set_connected(False, f"cannot open {self._config.port}: {error}")
            else:
                if ever_connected:
                    self._counters["reconnects"] += 1
                ever_connected = True
                attempt = 0
                self._set_connected(True, f"opened {self._config.port}")
                failure = self._session(port)
                if failure is None:
                    return  # stopped on request: the owner knows, no status change to report
                self._set_connected(False, failure)
            attempt += 1
            delay_s = backoff_delay_s(attempt, self._config.reconnect_max_s, self._rng)
            self._log.info(
                "reader %s: reconnecting in %.2f s (attempt %d)", self._config.id, delay_s, attempt
            )
            self._stop.wait(delay_s)

    def _session(self, port: Any) -> str | None:
        """Inventory until the port fails (returns why) or the driver stops (None)."""
        self._parser.reset()
        self._held_due_ms = None
        self._errors_logged.clear()
        wait_fd = _readable_fd(port)
        commander = self._commander
        try:
            self._write(port, commander.start(_monotonic_ms()))
            while not self._stop.is_set():
                if wait_fd is not None:
                    # Bytes held for a frame look at the clock often: their flush is due soon.
                    wait_s = POLL_INTERVAL_S if self._held_due_ms is None else HELD_POLL_S
                    select.select([wait_fd], [], [], wait_s)
                chunk = port.read(READ_CHUNK_BYTES)
                now_ms = _monotonic_ms()
                if chunk:
                    frames = self._handle_chunk(chunk)
                else:
                    frames = self._flush_idle()
                    if wait_fd is None:
                        self._stop.wait(IDLE_POLL_S)
                command = commander.on_frames(frames, now_ms) or commander.due(now_ms)
                if command is not None:
                    self._write(port, command)
            return None
        except (serial.SerialException, OSError) as error:
            self._counters["read_errors"] += 1
            self._log.warning("reader %s: port failed: %s", self._config.id, error)
            return f"port failed: {error}"
        except Exception:
            # A failing sink must not kill the reader thread for good: log, reopen, go on.
            self._counters["read_errors"] += 1
            self._log.exception("reader %s: driver error", self._config.id)
            return "driver error"
        finally:
            port.close()

    def _handle_chunk(self, chunk: bytes) -> list[Frame]:
        """Record, parse and deliver one chunk; returns its frames."""
        ts_ms = self._clock.now_ms()
        if self._on_chunk is not None:
            self._on_chunk(ts_ms, chunk)
        # Bytes held from before an idle gap are flushed first, stamped with their own time.
        flushed_ms = self._parser.last_bytes_ms
        flushed = self._parser.flush_idle(ts_ms)
        if flushed and flushed_ms is not None:
            self._deliver(flushed, flushed_ms)
        frames = self._parser.feed(chunk, ts_ms)
        self._deliver(frames, ts_ms)
        # Only now: whoever waits on bytes_received (the replayer) sees every read delivered.
        self._held_due_ms = self._parser.flush_due_ms()
        self._bytes_received.advance(len(chunk))
        return flushed + frames

    def _flush_idle(self) -> list[Frame]:
        """The frames held behind a dead candidate once the line has been idle long enough
        (event time: the injected clock), delivered with the time their bytes arrived."""
        due = self._parser.flush_due_ms()
        if due is None or self._clock.now_ms() < due:
            return []
        arrived_ms = self._parser.last_bytes_ms
        frames = self._parser.flush_idle(self._clock.now_ms())
        if arrived_ms is not None:
            self._deliver(frames, arrived_ms)
        self._held_due_ms = self._parser.flush_due_ms()
        self._bytes_received.changed()
        return frames

    def _deliver(self, frames: list[Frame], ts_ms: int) -> None:
        reader_id = self._config.id
        on_read = self._on_read
        reads = 0
        for frame in frames:
            if type(frame) is TagFrame:
                on_read(
                    TagRead(reader_id, frame.antenna, frame.epc_hex, float(frame.rssi_dbm), ts_ms)
                )
                reads += 1
            elif isinstance(frame, ErrorResponse):
                key = frame.code if frame.antenna is None else (frame.antenna << 8) | frame.code
                if key in self._errors_logged:
                    continue  # counted in stats; a missing antenna would flood the log
                self._errors_logged.add(key)
                where = "" if frame.antenna is None else f" on antenna {frame.antenna}"
                self._log.warning(
                    "reader %s: command 0x%02X failed%s: 0x%02X %s",
                    reader_id,
                    frame.cmd,
                    where,
                    frame.code,
                    frame.meaning,
                )
        self._counters["reads"] += reads
        if frames and not reads:
            self._heartbeat(ts_ms, "answering, no tags in view")

    def _write(self, port: Any, command: bytes) -> None:
        port.write(command)


def _monotonic_ms() -> int:
    """Time for the command timers only (resend after silence): never an event time."""
    return int(time.monotonic() * 1000)


def _readable_fd(port: Any) -> int | None:
    """The port's file descriptor to wait on, or None (``loop://``, ``rfc2217://``)."""
    try:
        fd = port.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    return fd if isinstance(fd, int) else None
