"""Frame sources: recorded frames keep their recorded times; bad recordings and dropped streams
take the camera offline (with a clear, counted reason) instead of crashing."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge.clock import VirtualClock
from edge.config import ConfigError
from edge.config.cameras import CameraConfig
from edge.config.loader import parse_store_config
from edge.vision.sources import (
    CameraStatus,
    Frame,
    LiveCameraSource,
    RecordingWriter,
    VideoFileSource,
)
from edge.vision.video_builder import VideoScript, build_video


def blank_video(folder: Path, frames: int = 6) -> tuple[Path, Path]:
    video, stamps = folder / "cam.mp4", folder / "cam.jsonl"
    build_video(VideoScript((), duration_s=frames / 10, background="plain"), video, stamps)
    return video, stamps


def wait_for(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def test_recorded_frames_carry_the_recorded_timestamps(tmp_path: Path) -> None:
    video, stamps = blank_video(tmp_path)
    stamps.write_text(
        "\n".join(
            [
                json.dumps({"t": 1767225600.0, "frame": 0}),
                json.dumps({"t": 1767225600.125, "frame": 1}),
                "not json",
                json.dumps({"t": 1767225600.25, "frame": 3}),  # frame 2 has no time
                json.dumps({"t": 1767225600.2, "frame": 4}),  # goes backwards
                json.dumps({"frame": 5}),
                "",
            ]
        )
    )
    config = CameraConfig(id="cam-1", zone="door", source=str(video), timestamps=stamps)
    source = VideoFileSource.for_camera(config)

    frames = list(source)

    assert [(f.index, f.ts_ms) for f in frames] == [
        (0, 1767225600000),
        (1, 1767225600125),
        (3, 1767225600250),
    ]
    assert all(f.camera_id == "cam-1" and f.image.shape == (480, 640, 3) for f in frames)
    assert source.errors == {
        "bad_timestamp_line": 2,
        "frame_without_timestamp": 2,
        "timestamp_backwards": 1,
    }
    assert source.frames_read == 6
    assert [(f.index, f.ts_ms) for f in VideoFileSource("cam-1", video, stamps)] == [
        (f.index, f.ts_ms) for f in frames
    ]


@pytest.mark.parametrize(
    ("damage", "kind", "message"),
    [
        ("garbage", "unreadable_video", "cannot decode the video (corrupt or not a video)"),
        ("missing", "unreadable_video", "no such video file"),
        ("no_stamps", "unreadable_timestamps", "cannot read"),
        ("truncated", "truncated_video", "timestamps list 6 (truncated or corrupt)"),
    ],
    ids=["garbage", "missing", "no-timestamps", "truncated"],
)
def test_a_bad_recording_takes_the_camera_offline_with_a_clear_error(
    tmp_path: Path, damage: str, kind: str, message: str
) -> None:
    video, stamps = blank_video(tmp_path)
    if damage == "garbage":
        video.write_bytes(b"\x00not a video\xff" * 200)
    elif damage == "missing":
        video.unlink()
    elif damage == "no_stamps":
        stamps.unlink()
    else:  # the recording stopped early: fewer frames than timestamps
        (tmp_path / "short").mkdir()
        video, _ = blank_video(tmp_path / "short", 3)
    statuses: list[CameraStatus] = []
    source = VideoFileSource("cam-1", video, stamps, on_status=statuses.append)

    frames = list(source)

    assert source.errors[kind] == 1
    assert source.last_error is not None and message in source.last_error
    assert [(s.camera_id, s.online) for s in statuses] == [("cam-1", False)]
    assert message in statuses[0].detail
    assert len(frames) == (3 if damage == "truncated" else 0)


class FlakyCapture:
    """A camera at the I/O seam: delivers ``frames`` frames, then the stream drops."""

    def __init__(self, frames: int) -> None:
        self.left = frames

    def isOpened(self) -> bool:
        return True

    def grab(self) -> bool:
        self.left -= 1
        return self.left >= 0

    def retrieve(self) -> tuple[bool, Any]:
        return True, np.zeros((4, 4, 3), np.uint8)

    def read(self) -> tuple[bool, Any]:
        return self.retrieve() if self.grab() else (False, None)

    def release(self) -> None:
        pass


def camera(source: int | str, **extra: Any) -> CameraConfig:
    return CameraConfig(
        id="cam-1",
        zone="entrance",
        source=source,
        target_fps=60,
        reconnect_initial_s=0.01,
        reconnect_max_s=0.05,
        **extra,
    )


def test_a_dropped_stream_goes_offline_reconnects_and_comes_back() -> None:
    clock = VirtualClock(1_000)
    frames: list[Frame] = []
    statuses: list[CameraStatus] = []
    opened: list[int] = []

    def opener(source: int | str) -> FlakyCapture | None:
        opened.append(1)
        if len(opened) in (2, 3):
            return None  # the camera is unreachable for two attempts
        return FlakyCapture(frames=3)

    source = LiveCameraSource(
        camera("rtsp://cam-1.local/stream"),
        frames.append,
        clock=clock,
        on_status=statuses.append,
        opener=opener,  # type: ignore[arg-type]
    )
    source.start()
    try:
        wait_for(lambda: len(opened) >= 4 and len(frames) >= 6)
    finally:
        source.stop()

    assert [(s.online, s.ts_ms) for s in statuses[:3]] == [
        (True, 1000),
        (False, 1000),
        (True, 1000),
    ]
    assert {s.detail for s in statuses if not s.online} == {"stream lost"}
    assert [f.index for f in frames[:6]] == list(range(6))
    assert source.errors["open_failed"] == 2
    assert source.errors["stream_lost"] >= 1


def test_a_missing_source_is_offline_until_it_appears(tmp_path: Path) -> None:
    clock = VirtualClock(5_000)
    frames: list[Frame] = []
    statuses: list[CameraStatus] = []
    video = tmp_path / "cam.mp4"
    source = LiveCameraSource(
        camera(str(video)), frames.append, clock=clock, on_status=statuses.append
    )
    source.start()
    try:
        wait_for(lambda: statuses)
        assert statuses == [CameraStatus("cam-1", False, 5_000, "cannot open the source")]
        build_video(VideoScript((), duration_s=0.3), tmp_path / "tmp.mp4", tmp_path / "t.jsonl")
        (tmp_path / "tmp.mp4").rename(video)
        clock.set_ms(6_000)
        wait_for(lambda: len(frames) >= 5)  # a file plays in a loop: more frames than it holds
    finally:
        source.stop()
    assert statuses[1] == CameraStatus("cam-1", True, 6_000, "")
    assert all(f.ts_ms == 6_000 for f in frames)


class StuckCapture(FlakyCapture):
    """Delivers one frame, then hangs in grab() like a dead RTSP stream without a timeout."""

    def __init__(self) -> None:
        super().__init__(frames=1)
        self.unstuck = threading.Event()

    def grab(self) -> bool:
        if self.left > 0:
            self.left -= 1
            return True
        self.unstuck.wait(10)
        return False


def test_a_stalled_camera_is_reported_offline_from_its_last_frame() -> None:
    clock = VirtualClock(10_000)
    statuses: list[CameraStatus] = []
    got = threading.Event()
    capture = StuckCapture()
    source = LiveCameraSource(
        camera(0, offline_after_s=30),
        lambda frame: got.set(),
        clock=clock,
        on_status=statuses.append,
        opener=lambda source: capture,
    )
    source.check_stalled(50_000)  # never online: nothing to report
    source.start()
    try:
        assert got.wait(5)
        source.check_stalled(39_999)
        assert statuses == [CameraStatus("cam-1", True, 10_000, "")]
        source.check_stalled(40_000)
        assert statuses[1:] == [CameraStatus("cam-1", False, 10_000, "no frames")]
        assert source.errors["stalled"] == 1
    finally:
        capture.unstuck.set()
        source.stop()
    assert len(statuses) == 2  # the read that finally failed reports nothing new


@pytest.mark.parametrize(
    ("cameras", "message"),
    [
        (
            [{"id": "cam-1", "zone": "nowhere", "source": 0}],
            "Camera cam-1 watches zone 'nowhere', which is not defined.",
        ),
        (
            [
                {"id": "cam-1", "zone": "door", "source": 0},
                {"id": "cam-1", "zone": "door", "source": 1},
            ],
            "camera ids must be unique; repeated: cam-1",
        ),
        (
            [{"id": "cam-1", "zone": "door", "source": 0, "target_fps": 0}],
            "cameras -> 0 -> target_fps: Input should be greater than 0",
        ),
        (
            [{"id": "cam-1", "zone": "door", "source": 0, "reconnect_max_s": 0.5}],
            "reconnect_max_s (0.5) must be at least reconnect_initial_s (1.0)",
        ),
    ],
    ids=["unknown-zone", "duplicate-id", "bad-fps", "backoff"],
)
def test_camera_configuration_errors_name_the_camera(
    cameras: list[dict[str, Any]], message: str
) -> None:
    data = {"store_id": "s1", "zones": [{"id": "door", "kind": "entrance"}], "cameras": cameras}
    with pytest.raises(ConfigError) as raised:
        parse_store_config(data, "STORE.yaml")
    assert message in str(raised.value)


def test_cameras_are_optional_and_default_sensibly() -> None:
    data = {"store_id": "s1", "zones": [{"id": "door", "kind": "entrance"}]}
    assert parse_store_config(data).cameras == []
    data["cameras"] = [{"id": "cam-1", "zone": "door", "source": "rtsp://10.0.0.5/live"}]
    (cam,) = parse_store_config(data).cameras
    assert cam.is_stream and not cam.is_device
    assert (cam.target_fps, cam.detection_scale, cam.tracking.min_votes) == (10.0, None, 3)


def test_a_recording_replays_with_its_capture_times(tmp_path: Path) -> None:
    video, stamps = tmp_path / "rec.mp4", tmp_path / "rec.jsonl"
    times_ms = [1_767_225_600_033, 1_767_225_600_101, 1_767_225_600_250]
    with RecordingWriter(video, stamps, fps=10, size=(64, 48)) as recording:
        for n, ts_ms in enumerate(times_ms):
            recording.write(np.full((48, 64, 3), 60 * n, np.uint8), ts_ms)
        with pytest.raises(ValueError, match="frame is 32x48, recording"):
            recording.write(np.zeros((48, 32, 3), np.uint8), 0)

    frames = list(VideoFileSource("cam-1", video, stamps))

    assert [(f.index, f.ts_ms) for f in frames] == list(enumerate(times_ms))
    assert [round(f.image.mean() / 60) for f in frames] == [0, 1, 2]  # lossy, but in order


def test_only_a_video_file_with_timestamps_is_a_recording() -> None:
    for config in (camera(0), camera("rtsp://cam/live"), camera("cam.mp4")):
        with pytest.raises(ValueError, match="Camera cam-1 is not a recording"):
            VideoFileSource.for_camera(config)
