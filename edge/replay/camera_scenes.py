"""Camera streams of simulated captures, built from the shared face photographs at test time.

Videos made from the photographs in ``/work/shared/data/faces`` must never be committed (their
licences allow tests, not redistribution). So a simulated capture that has cameras ships only
its RFID/POS files plus ``camera_scene.json``: who appears in which camera, when, from which
photograph. :func:`build_camera_capture` turns that into a complete capture in a temporary
directory (a copy of the capture plus one camera source per camera: a video built with
:mod:`edge.vision.video_builder` and its frame timestamps), which replays through the real
recognition worker. Enrolling the members (with consent) is the caller's business: the scene
names, per appearance, the member id a test should enrol that person as (None: a stranger) and
the photograph filmed, so the enrolment can use the person's other photographs.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edge.replay.capture import MANIFEST, CameraSource, Capture

SCENE_FILE = "camera_scene.json"
PHOTO_SET = "lfw"
"""The photographs' sub-folder of the faces directory: one folder of photos per person."""


@dataclass(frozen=True, slots=True)
class CameraAppearance:
    """``person`` (a folder of ``faces/lfw``) is in front of camera ``camera`` from ``at_s``
    (seconds after the capture's start) for ``duration_s``, filmed from their ``photo``-th
    photograph (sorted by name), walking from ``start_at`` to ``end_at`` (frame fractions)."""

    camera: str
    at_s: float
    duration_s: float
    person: str
    member_id: str | None = None
    """The member id a test enrols this person as; None: a stranger, never enrolled."""
    photo: int = 2
    start_at: tuple[float, float] = (0.4, 0.5)
    end_at: tuple[float, float] = (0.6, 0.5)


@dataclass(frozen=True, slots=True)
class CameraScene:
    appearances: tuple[CameraAppearance, ...]
    fps: float = 2.0
    """Enough for a face track (3 votes) in a few seconds; few frames to recognise."""
    width: int = 320
    height: int = 240
    face_height_px: int = 170
    """Pasted crop height: the face itself is ~110 px, what HOG at detection scale 0.75
    (80 px window) finds."""

    @property
    def cameras(self) -> list[str]:
        return sorted({appearance.camera for appearance in self.appearances})

    @property
    def members(self) -> dict[str, str]:
        """Member id -> person, for the enrolment."""
        return {a.member_id: a.person for a in self.appearances if a.member_id is not None}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["appearances"] = [asdict(appearance) for appearance in self.appearances]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CameraScene:
        appearances = tuple(
            CameraAppearance(
                **{
                    **item,
                    "start_at": tuple(item.get("start_at", (0.4, 0.5))),
                    "end_at": tuple(item.get("end_at", (0.6, 0.5))),
                }
            )
            for item in data["appearances"]
        )
        return cls(**{**data, "appearances": appearances})


def write_scene(scene: CameraScene, capture_dir: Path) -> None:
    (capture_dir / SCENE_FILE).write_text(json.dumps(scene.to_dict(), indent=1) + "\n")


def load_scene(capture_dir: Path) -> CameraScene | None:
    path = capture_dir / SCENE_FILE
    if not path.is_file():
        return None
    return CameraScene.from_dict(json.loads(path.read_text(encoding="utf-8")))


def person_photos(faces_dir: Path, person: str) -> list[Path]:
    """The person's photographs, sorted by name (an appearance's ``photo`` indexes these)."""
    return sorted((faces_dir / PHOTO_SET / person).glob("*.jpg"))


def filmed_photo(faces_dir: Path, appearance: CameraAppearance) -> Path:
    photos = person_photos(faces_dir, appearance.person)
    if appearance.photo >= len(photos):
        raise LookupError(
            f"{faces_dir / PHOTO_SET / appearance.person}: no photograph number "
            f"{appearance.photo} (it has {len(photos)})"
        )
    return photos[appearance.photo]


def build_camera_capture(capture_dir: Path, faces_dir: Path, out_dir: Path) -> Capture:
    """Copy the capture to ``out_dir`` and add one camera source per camera of its scene,
    covering the whole capture (a camera with no frames for a while would count as offline).
    Raises LookupError when the capture has no scene or a photograph is missing."""
    # numpy/OpenCV only here: scenarios (and the simulator) import this module for its data.
    from edge.vision.video_builder import Appearance, VideoScript, build_video, indexed_face_box

    scene = load_scene(capture_dir)
    if scene is None:
        raise LookupError(f"{capture_dir}: no {SCENE_FILE}")
    capture = Capture.open(capture_dir, verify=False)
    shutil.copytree(capture_dir, out_dir)
    sources = list(capture.manifest.sources)
    for seed, camera in enumerate(scene.cameras):
        appearances = []
        for appearance in scene.appearances:
            if appearance.camera != camera:
                continue
            photo = filmed_photo(faces_dir, appearance)
            appearances.append(
                Appearance(
                    photo,
                    appearance.at_s,
                    appearance.duration_s,
                    appearance.start_at,
                    appearance.end_at,
                    scene.face_height_px,
                    indexed_face_box(faces_dir, photo),
                    margin=0.25,
                )
            )
        source = CameraSource(
            id=camera, camera=camera, video=f"{camera}.mp4", timestamps=f"{camera}.frames.jsonl"
        )
        script = VideoScript(
            tuple(appearances),
            duration_s=capture.manifest.duration_s,
            fps=scene.fps,
            width=scene.width,
            height=scene.height,
            start_epoch_s=capture.start_ms / 1000,
            seed=seed,
        )
        build_video(script, out_dir / source.video, out_dir / source.timestamps)
        sources.append(source)
    manifest = capture.manifest.model_copy(update={"sources": sources})
    (out_dir / MANIFEST).write_text(manifest.to_yaml(), encoding="utf-8")
    return Capture.open(out_dir)
