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
from edge.rfid.r2000 import (
    ErrorResponse,
    InventoryDone,
    R2000Parser,
    TagFrame,
    build_realtime_inventory,
)
from edge.rfid.reader_thread import ReaderThread
from edge.rfid.reads import ReadSink, StatusSink, TagRead

ChunkSink = Callable[[int, bytes], None]
"""Receives ``(receive time ms, bytes)`` for every chunk read from the port (the recorder)."""

RECONNECT_BASE_S = 0.5
"""First reconnect delay; doubled per failed attempt up to the reader's ``reconnect_max_s``."""
READ_CHUNK_BYTES = 65536
POLL_INTERVAL_S = 0.05
"""Longest wait for data in one go, so that ``stop()`` is honoured quickly."""
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
        self._command = build_realtime_inventory(config.address, config.inventory_repeat)
        self._parser = R2000Parser(config.address)
        self._rng = random.Random(config.id)
        self._errors_logged: set[int] = set()
        self._bytes_received = 0
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
        return self._bytes_received

    def stats(self) -> dict[str, int]:
        return {**self._parser.stats, **self._counters, "bytes_received": self._bytes_received}

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
        self._errors_logged.clear()
        wait_fd = _readable_fd(port)
        try:
            self._send(port)
            resend_at_s = time.monotonic() + self._resend_after_s
            while not self._stop.is_set():
                if wait_fd is not None:
                    select.select([wait_fd], [], [], POLL_INTERVAL_S)
                chunk = port.read(READ_CHUNK_BYTES)
                now_s = time.monotonic()
                if chunk:
                    round_done, any_frame = self._handle_chunk(chunk)
                    if round_done:
                        resend_at_s = now_s  # next round at once
                    elif any_frame:
                        resend_at_s = now_s + self._resend_after_s
                elif wait_fd is None:
                    self._stop.wait(IDLE_POLL_S)
                if now_s >= resend_at_s:
                    self._send(port)
                    resend_at_s = now_s + self._resend_after_s
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

    def _handle_chunk(self, chunk: bytes) -> tuple[bool, bool]:
        """Record, parse and deliver one chunk; returns (round completed, any valid frame)."""
        ts_ms = self._clock.now_ms()
        if self._on_chunk is not None:
            self._on_chunk(ts_ms, chunk)
        frames = self._parser.feed(chunk)
        round_done = False
        reader_id = self._config.id
        on_read = self._on_read
        reads = 0
        for frame in frames:
            if type(frame) is TagFrame:
                on_read(
                    TagRead(reader_id, frame.antenna, frame.epc_hex, float(frame.rssi_dbm), ts_ms)
                )
                reads += 1
            elif isinstance(frame, InventoryDone):
                round_done = True
            elif isinstance(frame, ErrorResponse):
                if frame.code in self._errors_logged:
                    continue  # counted in stats; a missing antenna would flood the log
                self._errors_logged.add(frame.code)
                self._log.warning(
                    "reader %s: command 0x%02X failed: 0x%02X %s",
                    reader_id,
                    frame.cmd,
                    frame.code,
                    frame.meaning,
                )
            else:
                self._log.info("reader %s: ignoring response %r", reader_id, frame)
        self._counters["reads"] += reads
        if frames and not reads:
            self._heartbeat(ts_ms, "answering, no tags in view")
        # Only now: whoever waits on bytes_received (the replayer) sees every read delivered.
        self._bytes_received += len(chunk)
        return round_done, bool(frames)

    def _send(self, port: Any) -> None:
        port.write(self._command)
        self._counters["commands_sent"] += 1


def _readable_fd(port: Any) -> int | None:
    """The port's file descriptor to wait on, or None (``loop://``, ``rfc2217://``)."""
    try:
        fd = port.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    return fd if isinstance(fd, int) else None
