"""Driver for the Impinj R700's HTTP event stream: ``GET <url>/api/v1/data/stream``.

The R700's IoT device interface streams reader events as newline-delimited JSON over one
long HTTP response, and sends a bare CR-LF as a keep-alive when it has nothing to say
(``keepAliveIntervalSeconds`` of its ``/http-stream`` settings). Impinj's guidance: read the
stream incrementally, and when no byte (keep-alives included) arrived for 90 s, drop the
connection and reconnect; the reader closes a stream that reads too slowly, that a newer
login with the same credentials replaced, or when it reboots.

A background thread runs an asyncio loop with an ``httpx.AsyncClient`` (basic auth from the
configuration, whose password comes from the environment). Per connection:

- the response status is checked (401/403 are counted as ``auth_failures``, others by code);
  a 200 reports the link up (``ReaderSignal.LINK``, connected);
- bytes are split into lines by :class:`LineSplitter`; each complete line is one reader event,
  parsed by :func:`edge.rfid.impinj.parse_impinj` and handed to
  :class:`~edge.rfid.event_delivery.EventDelivery` (reads, inventory states, overflows);
  an empty line is a keep-alive: a sign of life (``ReaderSignal.READER``), at most every
  ``KEEPALIVE_STATUS_MS``;
- when the stream ends, stalls (``stall_timeout_s``) or fails, the bytes after the last line
  break are looked at once: a whole JSON event that only lacks its line break is delivered,
  anything else is counted as ``truncated_line``, never guessed at. The link is reported
  down, and the driver reconnects after a capped, jittered exponential backoff.

All reads of one chunk carry one timestamp: the injected clock's time when the chunk arrived;
they are delivered before :attr:`ImpinjHttpDriver.bytes_received` counts the chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from edge.clock import Clock
from edge.config.readers import ImpinjHttpReader
from edge.rfid.event_delivery import EventDelivery, EventReaderStats
from edge.rfid.impinj import parse_impinj
from edge.rfid.reads import ReaderSignal, ReaderStatus, ReadSink, StatusSink
from edge.rfid.serial_reader import backoff_delay_s

ChunkSink = Callable[[int, bytes], None]
"""Receives ``(receive time ms, bytes)`` for every chunk read from the stream (the recorder)."""

STREAM_PATH = "/api/v1/data/stream"
MAX_LINE_BYTES = 1 << 20
"""A line longer than this is no reader event: dropped (``line_too_long``) up to its end."""
KEEPALIVE_STATUS_MS = 5000
"""Keep-alives are reported as signs of life at most this often."""
STOP_JOIN_S = 5.0
TRUNCATED_LINE = "truncated_line"
LINE_TOO_LONG = "line_too_long"


class LineSplitter:
    """Bytes of a stream -> complete lines, whatever the chunking (pure, no I/O).

    Lines end with LF; a CR before it is dropped. Bytes after the last LF wait for the next
    chunk, or for :meth:`cut` when the stream ends.
    """

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._max = max_line_bytes
        self._pending = bytearray()
        self._discarding = False
        self.too_long = 0
        """Lines dropped for exceeding ``max_line_bytes``."""

    def feed(self, chunk: bytes) -> list[bytes]:
        lines: list[bytes] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                break
            if self._discarding:
                self._discarding = False
            else:
                self._pending += chunk[start:end]
                if len(self._pending) > self._max:
                    self.too_long += 1
                else:
                    lines.append(bytes(self._pending).removesuffix(b"\r"))
            self._pending.clear()
            start = end + 1
        if not self._discarding:
            self._pending += chunk[start:]
            if len(self._pending) > self._max:
                self.too_long += 1
                self._pending.clear()
                self._discarding = True
        return lines

    def cut(self) -> bytes:
        """The bytes after the last line break (the stream ended); the splitter starts afresh."""
        rest = bytes(self._pending).removesuffix(b"\r")
        self._pending.clear()
        self._discarding = False
        return rest


@dataclass(frozen=True, slots=True)
class ImpinjHttpStats(EventReaderStats):
    connected: bool = False
    connects: int = 0
    """Streams opened (HTTP 200)."""
    disconnects: int = 0
    """Open streams that ended: closed by the reader, cut, or stalled."""
    stalls: int = 0
    """Streams dropped after ``stall_timeout_s`` without a byte."""
    connect_errors: int = 0
    """Attempts that reached no HTTP answer (refused, unreachable, TLS, timeout)."""
    auth_failures: int = 0
    """HTTP 401/403: wrong username or password."""
    http_errors: int = 0
    """Other HTTP answers than 200."""
    lines: int = 0
    """Non-empty lines (reader events) taken from the stream."""
    keepalives: int = 0
    bytes_received: int = 0


class _StreamEnded(Exception):
    """The open stream ended; ``reason`` says how."""

    def __init__(self, reason: str, *, stalled: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.stalled = stalled


class ImpinjHttpDriver:
    def __init__(
        self,
        config: ImpinjHttpReader,
        clock: Clock,
        on_read: ReadSink,
        on_status: StatusSink,
        *,
        on_chunk: ChunkSink | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.config = config
        self.url = config.url.rstrip("/") + STREAM_PATH
        self._clock = clock
        self._on_status = on_status
        self._on_chunk = on_chunk
        self._log = logger or logging.getLogger(__name__)
        self._delivery = EventDelivery(config, on_read, on_status, self._log)
        self._max_drift_ms = round(config.max_clock_drift_s * 1000)
        self._splitter = LineSplitter()
        self._rng = random.Random(config.id)
        self._lock = threading.Lock()
        self._connected: bool | None = None
        self._last_keepalive_status_ms: int | None = None
        self._counters = {
            "connects": 0,
            "disconnects": 0,
            "stalls": 0,
            "connect_errors": 0,
            "auth_failures": 0,
            "http_errors": 0,
            "lines": 0,
            "keepalives": 0,
        }
        self._bytes_received = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = threading.Event()

    # --- public ---------------------------------------------------------------------------

    @property
    def reader_id(self) -> str:
        return self.config.id

    @property
    def connected(self) -> bool:
        return bool(self._connected)

    @property
    def bytes_received(self) -> int:
        """Bytes read so far; all reads from these bytes have been delivered."""
        return self._bytes_received

    def stats(self) -> ImpinjHttpStats:
        counts = self._delivery.counts()
        with self._lock:
            link = dict(self._counters)
            bytes_received = self._bytes_received
        return ImpinjHttpStats(
            **{name: getattr(counts, name) for name in EventReaderStats.__dataclass_fields__},
            connected=bool(self._connected),
            connects=link["connects"],
            disconnects=link["disconnects"],
            stalls=link["stalls"],
            connect_errors=link["connect_errors"],
            auth_failures=link["auth_failures"],
            http_errors=link["http_errors"],
            lines=link["lines"],
            keepalives=link["keepalives"],
            bytes_received=bytes_received,
        )

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"reader {self.reader_id}: driver already started")
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name=f"impinj-http-{self.reader_id}", daemon=True
        )
        self._thread.start()
        ready.wait(STOP_JOIN_S)

    def stop(self) -> None:
        """End the stream and the thread; reports no status (the edge is stopping)."""
        self._stopping.set()
        thread, loop, task = self._thread, self._loop, self._task
        if thread is None or not thread.is_alive():
            return
        if loop is not None and task is not None:
            # RuntimeError: the loop closed meanwhile, the thread is ending anyway.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        thread.join(STOP_JOIN_S)

    # --- the thread -----------------------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        try:
            self._loop = loop
            self._task = loop.create_task(self._main())
            ready.set()
            if self._stopping.is_set():
                self._task.cancel()
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        finally:
            loop.close()

    async def _main(self) -> None:
        attempt = 0
        async with httpx.AsyncClient(
            auth=self._auth(),
            verify=self._verify(),
            timeout=httpx.Timeout(
                self.config.stall_timeout_s, connect=self.config.connect_timeout_s
            ),
        ) as client:
            while not self._stopping.is_set():
                if await self._session(client):
                    attempt = 0
                attempt += 1
                delay_s = backoff_delay_s(attempt, self.config.reconnect_max_s, self._rng)
                await asyncio.sleep(delay_s)

    def _auth(self) -> httpx.BasicAuth | None:
        config = self.config
        if config.username is None or config.password is None:
            return None
        return httpx.BasicAuth(config.username, config.password)

    def _verify(self) -> ssl.SSLContext | bool:
        if not self.config.verify_tls:
            return False
        if self.config.ca_file is not None:
            return ssl.create_default_context(cafile=self.config.ca_file)
        return True

    async def _session(self, client: httpx.AsyncClient) -> bool:
        """One connection; True when the reader answered 200 (the backoff starts afresh)."""
        opened = False
        try:
            async with client.stream("GET", self.url) as response:
                if response.status_code != 200:
                    self._refused(response.status_code)
                    return False
                opened = True
                self._count("connects")
                self._link(True, f"HTTP stream {self.url} open")
                await self._consume(response)
        except _StreamEnded as ended:
            self._ended(ended)
        except httpx.HTTPError as error:
            if opened:  # closing a broken stream can fail too: it ended all the same
                self._ended(_StreamEnded(_describe(error)))
            else:
                self._count("connect_errors")
                self._link(False, f"HTTP stream {self.url}: {_describe(error)}")
        else:
            if opened:
                self._ended(_StreamEnded("the reader closed the stream"))
        return opened

    async def _consume(self, response: httpx.Response) -> None:
        try:
            async for chunk in response.aiter_bytes():
                self._chunk(chunk)
        except httpx.TimeoutException:
            raise _StreamEnded(
                f"no byte for {self.config.stall_timeout_s:g} s (stalled)", stalled=True
            ) from None
        except httpx.HTTPError as error:
            raise _StreamEnded(_describe(error)) from None

    def _chunk(self, chunk: bytes) -> None:
        received_ms = self._clock.now_ms()
        try:
            if self._on_chunk is not None:
                self._on_chunk(received_ms, chunk)
            too_long = self._splitter.too_long
            lines = self._splitter.feed(chunk)
            for _ in range(self._splitter.too_long - too_long):
                self._delivery.count_malformed(
                    LINE_TOO_LONG, f"a line over {MAX_LINE_BYTES} bytes dropped", self.url
                )
            for line in lines:
                self._line(line, received_ms)
        finally:
            with self._lock:
                self._bytes_received += len(chunk)

    def _line(self, line: bytes, received_ms: int) -> None:
        if not line.strip():
            self._keepalive(received_ms)
            return
        self._count("lines")
        result = parse_impinj(line, self.reader_id, received_ms, self._max_drift_ms)
        self._delivery.deliver(result, received_ms, self.url)

    def _keepalive(self, received_ms: int) -> None:
        self._count("keepalives")
        last = self._last_keepalive_status_ms
        if last is not None and received_ms - last < KEEPALIVE_STATUS_MS:
            return
        self._last_keepalive_status_ms = received_ms
        self._on_status(
            ReaderStatus(
                self.reader_id, True, received_ms, "HTTP stream keep-alive", ReaderSignal.READER
            )
        )

    def _ended(self, ended: _StreamEnded) -> None:
        """The open stream is over: judge its last, unterminated bytes, then report."""
        rest = self._splitter.cut()
        if rest.strip():
            received_ms = self._clock.now_ms()
            result = parse_impinj(rest, self.reader_id, received_ms, self._max_drift_ms)
            if result.errors:
                self._delivery.count_malformed(
                    TRUNCATED_LINE, f"{len(rest)} bytes of an unfinished event dropped", self.url
                )
            else:
                self._count("lines")  # a whole event that only lacked its line break
                self._delivery.deliver(result, received_ms, self.url)
        self._count("disconnects")
        if ended.stalled:
            self._count("stalls")
        self._link(False, f"HTTP stream {self.url} ended: {ended.reason}")

    def _refused(self, status_code: int) -> None:
        if status_code in (401, 403):
            self._count("auth_failures")
            why = f"HTTP {status_code}: the reader refused the credentials (username, password)"
        else:
            self._count("http_errors")
            why = f"HTTP {status_code}"
        self._link(False, f"HTTP stream {self.url}: {why}")

    def _count(self, name: str) -> None:
        with self._lock:
            self._counters[name] += 1

    def _link(self, connected: bool, detail: str) -> None:
        """Report a change of the stream's state (changes only, like the serial driver)."""
        if self._connected is connected:
            return
        self._connected = connected
        if connected:
            self._log.info("reader %s: %s", self.reader_id, detail)
        else:
            self._log.warning("reader %s: %s", self.reader_id, detail)
        self._on_status(ReaderStatus(self.reader_id, connected, self._clock.now_ms(), detail))


def _describe(error: httpx.HTTPError) -> str:
    text = str(error) or "no detail"
    return f"{type(error).__name__} ({text})"
