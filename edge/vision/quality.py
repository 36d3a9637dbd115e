"""Quality gates: which detected faces are worth an embedding. Pure functions on numpy arrays.

A face is refused, in this order, when its box is smaller than ``min_face_px`` (too few pixels
to tell people apart), when the detector is not sure enough (``min_det_score``), or when it is
blurred: the variance of the Laplacian of the grey face, resized to 96x96 so that the figure
does not depend on the face's size, is below ``min_sharpness``. Sharp faces in good light
score in the hundreds; motion blur drives it towards zero.

Enrolment asks more of a photo than a camera frame: :func:`face_quality` also refuses a face
turned away (head pose from the five landmarks, :func:`pose_from_landmarks`) and scores the
rest, so that the best few of several photos (or of a short video's frames) make the template.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import numpy as np

from edge.config.vision import QualityGates

SHARPNESS_SIDE_PX = 96


class Rejection(StrEnum):
    """Why a face was not embedded, or a photo not used (the counters' keys)."""

    TOO_SMALL = "too_small"
    LOW_SCORE = "low_score"
    BLURRY = "blurry"
    TURNED_AWAY = "turned_away"
    """Enrolment only: cameras embed a turned face and let the tracker's vote decide."""


def laplacian_variance(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian over the interior of a 2-D grey image."""
    image = grey.astype(np.float32)
    if image.shape[0] < 3 or image.shape[1] < 3:
        return 0.0
    laplacian = (
        image[:-2, 1:-1]
        + image[2:, 1:-1]
        + image[1:-1, :-2]
        + image[1:-1, 2:]
        - 4.0 * image[1:-1, 1:-1]
    )
    return float(laplacian.var())


def size_or_score_rejection(
    size_px: int, det_score: float, gates: QualityGates
) -> Rejection | None:
    """The cheap gates, checked before any pixel is looked at."""
    if size_px < gates.min_face_px:
        return Rejection.TOO_SMALL
    if det_score < gates.min_det_score:
        return Rejection.LOW_SCORE
    return None


def sharpness_rejection(sharpness: float, gates: QualityGates) -> Rejection | None:
    return Rejection.BLURRY if sharpness < gates.min_sharpness else None


# --- enrolment photos: which of several photos make the best template -------------------------

LandmarkLayout = Literal["dlib5", "arcface5"]
"""dlib's 5-point model: two corners of each eye, then the base of the nose; ArcFace order
(YuNet): the two eye centres, the nose tip, the two mouth corners."""

FRONTAL_PITCH = {"dlib5": 0.75, "arcface5": 0.57}
"""Nose below the eye line, in eye distances, of a face looking into the camera: dlib's is the
median over the shared LFW photographs, ArcFace's from its alignment template."""

TURNED_AWAY_YAW = 0.30
"""Nose off the eyes' midpoint by this share of the eye distance: about 35 degrees sideways.
LFW's most turned faces that the detector still finds reach 0.25-0.31 (1 % beyond 0.23)."""
SLIGHTLY_TURNED_YAW = 0.15
"""About 15 degrees: still used, but a straighter photo of the member ranks first."""
TILTED_PITCH = 0.20
"""Nose-to-eyes height off the frontal value by this share of the eye distance (head raised
or lowered); LFW's 5th-95th percentiles are within 0.17 of the median."""
GOOD_FACE_PX = 100
"""A face this large or larger scores full marks for size (LFW's faces, which the benchmark
recognises, are about 108 px; dlib's chip is 150 px)."""
GOOD_SHARPNESS = 60.0
"""Laplacian variance from which a face counts as sharp (LFW: about 50-300)."""


class PhotoNote(StrEnum):
    """What makes a usable photo weaker than it could be (it ranks lower)."""

    SMALL = "small"
    SOFT = "soft"
    SLIGHTLY_TURNED = "slightly_turned"
    TILTED = "tilted"


@dataclass(frozen=True, slots=True)
class Pose:
    yaw: float
    """Signed horizontal offset of the nose from the eyes' midpoint, in eye distances."""
    pitch: float
    """How far the nose sits below the eye line, in eye distances."""


@dataclass(frozen=True, slots=True)
class FaceQuality:
    """The quality of one detected face for enrolment: a score in [0, 1] to rank photos by,
    why it cannot be used at all (``refused``), and what makes it weaker (``notes``)."""

    score: float
    refused: Rejection | None
    notes: tuple[PhotoNote, ...]
    size_px: int
    sharpness: float
    pose: Pose | None


def pose_from_landmarks(landmarks: np.ndarray, layout: LandmarkLayout) -> Pose | None:
    """Head pose from five landmarks, in the face's own frame (a rolled head is not turned).
    None when the eyes coincide (degenerate landmarks)."""
    points = np.asarray(landmarks, dtype=np.float64)
    if layout == "dlib5":
        eye_a, eye_b, nose = points[0:2].mean(axis=0), points[2:4].mean(axis=0), points[4]
    else:
        eye_a, eye_b, nose = points[0], points[1], points[2]
    across = eye_b - eye_a
    distance = float(np.hypot(*across))
    if distance < 1e-6:
        return None
    unit = across / distance
    down = np.array([-unit[1], unit[0]])
    offset = nose - (eye_a + eye_b) / 2
    return Pose(yaw=float(offset @ unit) / distance, pitch=abs(float(offset @ down)) / distance)


def face_quality(
    size_px: int,
    det_score: float,
    sharpness: float,
    pose: Pose | None,
    layout: LandmarkLayout,
    gates: QualityGates,
) -> FaceQuality:
    """Score a detected face for enrolment (pure). Refused: by the camera gates (size,
    detector score, sharpness) or turned away; otherwise the score is the product of a size, a
    sharpness and a pose term, each 1 for a good photo, so the best photos of a session can be
    kept. Closed eyes are not measured: that needs eyelid landmarks, which only dlib's 68-point
    model gives, and its training data is not licensed for commercial use."""
    refused = size_or_score_rejection(size_px, det_score, gates) or sharpness_rejection(
        sharpness, gates
    )
    if refused is None and pose is not None and abs(pose.yaw) >= TURNED_AWAY_YAW:
        refused = Rejection.TURNED_AWAY
    notes: list[PhotoNote] = []
    size_term = min(1.0, size_px / GOOD_FACE_PX)
    if size_term < 1.0:
        notes.append(PhotoNote.SMALL)
    sharp_term = min(1.0, sharpness / GOOD_SHARPNESS)
    if sharp_term < 1.0:
        notes.append(PhotoNote.SOFT)
    pose_term = 1.0
    if pose is not None:
        yaw, tilt = abs(pose.yaw), abs(pose.pitch - FRONTAL_PITCH[layout])
        # Quadratic: a nearly frontal face loses almost nothing, a half-turned one a lot.
        pose_term = max(0.0, 1.0 - (yaw / TURNED_AWAY_YAW) ** 2) * max(
            0.0, 1.0 - (tilt / (2 * TILTED_PITCH)) ** 2
        )
        if yaw >= SLIGHTLY_TURNED_YAW:
            notes.append(PhotoNote.SLIGHTLY_TURNED)
        if tilt >= TILTED_PITCH:
            notes.append(PhotoNote.TILTED)
    score = 0.0 if refused is not None else size_term * sharp_term * pose_term
    return FaceQuality(round(score, 4), refused, tuple(notes), size_px, sharpness, pose)
