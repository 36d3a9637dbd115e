"""Build a test or demo camera recording from photographs: faces moving across a background.

The result is a capture-format camera recording: an MP4 (``mp4v``) plus a JSON-lines file of
frame timestamps (``{"t": epoch_s, "frame": n}``). Each :class:`Appearance` pastes one
photograph, cropped generously around the face and feathered at the edges, moving in a
straight line during its time on screen; several may overlap in time (a later one is drawn on
top). Build recordings into a temporary folder at test time: a video made from the shared
photographs must never be committed (their licences allow tests, not redistribution).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from edge.vision.sources import RecordingWriter

Point = tuple[float, float]
"""(x, y) as fractions of the frame's width and height."""


@dataclass(frozen=True, slots=True)
class Appearance:
    photo: Path
    start_s: float
    duration_s: float
    start_at: Point = (0.25, 0.5)
    """Where the photo's centre is when it appears."""
    end_at: Point = (0.75, 0.5)
    """Where it is when it leaves."""
    height_px: int = 240
    """Height of the pasted crop in the frame."""
    face_box: tuple[int, int, int, int] | None = None
    """(top, right, bottom, left) of the face in the photo: crop around it. None: whole photo."""
    margin: float = 0.6
    """Crop margin around ``face_box``, in face sizes on every side."""


@dataclass(frozen=True, slots=True)
class VideoScript:
    appearances: tuple[Appearance, ...]
    duration_s: float | None = None
    """Length of the video; by default half a second after the last appearance ends."""
    fps: float = 10.0
    width: int = 640
    height: int = 480
    start_epoch_s: float = 1_767_225_600.0
    """Capture time of frame 0 (2026-01-01T00:00:00Z)."""
    background: Literal["plain", "textured"] = "textured"
    seed: int = 0


def indexed_face_box(faces_dir: Path, photo: Path) -> tuple[int, int, int, int]:
    """The face box of a single-person photo of the shared data set, from its INDEX.csv
    (``faces_dir/<source>/<path>``): what :attr:`Appearance.face_box` wants."""
    source, *rest = photo.relative_to(faces_dir).parts
    relative = "/".join(rest)
    with (faces_dir / "INDEX.csv").open(newline="") as index:
        for row in csv.DictReader(index):
            if row["source"] == source and row["path"] == relative:
                if row["hog_faces_upsample1"] != "1":
                    break
                top, right, bottom, left = map(int, row["face_boxes_top_right_bottom_left"].split())
                return top, right, bottom, left
    raise LookupError(f"{photo}: not listed as a single-face photo in {faces_dir / 'INDEX.csv'}")


def _background(script: VideoScript) -> np.ndarray[Any, Any]:
    import cv2

    if script.background == "plain":
        return np.full((script.height, script.width, 3), (128, 135, 140), np.uint8)
    rng = np.random.default_rng(script.seed)
    # A muted, blotchy wall: texture for the detector to ignore, nothing face-like.
    coarse = rng.integers(90, 170, (script.height // 40 + 1, script.width // 40 + 1), np.uint8)
    tint = np.array([[[-6, 0, 8]]], np.int16)
    gray = cv2.resize(coarse, (script.width, script.height), interpolation=cv2.INTER_CUBIC)
    smooth = np.repeat(gray[..., None], 3, axis=2).astype(np.int16) + tint
    grain = rng.integers(-12, 13, smooth.shape, np.int16)
    wall: np.ndarray[Any, Any] = np.clip(smooth + grain, 0, 255).astype(np.uint8)
    return wall


def _sprite(appearance: Appearance) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The resized crop and its feathered elliptical alpha mask (float32, 0..1)."""
    import cv2

    image = cv2.imread(str(appearance.photo), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{appearance.photo}: cannot read the photograph")
    if appearance.face_box is not None:
        top, right, bottom, left = appearance.face_box
        pad = int(max(bottom - top, right - left) * appearance.margin)
        image = image[
            max(0, top - pad) : min(image.shape[0], bottom + pad),
            max(0, left - pad) : min(image.shape[1], right + pad),
        ]
    scale = appearance.height_px / image.shape[0]
    width = max(1, round(image.shape[1] * scale))
    sprite = cv2.resize(image, (width, appearance.height_px), interpolation=cv2.INTER_AREA)
    mask = np.zeros(sprite.shape[:2], np.float32)
    centre = (width // 2, appearance.height_px // 2)
    axes = (max(1, int(width * 0.48)), max(1, int(appearance.height_px * 0.48)))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1.0, -1)
    blur = max(3, (min(width, appearance.height_px) // 12) | 1)
    return sprite, cv2.GaussianBlur(mask, (blur, blur), 0)[..., None]


def _paste(
    frame: np.ndarray[Any, Any],
    sprite: np.ndarray[Any, Any],
    alpha: np.ndarray[Any, Any],
    centre: tuple[int, int],
) -> None:
    h, w = sprite.shape[:2]
    x0, y0 = centre[0] - w // 2, centre[1] - h // 2
    fx0, fy0 = max(0, x0), max(0, y0)
    fx1, fy1 = min(frame.shape[1], x0 + w), min(frame.shape[0], y0 + h)
    if fx0 >= fx1 or fy0 >= fy1:
        return
    sx0, sy0 = fx0 - x0, fy0 - y0
    region = frame[fy0:fy1, fx0:fx1].astype(np.float32)
    a = alpha[sy0 : sy0 + fy1 - fy0, sx0 : sx0 + fx1 - fx0]
    s = sprite[sy0 : sy0 + fy1 - fy0, sx0 : sx0 + fx1 - fx0].astype(np.float32)
    frame[fy0:fy1, fx0:fx1] = (s * a + region * (1 - a)).astype(np.uint8)


def appearance_centre(appearance: Appearance, t_s: float, size: tuple[int, int]) -> tuple[int, int]:
    """Pixel centre of ``appearance`` at video time ``t_s`` in a frame of ``size`` (w, h)."""
    progress = min(1.0, max(0.0, (t_s - appearance.start_s) / appearance.duration_s))
    x = appearance.start_at[0] + (appearance.end_at[0] - appearance.start_at[0]) * progress
    y = appearance.start_at[1] + (appearance.end_at[1] - appearance.start_at[1]) * progress
    return round(x * size[0]), round(y * size[1])


def build_video(script: VideoScript, video_path: Path, timestamps_path: Path) -> int:
    """Write the video and its timestamps; returns the number of frames."""
    if not script.appearances and script.duration_s is None:
        raise ValueError("a video needs appearances or a duration")
    duration_s = script.duration_s
    if duration_s is None:
        duration_s = max(a.start_s + a.duration_s for a in script.appearances) + 0.5
    sprites = [_sprite(a) for a in script.appearances]
    background = _background(script)
    frames = round(duration_s * script.fps)
    size = (script.width, script.height)
    with RecordingWriter(video_path, timestamps_path, fps=script.fps, size=size) as recording:
        for index in range(frames):
            t_s = index / script.fps
            frame = background.copy()
            for appearance, (sprite, alpha) in zip(script.appearances, sprites, strict=True):
                if appearance.start_s <= t_s < appearance.start_s + appearance.duration_s:
                    _paste(frame, sprite, alpha, appearance_centre(appearance, t_s, size))
            recording.write(frame, round((script.start_epoch_s + t_s) * 1000))
    return frames
