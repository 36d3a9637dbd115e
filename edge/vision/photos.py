"""From enrolment photos (or a short video) to a member's template, with a reason per photo.

One enrolment is one session: every photo, and every sampled frame of a video, is checked
(exactly one face; the quality gates; not turned away) and scored by
:func:`edge.vision.quality.face_quality`; the best ``keep`` are embedded (each averaged with
its mirror image, when configured) and, with ``mean``, averaged into one template: on the
open-set benchmark one mean template of three photos recognises 96.5 % of members where the
three photos as separate templates recognise 92.4 %, both at under 1 % of strangers accepted
(docs/vision.md, "Open-set benchmark"). The edge and headquarters share this rule.

Photos and frames are decoded in memory and dropped; only the template is returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from edge.config.vision import QualityGates, VisionConfig
from edge.vision.backends import (
    DetectedFace,
    FaceBackend,
    analyse,
    decode_image,
    decode_video,
    face_sharpness,
    fit_image,
)
from edge.vision.quality import FaceQuality, PhotoNote, face_quality, pose_from_landmarks


class PhotoProblem(StrEnum):
    UNREADABLE = "unreadable"
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    TOO_SMALL = "too_small"
    LOW_SCORE = "low_score"
    BLURRY = "blurry"
    TURNED_AWAY = "turned_away"
    NOT_KEPT = "not_kept"
    """Usable, but better photos of the same enrolment were kept."""


_MESSAGES = {
    PhotoProblem.UNREADABLE: "not a readable image or video",
    PhotoProblem.NO_FACE: "no face found",
    PhotoProblem.SEVERAL_FACES: "several faces found; use a photo of the member alone",
    PhotoProblem.TOO_SMALL: "the face is too small; use a closer or larger photo",
    PhotoProblem.LOW_SCORE: "the face is not clear enough (low detector score)",
    PhotoProblem.BLURRY: "the face is blurred; use a sharper photo",
    PhotoProblem.TURNED_AWAY: "the face is turned away; the member should look at the camera",
    PhotoProblem.NOT_KEPT: "usable, but better photos were kept",
}

_NOTES = {
    PhotoNote.SMALL: "small face",
    PhotoNote.SOFT: "slightly blurred",
    PhotoNote.SLIGHTLY_TURNED: "slightly turned",
    PhotoNote.TILTED: "head tilted up or down",
}


def problem_message(problem: PhotoProblem, detail: str = "") -> str:
    """The sentence shown to the person enrolling (CLI) or in the 4xx body (HTTP)."""
    return _MESSAGES[problem] + (f" ({detail})" if detail else "")


def note_message(note: PhotoNote) -> str:
    return _NOTES[note]


@dataclass(frozen=True, slots=True)
class PhotoInput:
    name: str
    read: Callable[[], bytes]
    """Returns the photo's (or video's) bytes; may raise OSError (reported as unreadable)."""


@dataclass(frozen=True, slots=True, eq=False)
class PhotoFace:
    """The one usable face of a photo, or why there is none."""

    name: str
    problem: PhotoProblem | None
    message: str
    embedding: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class PhotoReport:
    """What became of one photo, or of one sampled frame of a video (``name @ 1.5 s``)."""

    name: str
    accepted: bool
    """Part of the template."""
    problem: PhotoProblem | None
    message: str
    quality: float | None = None
    """The score photos are ranked by (0-1), for every photo with a usable face."""
    notes: tuple[str, ...] = ()
    """What makes a usable photo weaker (small face, slightly blurred, slightly turned...)."""


@dataclass(frozen=True, slots=True, eq=False)
class SessionTemplate:
    embeddings: np.ndarray = field(repr=False)
    """(n, D): one mean template, or one row per kept photo; (0, D) when nothing was usable."""
    photos: list[PhotoReport]

    @property
    def photos_used(self) -> int:
        return sum(report.accepted for report in self.photos)


@dataclass(frozen=True, slots=True)
class EnrolmentRule:
    """How a session's photos become its template (``vision`` configuration)."""

    gates: QualityGates
    max_side_px: int
    mirror: bool
    keep: int
    mean: bool


def enrolment_rule(vision: VisionConfig) -> EnrolmentRule:
    """How enrolment turns a session's photos into a template, as configured (edge and HQ)."""
    return EnrolmentRule(
        gates=vision.gates,
        max_side_px=vision.photo_max_side_px,
        mirror=vision.mirror_templates,
        keep=vision.keep_photos,
        mean=vision.mean_templates,
    )


def _problem(name: str, problem: PhotoProblem, detail: str = "") -> PhotoFace:
    return PhotoFace(name, problem, problem_message(problem, detail))


def _images(photo: PhotoInput, max_side_px: int) -> Iterator[tuple[str, np.ndarray, float]]:
    """(name, image, shrink factor) of a photo, or of each sampled frame of a video; raises
    OSError or ValueError (unreadable) when neither."""
    data = photo.read()
    image = decode_image(data)
    if image is not None:
        yield (photo.name, *fit_image(image, max_side_px))
        return
    frames = decode_video(data, max_side_px)
    if frames is None:
        raise ValueError("neither an image nor a video")
    for second, frame, factor in frames:
        yield (f"{photo.name} @ {second:.1f} s", frame, factor)


def assess(
    backend: FaceBackend, image: np.ndarray, gates: QualityGates
) -> tuple[DetectedFace | None, FaceQuality | None, PhotoProblem | None, str]:
    """The single face of an enrolment image and its quality, or the problem and its detail."""
    faces = backend.detect(image)
    if not faces:
        return None, None, PhotoProblem.NO_FACE, ""
    if len(faces) > 1:
        return None, None, PhotoProblem.SEVERAL_FACES, f"{len(faces)} faces"
    face = faces[0]
    quality = face_quality(
        face.size_px,
        face.det_score,
        face_sharpness(image, face.box),
        pose_from_landmarks(face.landmarks, backend.landmark_layout),
        backend.landmark_layout,
        gates,
    )
    if quality.refused is not None:
        return face, quality, PhotoProblem(quality.refused.value), ""
    return face, quality, None, ""


def _detail(problem: PhotoProblem, quality: FaceQuality | None, factor: float) -> str:
    if quality is None:
        return ""
    if problem is PhotoProblem.TOO_SMALL:
        return f"face {round(quality.size_px / factor)} px"
    if problem is PhotoProblem.BLURRY:
        return f"sharpness {quality.sharpness:.0f}"
    if problem is PhotoProblem.TURNED_AWAY and quality.pose is not None:
        return f"nose {abs(quality.pose.yaw):.2f} eye widths off centre"
    return ""


def template_embedding(
    backend: FaceBackend, image: np.ndarray, face: DetectedFace, rule: EnrolmentRule
) -> np.ndarray:
    """The face's embedding as enrolment stores it: with ``rule.mirror``, averaged with the
    embedding of the mirror image (the same single face, seen from its other side)."""
    embedding: np.ndarray = backend.embed(image, [face])[0]
    if rule.mirror:
        mirrored = [
            f.embedding
            for f in analyse(backend, np.ascontiguousarray(image[:, ::-1]), rule.gates)
            if f.embedding is not None
        ]
        if len(mirrored) == 1:
            embedding = ((embedding + mirrored[0]) / 2).astype(embedding.dtype)
    return embedding


@dataclass(slots=True, eq=False)
class _Usable:
    order: int
    name: str
    quality: FaceQuality
    image: np.ndarray | None
    face: DetectedFace


def session_template(
    photos: Sequence[PhotoInput],
    backend: FaceBackend,
    rule: EnrolmentRule,
) -> SessionTemplate:
    """Check and score every photo (and video frame), keep the best ``rule.keep``, embed
    them and make the template. Between photos only the current best few keep their image (a
    video's sampled frames, at most 20 and shrunk, are decoded together)."""
    reports: dict[int, PhotoReport] = {}
    usable: list[_Usable] = []
    order = 0

    def refuse(name: str, problem: PhotoProblem, detail: str = "") -> None:
        reports[order] = PhotoReport(name, False, problem, problem_message(problem, detail))

    for photo in photos:
        try:
            images = list(_images(photo, rule.max_side_px))
        except OSError as error:
            refuse(photo.name, PhotoProblem.UNREADABLE, error.strerror or str(error))
            order += 1
            continue
        except ValueError:
            refuse(photo.name, PhotoProblem.UNREADABLE)
            order += 1
            continue
        for name, image, factor in images:
            face, quality, problem, detail = assess(backend, image, rule.gates)
            if problem is not None or face is None or quality is None:
                assert problem is not None
                refuse(name, problem, detail or _detail(problem, quality, factor))
            else:
                usable.append(_Usable(order, name, quality, image, face))
                # Bounded memory for long sessions: only the current best keep their image.
                usable.sort(key=lambda u: (-u.quality.score, u.order))
                for dropped in usable[rule.keep :]:
                    dropped.image = None
            order += 1
        del images

    kept = usable[: rule.keep]
    embeddings = [
        template_embedding(backend, u.image, u.face, rule) for u in kept if u.image is not None
    ]
    for rank, u in enumerate(usable):
        notes = tuple(note_message(n) for n in u.quality.notes)
        if rank < rule.keep:
            message = "ok" + (f" (weak: {', '.join(notes)})" if notes else "")
            reports[u.order] = PhotoReport(u.name, True, None, message, u.quality.score, notes)
        else:
            detail = f"{rule.keep} better kept" + (f"; {', '.join(notes)}" if notes else "")
            reports[u.order] = PhotoReport(
                u.name,
                False,
                PhotoProblem.NOT_KEPT,
                problem_message(PhotoProblem.NOT_KEPT, detail),
                u.quality.score,
                notes,
            )
    if not embeddings:
        rows = np.empty((0, backend.embedding_size), dtype=np.float32)
    elif rule.mean:
        rows = np.mean(np.stack(embeddings), axis=0, keepdims=True).astype(np.float32)
    else:
        rows = np.stack(embeddings).astype(np.float32)
    return SessionTemplate(rows, [reports[k] for k in sorted(reports)])


def photo_face(
    photo: PhotoInput, backend: FaceBackend, gates: QualityGates, max_side_px: int
) -> PhotoFace:
    """The embedding of the single face in a photo (as cameras see it, not a template), or
    the reason it cannot be used: what ``faces identify`` asks about."""
    try:
        data = photo.read()
    except OSError as error:
        return _problem(photo.name, PhotoProblem.UNREADABLE, error.strerror or str(error))
    image = decode_image(data)
    if image is None:  # identify takes photos only
        return PhotoFace(photo.name, PhotoProblem.UNREADABLE, "not a readable image")
    image, factor = fit_image(image, max_side_px)
    faces = analyse(backend, image, gates)
    if not faces:
        return _problem(photo.name, PhotoProblem.NO_FACE)
    if len(faces) > 1:
        return _problem(photo.name, PhotoProblem.SEVERAL_FACES, f"{len(faces)} faces")
    face = faces[0]
    if face.rejected is not None:
        top, right, bottom, left = face.box
        side_px = round(min(bottom - top, right - left) / factor)
        return _problem(photo.name, PhotoProblem(face.rejected), f"face {side_px} px")
    return PhotoFace(photo.name, None, "ok", face.embedding)
