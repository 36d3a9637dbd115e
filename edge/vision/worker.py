"""Face recognition in a worker process, so that RFID handling and the tablet API never starve.

The worker (a ``spawn`` child: no inherited threads or locks) loads the face backend and a
read-only copy of the member gallery, then answers one frame at a time with a list of
:class:`FaceMatch` — box, detector score, best member or None, distance, margin. Embeddings
never leave the worker, and neither do pixels: an unknown face's embedding dies with the
request. The gallery file is watched (size, mtime, inode) before every frame and reloaded when
enrolment or erasure (another process, or a sync) replaces it.

The main process side, :class:`RecognitionWorker`, detects a dead worker (process gone) or a
silent one (no reply within ``reply_timeout_s``), kills and restarts it, counts the restart and
retries the frame once; a frame that fails twice raises :class:`RecognitionError` (live
cameras count it lost and go on). Events already emitted are unaffected: they were made in the
main process.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edge.config.cameras import CameraConfig
from edge.config.store import StoreConfig
from edge.config.vision import VisionConfig
from edge.vision.face_tracker import FaceMatch
from edge.vision.latency import LatencyBuckets

if TYPE_CHECKING:
    from edge.vision.gallery import Gallery

log = logging.getLogger(__name__)

POLL_S = 0.2
"""How often a waiting caller checks that the worker process is still alive."""


class RecognitionError(RuntimeError):
    """The worker could not answer for a frame (it died or went silent twice, or cannot load)."""


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """Everything the child needs, picklable: it builds backend and gallery itself (the
    gallery key comes from the environment or the key file, as for enrolment)."""

    vision: VisionConfig
    data_dir: Path
    detection_scale: float | None = None
    """None: the backend's configured scale."""

    @classmethod
    def for_camera(cls, store: StoreConfig, camera: CameraConfig) -> WorkerSpec:
        return cls(store.vision, store.data_dir, camera.detection_scale)

    @property
    def gallery_path(self) -> Path:
        path = self.vision.gallery.file
        return path if path.is_absolute() else self.data_dir / path


@dataclass(frozen=True, slots=True)
class WorkerStats:
    pid: int | None
    restarts: int
    frames: int
    failures: int
    """Requests that found the worker dead or silent (each led to a restart)."""
    rejected: dict[str, int]
    """Faces the quality gates refused, by reason."""


def worker_count(cameras: int, cpus: int | None = None) -> int:
    """Worker processes for ``cameras`` cameras: one each, leaving a core for everything else."""
    available = (cpus if cpus is not None else os.cpu_count() or 1) - 1
    return max(1, min(cameras, available))


def _file_signature(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


class _FrameRecogniser:
    """The child's state: backend plus gallery, reloaded when the gallery file changes."""

    def __init__(self, spec: WorkerSpec) -> None:
        from edge.vision.backends import create_backend

        self._spec = spec
        self._backend = create_backend(spec.vision, detection_scale=spec.detection_scale)
        self._signature = _file_signature(spec.gallery_path)
        self._gallery = self._load_gallery()

    def _load_gallery(self) -> Gallery:
        from edge.vision.gallery import open_gallery

        backend = self._backend
        return open_gallery(
            self._spec.data_dir,
            self._spec.vision,
            backend=backend.name,
            embedding_size=backend.embedding_size,
            metric=backend.metric,
            default_threshold=backend.default_threshold,
        )

    def _reload_if_changed(self) -> None:
        signature = _file_signature(self._spec.gallery_path)
        if signature == self._signature:
            return
        self._signature = signature  # a bad file is not retried until it changes again
        try:
            self._gallery = self._load_gallery()
        except (ValueError, OSError) as error:
            log.error("gallery reload failed, keeping the previous one: %s", error)

    def recognise(self, image: np.ndarray[Any, Any]) -> list[FaceMatch]:
        from edge.vision.backends import analyse

        self._reload_if_changed()
        results = analyse(self._backend, image, self._spec.vision.gates)
        embedded = [r.embedding for r in results if r.embedding is not None]
        found = iter(self._gallery.match_many(np.stack(embedded)) if embedded else ())
        matches: list[FaceMatch] = []
        for result in results:
            if result.embedding is None:
                matches.append(
                    FaceMatch(result.box, result.det_score, None, None, None, result.rejected)
                )
                continue
            match = next(found)
            matches.append(
                FaceMatch(
                    result.box,
                    result.det_score,
                    match.member_id,
                    float(match.distance),
                    float(match.margin),
                )
            )
        return matches


def _serve(spec: WorkerSpec, requests: Queue[Any], replies: Queue[Any]) -> None:
    """The worker process: ("frame", id, image) -> ("result", id, matches) until ("stop",)."""
    # Ctrl-C in a terminal reaches the whole process group; the parent stops its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        recogniser = _FrameRecogniser(spec)
    except Exception as error:  # reported to the parent, which raises it with the reason
        replies.put(("failed", None, f"{type(error).__name__}: {error}"))
        return
    replies.put(("ready", None, os.getpid()))
    while True:
        message = requests.get()
        if message[0] == "stop":
            return
        _, request_id, image = message
        try:
            replies.put(("result", request_id, recogniser.recognise(image)))
        except Exception as error:  # a bad frame must not end the worker
            replies.put(("error", request_id, f"{type(error).__name__}: {error}"))


class _WorkerGone(Exception):
    pass


class RecognitionWorker:
    """One recognition process; thread-safe (one frame in flight at a time)."""

    def __init__(
        self,
        spec: WorkerSpec,
        *,
        name: str = "vision-worker",
        reply_timeout_s: float = 10.0,
        start_timeout_s: float = 120.0,
    ) -> None:
        self.spec = spec
        self.name = name
        self.reply_timeout_s = reply_timeout_s
        self.start_timeout_s = start_timeout_s
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._process: BaseProcess | None = None
        self._requests: Queue[Any] | None = None
        self._replies: Queue[Any] | None = None
        self._restarts = 0
        self._frames = 0
        self._failures = 0
        self._rejected: Counter[str] = Counter()
        self._running = False
        self.latency = LatencyBuckets()
        """Round trips of :meth:`recognise` (restarts included), for ``/metrics``."""

    @classmethod
    def for_camera(cls, store: StoreConfig, camera: CameraConfig) -> RecognitionWorker:
        """The worker of one camera as configured (not started)."""
        return cls(
            WorkerSpec.for_camera(store, camera),
            name=f"vision-{camera.id}",
            reply_timeout_s=camera.reply_timeout_s,
        )

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def stats(self) -> WorkerStats:
        return WorkerStats(
            self.pid, self._restarts, self._frames, self._failures, dict(self._rejected)
        )

    def start(self) -> None:
        """Spawn the worker and wait until backend and gallery are loaded."""
        with self._lock:
            if self._running:
                raise RuntimeError(f"{self.name} is already running")
            self._spawn()
            self._running = True

    def stop(self, timeout_s: float = 5.0) -> None:
        with self._lock:
            if self._requests is not None and self._process is not None:
                self._requests.put(("stop",))
                self._process.join(timeout_s)
            self._discard()
            self._running = False

    def __enter__(self) -> RecognitionWorker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def recognise(self, image: np.ndarray[Any, Any]) -> list[FaceMatch]:
        """Faces in one BGR frame; blocks until the worker answers (restarting it if needed)."""
        with self._lock:
            if not self._running:
                raise RecognitionError(f"{self.name} is not running")
            started_s = time.monotonic()
            if self._process is None:
                self._spawn()  # an earlier restart failed: try again, or say why not
                self._restarts += 1
            try:
                matches = self._ask(image)
            except _WorkerGone as gone:
                self._restart(gone)
                try:
                    matches = self._ask(image)
                except _WorkerGone as again:
                    self._restart(again)
                    raise RecognitionError(f"{self.name}: {again} (after a restart)") from None
            self._frames += 1
            self.latency.observe(time.monotonic() - started_s)
            self._rejected.update(m.rejected for m in matches if m.rejected is not None)
            return matches

    def _restart(self, reason: _WorkerGone) -> None:
        self._failures += 1
        log.warning("%s: %s; restarting it", self.name, reason)
        self._discard()
        self._spawn()
        self._restarts += 1

    def _ask(self, image: np.ndarray[Any, Any]) -> list[FaceMatch]:
        assert self._requests is not None
        request_id = next(self._ids)
        self._requests.put(("frame", request_id, image))
        while True:
            kind, reply_id, body = self._wait(self.reply_timeout_s)
            if reply_id != request_id:
                continue  # a late answer to a request that timed out earlier
            if kind == "error":
                raise RecognitionError(f"{self.name}: frame failed: {body}")
            result: list[FaceMatch] = body
            return result

    def _wait(self, timeout_s: float) -> tuple[str, Any, Any]:
        assert self._replies is not None and self._process is not None
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                reply: tuple[str, Any, Any] = self._replies.get(timeout=POLL_S)
                return reply
            except queue.Empty:
                pass
            if not self._process.is_alive():
                raise _WorkerGone(f"worker process exited (code {self._process.exitcode})")
            if time.monotonic() >= deadline:
                raise _WorkerGone(f"no reply within {timeout_s:g} s")

    def _spawn(self) -> None:
        self._requests = self._context.Queue()
        self._replies = self._context.Queue()
        self._process = self._context.Process(
            target=_serve,
            args=(self.spec, self._requests, self._replies),
            name=self.name,
            daemon=True,
        )
        self._process.start()
        try:
            kind, _, body = self._wait(self.start_timeout_s)
        except _WorkerGone as gone:
            self._discard()
            raise RecognitionError(f"{self.name} did not start: {gone}") from None
        if kind != "ready":
            self._discard()
            raise RecognitionError(f"{self.name} cannot load: {body}")
        log.info("%s started (pid %s)", self.name, body)

    def _discard(self) -> None:
        """Kill the process if it lives and drop its queues (never reused after a failure)."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(5)
            self._process = None
        for channel in (self._requests, self._replies):
            if channel is not None:
                channel.cancel_join_thread()  # frames still buffered must not block shutdown
                channel.close()
        self._requests = self._replies = None
