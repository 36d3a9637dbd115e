"""What the threaded reader drivers (R2000 serial, LLRP) share: one background thread,
started once and stopped on request, connection changes reported as :class:`ReaderStatus` on
change only, and signs of life (a reader answering with no tags in view) reported at most
every :data:`HEARTBEAT_MS`, so a quiet reader does not look offline and the owner loop is not
flooded."""

from __future__ import annotations

import logging
import threading

from edge.clock import Clock
from edge.config.readers import ReaderBase
from edge.rfid.reads import ReaderStatus, ReadSink, StatusSink

HEARTBEAT_MS = 5000


class ReaderThread:
    def __init__(
        self,
        config: ReaderBase,
        clock: Clock,
        on_read: ReadSink,
        on_status: StatusSink,
        logger: logging.Logger,
        thread_name: str,
    ) -> None:
        self._log = logger
        self._clock = clock
        self._on_read = on_read
        self._on_status = on_status
        self._thread_reader_id = config.id
        self._thread_name = thread_name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected: bool | None = None
        self._last_heartbeat_ms: int | None = None

    @property
    def connected(self) -> bool:
        return bool(self._connected)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"reader {self._thread_reader_id}: driver already started")
        self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                self._log.warning("reader %s: driver thread did not stop", self._thread_reader_id)

    def _run(self) -> None:
        raise NotImplementedError

    def _heartbeat(self, ts_ms: int, detail: str) -> None:
        if self._last_heartbeat_ms is not None and ts_ms - self._last_heartbeat_ms < HEARTBEAT_MS:
            return
        self._last_heartbeat_ms = ts_ms
        self._on_status(ReaderStatus(self._thread_reader_id, True, ts_ms, detail))

    def _set_connected(self, connected: bool, detail: str) -> None:
        if connected == self._connected:
            return
        self._connected = connected
        log = self._log.info if connected else self._log.warning
        log("reader %s: %s", self._thread_reader_id, detail)
        self._on_status(
            ReaderStatus(self._thread_reader_id, connected, self._clock.now_ms(), detail)
        )
