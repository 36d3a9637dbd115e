"""The owner loop: the only thread that touches the store's state (docs/architecture.md).

Drivers, the ticker and the replayer hand it inputs through a queue; it feeds them to the
:class:`~edge.runtime.core.StoreCore` one at a time and passes every resulting event to the
sinks in order. A slow sink never stalls the drivers, which only enqueue.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from edge.events.base import Event
from edge.rfid.reads import ReaderStatus, TagRead
from edge.runtime.core import StoreCore
from edge.vision.face_tracker import MemberSeenObservation, ZoneVisitorsObservation
from edge.vision.frames import CameraStatus

log = logging.getLogger(__name__)


class EventSink(Protocol):
    def emit(self, event: Event) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Tick:
    now_ms: int


@dataclass(slots=True)
class Barrier:
    """Processed after everything queued before it: the replayer's synchronisation point."""

    done: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True, slots=True)
class Call:
    """Run a function on the owner thread (snapshots for the API, config changes)."""

    fn: Callable[[StoreCore], Any]
    reply: queue.SimpleQueue[object]


@dataclass(frozen=True, slots=True)
class _Failure:
    error: Exception


T = TypeVar("T")
_STOP = object()


class OwnerLoop:
    def __init__(self, core: StoreCore, sinks: Sequence[EventSink]) -> None:
        self.core = core
        self.sinks = list(sinks)
        self._inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="owner-loop", daemon=True)
        self.events_emitted = 0
        self.sink_errors = 0

    # Thread-safe inputs -------------------------------------------------------------------
    def submit_read(self, read: TagRead) -> None:
        self._inbox.put(read)

    def submit_status(self, status: ReaderStatus) -> None:
        self._inbox.put(status)

    def submit_camera_status(self, status: CameraStatus) -> None:
        self._inbox.put(status)

    def submit_observation(
        self, observation: MemberSeenObservation | ZoneVisitorsObservation
    ) -> None:
        self._inbox.put(observation)

    def submit_tick(self, now_ms: int) -> None:
        self._inbox.put(Tick(now_ms))

    def sync(self, timeout_s: float = 30.0) -> None:
        """Block until every input queued so far has been processed and emitted."""
        barrier = Barrier()
        self._inbox.put(barrier)
        if not barrier.done.wait(timeout_s):
            raise TimeoutError("the owner loop did not catch up in time")

    def call(self, fn: Callable[[StoreCore], T], timeout_s: float = 5.0) -> T:
        """Run ``fn(core)`` on the owner thread and return its result (or raise its error)."""
        reply: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._inbox.put(Call(fn, reply))
        outcome = reply.get(timeout=timeout_s)
        if isinstance(outcome, _Failure):
            raise outcome.error
        return outcome  # type: ignore[return-value]

    def call_emitting(
        self, fn: Callable[[StoreCore], tuple[T, list[Event]]], timeout_s: float = 5.0
    ) -> T:
        """Like :meth:`call` for a change of state: ``fn`` returns ``(result, events)`` and the
        events go to the sinks, in order with every other event, before the result returns."""

        def run(core: StoreCore) -> T:
            result, events = fn(core)
            self.emit(events)
            return result

        return self.call(run, timeout_s)

    # Lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._inbox.put(_STOP)
        self._thread.join(timeout=10)
        for sink in self.sinks:
            sink.close()

    def _run(self) -> None:
        core = self.core
        while True:
            item = self._inbox.get()
            if item is _STOP:
                return
            try:
                if isinstance(item, TagRead):
                    events = core.handle_read(item)
                elif isinstance(item, Tick):
                    events = core.tick(item.now_ms)
                elif isinstance(item, ReaderStatus):
                    events = core.handle_reader_status(item)
                elif isinstance(item, MemberSeenObservation | ZoneVisitorsObservation):
                    events = core.handle_observation(item)
                elif isinstance(item, CameraStatus):
                    events = core.handle_camera_status(item)
                elif isinstance(item, Barrier):
                    item.done.set()
                    continue
                elif isinstance(item, Call):
                    try:
                        item.reply.put(item.fn(core))
                    except Exception as error:
                        item.reply.put(_Failure(error))
                    continue
                else:
                    raise TypeError(f"no handler for {type(item).__name__}")
            except Exception:
                log.exception("owner loop: input %r failed; continuing", type(item).__name__)
                continue
            self.emit(events)

    def emit(self, events: list[Event]) -> None:
        """Hand events to every sink, in order. Owner thread only: inputs, and functions run
        through :meth:`call` that change the state and so cause events."""
        for event in events:
            self._emit_one(event)

    def _emit_one(self, event: Event) -> None:
        self.events_emitted += 1
        for sink in self.sinks:
            try:
                sink.emit(event)
            except Exception:
                self.sink_errors += 1
                log.exception("sink %s failed on %s", type(sink).__name__, event.type)
