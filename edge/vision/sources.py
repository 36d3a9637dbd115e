"""Frame sources: live cameras (device, RTSP/HTTP, file) on a reader thread, and recordings.

Every frame carries its capture time in ``ts_ms``: a live frame is stamped with the injected
clock when it is grabbed; a recorded frame takes its time from the recording's JSON-lines
timestamp file (``{"t": epoch_s, "frame": index}``), so a replay is deterministic whatever its
speed. A source that fails never raises into the process: it reports a :class:`CameraStatus`
change (the alert rules raise ``camera_offline`` from it), counts the error and logs the reason.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from edge.clock import Clock
from edge.config.cameras import CameraConfig
from edge.vision.frames import CameraStatus, Frame

log = logging.getLogger(__name__)


FrameSink = Callable[[Frame], object]
StatusSink = Callable[[CameraStatus], None]


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` the sources use (the I/O seam)."""

    def isOpened(self) -> bool: ...

    def grab(self) -> bool: ...

    def retrieve(self) -> tuple[bool, Any]: ...

    def read(self) -> tuple[bool, Any]: ...

    def release(self) -> None: ...


def open_capture(source: int | str, *, read_timeout_s: float | None = None) -> Capture:
    import cv2

    if isinstance(source, str) and "://" in source and read_timeout_s is not None:
        # Without a read timeout, FFmpeg blocks on a dead RTSP stream far longer than we wait.
        timeout_ms = int(read_timeout_s * 1000)
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            timeout_ms,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            timeout_ms,
        ]
        return cv2.VideoCapture(source, cv2.CAP_ANY, params)
    return cv2.VideoCapture(source)


def read_frame_timestamps(path: Path, errors: Counter[str] | None = None) -> dict[int, int]:
    """Frame index -> capture time (ms) from a JSON-lines file; bad lines are counted, skipped.

    Raises ``OSError`` when the file cannot be read at all.
    """
    found: dict[int, int] = {}
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                index = record["frame"]
                t = record["t"]
                if not isinstance(index, int) or isinstance(index, bool) or index < 0:
                    raise ValueError(f"frame must be a non-negative integer, got {index!r}")
                if not isinstance(t, int | float) or isinstance(t, bool):
                    raise ValueError(f"t must be epoch seconds, got {t!r}")
            except (ValueError, KeyError, TypeError) as error:
                log.warning("%s line %d: bad frame timestamp skipped: %s", path, number, error)
                if errors is not None:
                    errors["bad_timestamp_line"] += 1
                continue
            found[index] = round(t * 1000)
    return found


class VideoFileSource:
    """A recorded camera: yields every frame that has a timestamp, in file order.

    An unreadable video or timestamp file ends the iteration (nothing raised): the error is
    logged, counted in ``errors`` and kept in ``last_error``, and the camera reported offline.
    Frames without a timestamp, or whose time goes backwards, are skipped and counted.
    """

    def __init__(
        self,
        camera_id: str,
        video_path: str | Path,
        timestamps_path: str | Path,
        *,
        on_status: StatusSink | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.video_path = Path(video_path)
        self.timestamps_path = Path(timestamps_path)
        self.errors: Counter[str] = Counter()
        self.last_error: str | None = None
        self.frames_read = 0
        self._on_status = on_status

    @classmethod
    def for_camera(
        cls, camera: CameraConfig, *, on_status: StatusSink | None = None
    ) -> VideoFileSource:
        """The recording a camera of STORE.yaml points at (video file source + timestamps)."""
        if camera.timestamps is None or camera.is_device or camera.is_stream:
            raise ValueError(
                f"Camera {camera.id} is not a recording: give a video file as source and its "
                "frame timestamps as timestamps."
            )
        return cls(camera.id, str(camera.source), camera.timestamps, on_status=on_status)

    def _fail(self, kind: str, message: str, ts_ms: int) -> None:
        self.errors[kind] += 1
        self.last_error = message
        log.error("camera %s: %s", self.camera_id, message)
        if self._on_status is not None:
            self._on_status(CameraStatus(self.camera_id, False, ts_ms, message))

    def __iter__(self) -> Iterator[Frame]:
        try:
            stamps = read_frame_timestamps(self.timestamps_path, self.errors)
        except (OSError, UnicodeDecodeError) as error:
            self._fail("unreadable_timestamps", f"{self.timestamps_path}: cannot read: {error}", 0)
            return
        first_ms = min(stamps.values(), default=0)
        if not self.video_path.is_file():
            self._fail("unreadable_video", f"{self.video_path}: no such video file", first_ms)
            return
        capture = open_capture(str(self.video_path))
        try:
            if not capture.isOpened():
                self._fail(
                    "unreadable_video",
                    f"{self.video_path}: cannot decode the video (corrupt or not a video)",
                    first_ms,
                )
                return
            yield from self._frames(capture, stamps)
        finally:
            capture.release()

    def _frames(self, capture: Capture, stamps: dict[int, int]) -> Iterator[Frame]:
        index = 0
        last_ms: int | None = None
        while True:
            ok, image = capture.read()
            if not ok or image is None:
                break
            self.frames_read += 1
            ts_ms = stamps.get(index)
            if ts_ms is None:
                self.errors["frame_without_timestamp"] += 1
            elif last_ms is not None and ts_ms < last_ms:
                self.errors["timestamp_backwards"] += 1
            else:
                last_ms = ts_ms
                yield Frame(self.camera_id, index, ts_ms, image)
            index += 1
        expected = max(stamps, default=-1) + 1
        if index < expected:
            self._fail(
                "truncated_video",
                f"{self.video_path}: video ends after {index} frames but the timestamps list "
                f"{expected} (truncated or corrupt)",
                last_ms if last_ms is not None else 0,
            )


class RecordingWriter:
    """Writes a camera recording in the capture format: an MP4 (``mp4v``) and its JSON-lines
    frame timestamps. For recordings an operator asks for (``o2o-edge record``) and for test
    videos; live recognition never writes frames."""

    def __init__(
        self,
        video_path: Path,
        timestamps: Path | Callable[[int, int], None],
        *,
        fps: float,
        size: tuple[int, int],
    ) -> None:
        """``timestamps``: the JSON-lines file to write, or a function taking
        ``(ts_ms, frame index)`` (a capture writer that keeps the file itself)."""
        import cv2

        self.size = size
        self.frames = 0
        self._video = cv2.VideoWriter(str(video_path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
        if not self._video.isOpened():
            raise OSError(f"{video_path}: cannot write an mp4v video here")
        self._stamps = (
            timestamps.open("w", encoding="utf-8") if isinstance(timestamps, Path) else None
        )
        self._stamp = timestamps if callable(timestamps) else self._write_stamp

    def _write_stamp(self, ts_ms: int, index: int) -> None:
        assert self._stamps is not None
        self._stamps.write(json.dumps({"t": ts_ms / 1000, "frame": index}) + "\n")

    def write(self, image: np.ndarray[Any, Any], ts_ms: int) -> None:
        if (image.shape[1], image.shape[0]) != self.size:
            raise ValueError(f"frame is {image.shape[1]}x{image.shape[0]}, recording {self.size}")
        self._video.write(image)
        self._stamp(ts_ms, self.frames)
        self.frames += 1

    def close(self) -> None:
        self._video.release()
        if self._stamps is not None:
            self._stamps.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LiveCameraSource:
    """Reads one camera on its own thread at ``target_fps``; reconnects with capped backoff.

    Status changes go to ``on_status``: online when the first frame after a (re)connection
    arrives, offline (stamped with the last frame's time) when the source cannot be opened, a
    read fails, or :meth:`check_stalled` finds no frame for ``offline_after_s``. A video file
    used as a live source plays in a loop at ``target_fps`` (the demo).
    """

    def __init__(
        self,
        config: CameraConfig,
        sink: FrameSink,
        *,
        clock: Clock,
        on_status: StatusSink | None = None,
        opener: Callable[[int | str], Capture] | None = None,
    ) -> None:
        self.config = config
        self._sink = sink
        self._clock = clock
        self._on_status = on_status
        self._opener = opener or (
            lambda source: open_capture(source, read_timeout_s=config.offline_after_s)
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._online: bool | None = None
        self._last_frame_ms: int | None = None
        self._index = 0
        self._random = random.Random()
        self.reconnects = 0
        self.errors: Counter[str] = Counter()

    @property
    def online(self) -> bool:
        return bool(self._online)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"camera {self.config.id} is already running")
        self._thread = threading.Thread(
            target=self._run, name=f"camera-{self.config.id}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def check_stalled(self, now_ms: int) -> None:
        """Report offline if an open source has delivered nothing for ``offline_after_s``."""
        with self._lock:
            last = self._last_frame_ms
            stalled = (
                self._online
                and last is not None
                and now_ms - last >= self.config.offline_after_s * 1000
            )
        if stalled and last is not None:
            self.errors["stalled"] += 1
            self._set_online(False, last, "no frames")

    def _set_online(self, online: bool, ts_ms: int, detail: str) -> None:
        with self._lock:
            if self._online == online:
                return
            self._online = online
        if online:
            log.info("camera %s online", self.config.id)
        else:
            log.warning("camera %s offline: %s", self.config.id, detail)
        if self._on_status is not None:
            self._on_status(CameraStatus(self.config.id, online, ts_ms, detail))

    def _run(self) -> None:
        delay_s = self.config.reconnect_initial_s
        is_file = not (self.config.is_device or self.config.is_stream)
        while not self._stop.is_set():
            try:
                capture = self._opener(self.config.source)
            except Exception as error:  # an opener failure must not end the reader thread
                log.warning("camera %s: cannot open: %s", self.config.id, error)
                capture = None
            if capture is not None and capture.isOpened():
                got_frames = self._read(capture, is_file)
                capture.release()
                if got_frames:
                    delay_s = self.config.reconnect_initial_s
                if self._stop.is_set():
                    break
                if is_file and got_frames:
                    continue  # end of the file: play it again
                self.errors["stream_lost"] += 1
                self._set_online(False, self._last_ms(), "stream lost")
            else:
                if capture is not None:
                    capture.release()
                self.errors["open_failed"] += 1
                self._set_online(False, self._last_ms(), "cannot open the source")
            # Jitter spreads the reconnects of many cameras after a switch reboots.
            self._stop.wait(delay_s * (0.8 + 0.4 * self._random.random()))
            delay_s = min(delay_s * 2, self.config.reconnect_max_s)
            self.reconnects += 1

    def _last_ms(self) -> int:
        with self._lock:
            return self._last_frame_ms if self._last_frame_ms is not None else self._clock.now_ms()

    def _read(self, capture: Capture, is_file: bool) -> bool:
        """Deliver frames until the source fails or stops; True if any frame came."""
        period_s = 1.0 / self.config.target_fps
        next_due = time.monotonic()
        got = False
        while not self._stop.is_set():
            if not capture.grab():
                return got
            now = time.monotonic()
            if now < next_due and not is_file:
                continue  # a camera faster than target_fps: skip the frame undecoded
            ts_ms = self._clock.now_ms()
            ok, image = capture.retrieve()
            if not ok or image is None:
                return got
            got = True
            with self._lock:
                self._last_frame_ms = ts_ms
            self._set_online(True, ts_ms, "")
            self._sink(Frame(self.config.id, self._index, ts_ms, image))
            self._index += 1
            next_due = max(next_due + period_s, now)
            if is_file:
                self._stop.wait(max(0.0, next_due - time.monotonic()))
        return got
