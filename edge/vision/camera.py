"""One camera end to end: source -> frame queue -> recognition worker -> face tracker.

Two ways to drive it:

- **Live** (:meth:`CameraRunner.start`): a reader thread grabs frames into the bounded queue
  (the oldest is dropped when recognition falls behind); a recognition thread takes them, asks
  the worker, feeds the tracker and hands every observation to ``on_observation``. When no
  frame comes it ticks the tracker with the clock (tracks end, minutes close) and checks the
  source for a stall. A frame whose recognition fails (worker died) is lost and counted.
- **Replay** (:meth:`CameraRunner.step` per recorded frame, in timestamp order, then
  :meth:`CameraRunner.finish`): synchronous, every frame processed, observations returned —
  the same frames give the same observations.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from edge.clock import Clock, SystemClock
from edge.config.cameras import CameraConfig
from edge.vision.face_tracker import FaceMatch, FaceTracker, Observation
from edge.vision.frame_queue import FrameQueue
from edge.vision.frames import Frame
from edge.vision.sources import Capture, LiveCameraSource, StatusSink
from edge.vision.worker import RecognitionError

log = logging.getLogger(__name__)

IDLE_TICK_S = 0.5
"""How often the live recognition thread ticks the tracker when no frame arrives."""


class Recogniser(Protocol):
    """The recognition worker as the camera sees it (edge.vision.worker.RecognitionWorker)."""

    def recognise(self, image: np.ndarray[Any, Any]) -> list[FaceMatch]:
        """Faces in one BGR frame; raises RecognitionError when it cannot answer."""
        ...


ObservationSink = Callable[[Observation], None]


@dataclass(frozen=True, slots=True)
class CameraStats:
    camera_id: str
    online: bool
    frames_processed: int
    frames_dropped: int
    """Dropped by the frame queue because recognition fell behind."""
    frames_lost: int
    """Taken for recognition but lost to a worker failure."""
    queue_depth: int
    active_tracks: int
    source_errors: dict[str, int]
    """Live source problems by kind: open_failed, stream_lost, stalled."""
    last_frame_ms: int | None = None
    """Capture time of the last frame recognised (None: none yet)."""


class CameraRunner:
    def __init__(
        self,
        config: CameraConfig,
        recogniser: Recogniser,
        *,
        on_observation: ObservationSink | None = None,
        on_status: StatusSink | None = None,
        clock: Clock | None = None,
        opener: Callable[[int | str], Capture] | None = None,
        on_frame: Callable[[Frame], None] | None = None,
    ) -> None:
        """``on_frame``: sees every grabbed frame before the queue (``o2o-edge record``)."""
        self.config = config
        self._recogniser = recogniser
        self._on_observation = on_observation
        self._clock = clock or SystemClock()
        self._tracker = FaceTracker(config.id, config.zone, config.tracking)
        self._lock = threading.Lock()  # the tracker has one owner at a time
        self._queue: FrameQueue[Frame] = FrameQueue(config.queue_size)
        sink = self._queue.put if on_frame is None else _tapped(on_frame, self._queue.put)
        self._source = LiveCameraSource(
            config, sink, clock=self._clock, on_status=on_status, opener=opener
        )
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._processed = 0
        self._lost = 0
        self._last_frame_ms: int | None = None

    def step(self, frame: Frame) -> list[Observation]:
        """Replay: recognise one frame now and return what the tracker decided."""
        matches = self._recogniser.recognise(frame.image)
        with self._lock:
            self._processed += 1
            self._last_frame_ms = frame.ts_ms
            return self._tracker.update(frame.ts_ms, matches)

    def tick(self, now_ms: int) -> list[Observation]:
        """End tracks and close minutes up to ``now_ms`` (replay: call with the virtual clock)."""
        with self._lock:
            return self._tracker.tick(now_ms)

    def finish(self) -> list[Observation]:
        """End every track and close every open minute (end of a replay)."""
        with self._lock:
            return self._tracker.finish()

    @property
    def stats(self) -> CameraStats:
        queue = self._queue.stats
        return CameraStats(
            camera_id=self.config.id,
            online=self._source.online,
            frames_processed=self._processed,
            frames_dropped=queue.dropped,
            frames_lost=self._lost,
            queue_depth=queue.depth,
            active_tracks=self._tracker.active_tracks,
            source_errors=dict(self._source.errors),
            last_frame_ms=self._last_frame_ms,
        )

    def start(self) -> None:
        """Live: start the reader and recognition threads."""
        if self._on_observation is None:
            raise ValueError(f"camera {self.config.id}: live mode needs on_observation")
        if self._thread is not None:
            raise RuntimeError(f"camera {self.config.id} is already running")
        self._thread = threading.Thread(
            target=self._recognition_loop, name=f"recognise-{self.config.id}", daemon=True
        )
        self._thread.start()
        self._source.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Live: stop both threads and emit what the open minutes counted."""
        if self._thread is None:
            return  # never started (replay mode ends with finish())
        self._source.stop(timeout_s)
        self._stop.set()
        self._queue.close()
        self._thread.join(timeout_s)
        self._emit(self.finish())

    def _emit(self, observations: list[Observation]) -> None:
        if self._on_observation is not None:
            for observation in observations:
                self._on_observation(observation)

    def _recognition_loop(self) -> None:
        while not self._stop.is_set():
            frame = self._queue.get(timeout_s=IDLE_TICK_S)
            if frame is None:
                now_ms = self._clock.now_ms()
                self._source.check_stalled(now_ms)
                self._emit(self.tick(now_ms))
                continue
            try:
                observations = self.step(frame)
            except RecognitionError as error:
                self._lost += 1
                log.warning("camera %s: frame %d lost: %s", self.config.id, frame.index, error)
                continue
            self._emit(observations)


def _tapped(
    tap: Callable[[Frame], None], sink: Callable[[Frame], object]
) -> Callable[[Frame], None]:
    def both(frame: Frame) -> None:
        tap(frame)
        sink(frame)

    return both
