"""Cameras: where frames come from, how often, and how faces are tracked into decisions."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import Field, model_validator

from edge.config.base import StrictModel


class FaceTrackingConfig(StrictModel):
    """When a face track becomes a member, and when it ends (see edge/vision/face_tracker.py)."""

    min_votes: int = Field(
        default=3,
        ge=1,
        le=100,
        title="Frames that must match the same member before member.seen",
        description="One frame can be a look-alike; several agreeing frames are a decision",
    )
    min_vote_fraction: float = Field(
        default=0.6,
        gt=0,
        le=1,
        title="Share of the track's embedded frames that must name that member",
    )
    max_distance: float = Field(
        default=0.6,
        gt=0,
        title="A frame votes for a member only at or below this distance",
        description="The gallery's own threshold applies first; this can only be stricter",
    )
    expire_after_ms: int = Field(
        default=1500,
        ge=1,
        title="A track unseen for this long has ended",
        description="Must exceed the time between two recognised frames of the camera",
    )
    min_iou: float = Field(
        default=0.2, gt=0, le=1, title="Least box overlap (IoU) to continue a track"
    )
    max_centroid_shift: float = Field(
        default=1.0,
        gt=0,
        title="Fallback match: centre shift, in face widths, still the same track",
        description="Used when boxes do not overlap enough (fast motion, low frame rate)",
    )
    min_frames_to_count: int = Field(
        default=2, ge=1, title="Frames a track needs to count as a visitor (drops flukes)"
    )


class CameraConfig(StrictModel):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", title="Camera id")
    zone: str = Field(title="Zone the camera watches")
    source: int | str = Field(
        title="Device index (0), RTSP/HTTP URL, or video file path",
        description="A relative file path is resolved against the working directory",
    )
    timestamps: Path | None = Field(
        default=None,
        title='JSON-lines frame timestamps of a recording ({"t": epoch_s, "frame": n})',
        description="With a video file as source: replaying it takes frame times from here",
    )
    target_fps: float = Field(default=10.0, gt=0, le=60, title="Frames taken per second")
    detection_scale: float | None = Field(
        default=None,
        gt=0,
        le=1,
        title="Frames are shrunk by this factor before face detection",
        description="Default: vision -> face_recognition -> detection_scale",
    )
    queue_size: int = Field(
        default=4, ge=1, le=256, title="Frames waiting for recognition; the oldest is dropped"
    )
    offline_after_s: float = Field(
        default=30.0, gt=0, title="Raise camera_offline after this long without frames"
    )
    reconnect_initial_s: float = Field(default=1.0, gt=0, title="First reconnect delay")
    reconnect_max_s: float = Field(default=30.0, gt=0, title="Longest reconnect delay")
    reply_timeout_s: float = Field(
        default=10.0, gt=0, title="A recognition worker silent this long is restarted"
    )
    tracking: FaceTrackingConfig = Field(default_factory=FaceTrackingConfig)

    @model_validator(mode="after")
    def _backoff(self) -> CameraConfig:
        if self.reconnect_max_s < self.reconnect_initial_s:
            raise ValueError(
                f"Camera {self.id}: reconnect_max_s ({self.reconnect_max_s}) must be at least "
                f"reconnect_initial_s ({self.reconnect_initial_s})."
            )
        return self

    @property
    def is_device(self) -> bool:
        return isinstance(self.source, int)

    @property
    def is_stream(self) -> bool:
        return isinstance(self.source, str) and "://" in self.source


def check_cameras(cameras: Iterable[CameraConfig], zone_ids: Iterable[str]) -> None:
    """Camera ids are unique and every camera watches a defined zone (StoreConfig calls this)."""
    known = set(zone_ids)
    seen: set[str] = set()
    for camera in cameras:
        if camera.id in seen:
            raise ValueError(f"camera ids must be unique; repeated: {camera.id}")
        seen.add(camera.id)
        if camera.zone not in known:
            raise ValueError(
                f"Camera {camera.id} watches zone '{camera.zone}', which is not defined."
            )
