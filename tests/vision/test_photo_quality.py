"""Enrolment photo quality: the pure scoring (pose from landmarks, size, sharpness), then on
real photographs and degraded copies of them (downscaled, blurred), then a whole enrolment
session that keeps the best few photos, or frames of a short video, and says why of the rest."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.config.vision import QualityGates, VisionConfig
from edge.vision.backends import FaceBackend, decode_video
from edge.vision.photos import (
    EnrolmentRule,
    PhotoInput,
    PhotoProblem,
    assess,
    enrolment_rule,
    session_template,
)
from edge.vision.quality import (
    FRONTAL_PITCH,
    PhotoNote,
    Pose,
    Rejection,
    face_quality,
    pose_from_landmarks,
)
from edge.vision.video_builder import Appearance, VideoScript, build_video, indexed_face_box
from tests.vision.conftest import lfw_photos

GATES = QualityGates()


def dlib5(nose_dx: float, nose_dy: float = 0.75, roll_deg: float = 0.0) -> np.ndarray:
    """dlib's five points for eyes 100 px apart, the nose offset in eye distances, rolled."""
    points = np.array(
        [[-70, 0], [-30, 0], [30, 0], [70, 0], [100 * nose_dx, 100 * nose_dy]], dtype=np.float64
    )
    angle = np.radians(roll_deg)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return (points @ rotation.T + 300).astype(np.float32)


def test_pose_from_landmarks_measures_yaw_and_pitch_whatever_the_roll() -> None:
    frontal = pose_from_landmarks(dlib5(0.0), "dlib5")
    assert frontal == Pose(yaw=0.0, pitch=pytest.approx(0.75))
    for roll in (0.0, 25.0, -40.0):
        turned = pose_from_landmarks(dlib5(0.2, roll_deg=roll), "dlib5")
        assert turned is not None
        assert turned.yaw == pytest.approx(0.2, abs=1e-4)
        assert turned.pitch == pytest.approx(0.75, abs=1e-4)
    other_way = pose_from_landmarks(dlib5(-0.35), "dlib5")
    assert other_way is not None and other_way.yaw == pytest.approx(-0.35)
    # ArcFace order: eye centres first, then the nose tip.
    arcface = np.array([[38.3, 51.7], [73.5, 51.5], [56.0, 71.7], [41.5, 92.4], [70.7, 92.2]])
    pose = pose_from_landmarks(arcface, "arcface5")
    assert pose is not None and abs(pose.yaw) < 0.01
    assert pose.pitch == pytest.approx(FRONTAL_PITCH["arcface5"], abs=0.01)
    assert pose_from_landmarks(np.zeros((5, 2)), "dlib5") is None


@pytest.mark.parametrize(
    ("size_px", "sharpness", "yaw", "pitch", "refused", "notes"),
    [
        (200, 200.0, 0.0, 0.75, None, ()),
        (59, 200.0, 0.0, 0.75, Rejection.TOO_SMALL, (PhotoNote.SMALL,)),
        (80, 200.0, 0.0, 0.75, None, (PhotoNote.SMALL,)),
        (200, 19.0, 0.0, 0.75, Rejection.BLURRY, (PhotoNote.SOFT,)),
        (200, 40.0, 0.0, 0.75, None, (PhotoNote.SOFT,)),
        (200, 200.0, 0.2, 0.75, None, (PhotoNote.SLIGHTLY_TURNED,)),
        (200, 200.0, -0.31, 0.75, Rejection.TURNED_AWAY, (PhotoNote.SLIGHTLY_TURNED,)),
        (200, 200.0, 0.0, 1.0, None, (PhotoNote.TILTED,)),
    ],
    ids=["good", "too-small", "small", "blurred", "soft", "turned", "turned-away", "tilted"],
)
def test_face_quality_refuses_and_notes(
    size_px: int,
    sharpness: float,
    yaw: float,
    pitch: float,
    refused: Rejection | None,
    notes: tuple[PhotoNote, ...],
) -> None:
    quality = face_quality(size_px, 1.0, sharpness, Pose(yaw, pitch), "dlib5", GATES)
    assert (quality.refused, quality.notes) == (refused, notes)
    if refused is not None:
        assert quality.score == 0.0
    elif notes:
        assert 0.0 < quality.score < 0.97
    else:
        assert quality.score == 1.0


def test_lower_quality_ranks_lower() -> None:
    def score(size_px: int = 200, sharpness: float = 200.0, yaw: float = 0.0) -> float:
        return face_quality(size_px, 1.0, sharpness, Pose(yaw, 0.75), "dlib5", GATES).score

    assert score() > score(yaw=0.1) > score(yaw=0.2) > score(yaw=0.28)
    assert score() > score(sharpness=50) > score(sharpness=30)
    assert score() > score(size_px=90) > score(size_px=65)


def _bgr(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    assert image is not None, path
    return image


def _jpeg(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()


def _blurred(image: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigma)


def _shrunk(image: np.ndarray, factor: float) -> np.ndarray:
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def portrait(faces_dir: Path) -> np.ndarray:
    """A high-resolution frontal portrait at the size enrolment looks at (photos are shrunk to
    ``photo_max_side_px``, 1024): the face is about 270 px."""
    image = _bgr(faces_dir / "deepface_tests" / "person_01" / "img26.jpg")
    return _shrunk(image, 1024 / max(image.shape[:2]))


def test_real_photos_and_degraded_copies(
    photo_backend: FaceBackend, portrait: np.ndarray, faces_dir: Path
) -> None:
    def judged(image: np.ndarray) -> tuple[PhotoProblem | None, float, tuple[PhotoNote, ...]]:
        _, quality, problem, _ = assess(photo_backend, image, GATES)
        assert quality is not None
        return problem, quality.score, quality.notes

    sharp = judged(portrait)
    assert sharp[0] is None and sharp[1] > 0.9 and sharp[2] == ()
    soft = judged(_blurred(portrait, 3.0))
    assert soft[0] is None and PhotoNote.SOFT in soft[2] and soft[1] < 0.7 * sharp[1]
    assert judged(_blurred(portrait, 6.0))[0] is PhotoProblem.BLURRY
    small = judged(_shrunk(portrait, 0.25))  # face about 75 px
    assert small[0] is None and PhotoNote.SMALL in small[2] and small[1] < 0.8 * sharp[1]
    assert judged(_shrunk(portrait, 0.14))[0] is PhotoProblem.TOO_SMALL  # about 50 px

    # Real turned heads from LFW: a three-quarter view is usable but ranks low; a face turned
    # further (nose 0.31 eye widths off centre) is refused for enrolment.
    three_quarter = judged(_bgr(lfw_photos(faces_dir, "Salman_Rushdie")[1]))
    assert three_quarter[0] is None and PhotoNote.SLIGHTLY_TURNED in three_quarter[2]
    assert three_quarter[1] < 0.5
    assert judged(_bgr(lfw_photos(faces_dir, "Bill_Gates")[1]))[0] is PhotoProblem.TURNED_AWAY
    frontal = judged(_bgr(lfw_photos(faces_dir, "Abdullah_Gul")[0]))
    assert frontal[0] is None and frontal[1] > 0.85


def test_session_keeps_the_best_and_says_why_of_the_rest(
    photo_backend: FaceBackend, portrait: np.ndarray, faces_dir: Path
) -> None:
    person = faces_dir / "deepface_tests" / "person_01"
    good = [portrait, _bgr(person / "img42.jpg")]
    photos = [
        PhotoInput("soft.jpg", lambda: _jpeg(_blurred(portrait, 3.0))),
        PhotoInput("front.jpg", lambda: _jpeg(good[0])),
        PhotoInput("blurred.jpg", lambda: _jpeg(_blurred(portrait, 6.0))),
        PhotoInput("tiny.jpg", lambda: _jpeg(_shrunk(portrait, 0.1))),
        PhotoInput("other.jpg", lambda: _jpeg(good[1])),
    ]
    rule = EnrolmentRule(GATES, max_side_px=1024, mirror=True, keep=2, mean=True)
    session = session_template(photos, photo_backend, rule)
    by_name = {p.name: p for p in session.photos}
    assert [p.name for p in session.photos] == [p.name for p in photos]
    assert {n for n, p in by_name.items() if p.accepted} == {"front.jpg", "other.jpg"}
    assert by_name["soft.jpg"].problem is PhotoProblem.NOT_KEPT
    assert by_name["soft.jpg"].message == (
        "usable, but better photos were kept (2 better kept; slightly blurred)"
    )
    assert by_name["blurred.jpg"].problem is PhotoProblem.BLURRY
    assert by_name["blurred.jpg"].message.startswith("the face is blurred; use a sharper photo")
    assert by_name["tiny.jpg"].problem is PhotoProblem.TOO_SMALL
    assert by_name["front.jpg"].message == "ok"
    assert session.embeddings.shape == (1, 128)

    # Separate templates when configured; the same photos kept.
    each = session_template(photos, photo_backend, EnrolmentRule(GATES, 1024, False, 2, False))
    assert each.embeddings.shape == (2, 128)
    assert [p.accepted for p in each.photos] == [p.accepted for p in session.photos]


def test_short_video_enrols_from_its_best_frames(
    photo_backend: FaceBackend, faces_dir: Path, tmp_path: Path
) -> None:
    gul = lfw_photos(faces_dir, "Abdullah_Gul")
    # The member walks past the counter camera: his photos pasted on a background, moving.
    script = VideoScript(
        tuple(
            Appearance(
                photo,
                start_s=1.5 * k,
                duration_s=1.5,
                height_px=300,
                face_box=indexed_face_box(faces_dir, photo),
                start_at=(0.4, 0.5),
                end_at=(0.6, 0.5),
            )
            for k, photo in enumerate(gul[:2])
        ),
        fps=10.0,
    )
    video = tmp_path / "counter.mp4"
    build_video(script, video, tmp_path / "counter.jsonl")
    frames = decode_video(video.read_bytes(), 1024)
    assert frames is not None and 6 <= len(frames) <= 20
    assert [round(t, 1) for t, _, _ in frames[:3]] == [0.0, 0.5, 1.0]
    assert all(frame.shape == (480, 640, 3) and f == 1.0 for _, frame, f in frames)
    small = decode_video(video.read_bytes(), 320)
    assert small is not None and all(frame.shape == (240, 320, 3) for _, frame, _ in small)

    session = session_template(
        [PhotoInput("counter.mp4", video.read_bytes)],
        photo_backend,
        enrolment_rule(VisionConfig()),
    )
    assert session.photos_used == 3 and session.embeddings.shape == (1, 128)
    assert all(p.name.startswith("counter.mp4 @ ") for p in session.photos)
    assert len(session.photos) == len(frames)

    # The template is the member's: his third photo, never filmed, is within the threshold; a
    # stranger's photo is not.
    def distance(photo: Path) -> float:
        probe = session_template(
            [PhotoInput(photo.name, photo.read_bytes)],
            photo_backend,
            EnrolmentRule(GATES, 1024, mirror=False, keep=1, mean=True),
        )
        return float(np.linalg.norm(probe.embeddings[0] - session.embeddings[0]))

    threshold = photo_backend.default_threshold
    assert distance(gul[2]) < threshold
    assert distance(lfw_photos(faces_dir, "Adrien_Brody")[0]) > threshold + 0.1

    garbage = session_template(
        [PhotoInput("clip.mp4", lambda: b"\x00\x00\x00\x18ftypmp42" + bytes(2000))],
        photo_backend,
        enrolment_rule(VisionConfig()),
    )
    assert [(p.problem, p.message) for p in garbage.photos] == [
        (PhotoProblem.UNREADABLE, "not a readable image or video")
    ]
