"""Enrolment, erasure and identification from photographs: what the CLI and the HTTP API call.

A photograph is used only if it holds exactly one face that passes the quality gates; every
other photograph gets one clear reason and the rest still count. Photographs are decoded in
memory and dropped: only embeddings are kept, and only for members with a consent record.
Identification answers and forgets: nothing about the face asked about is stored or logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from edge.clock import Clock
from edge.config.store import StoreConfig
from edge.config.vision import QualityGates
from edge.vision.backends import FaceBackend, analyse, create_backend, decode_image, fit_image
from edge.vision.consent import ConsentRegistry
from edge.vision.gallery import Gallery, Match, open_gallery

log = logging.getLogger(__name__)

HQ_CONSENT_REFERENCE = "hq-sync"
"""Consent reference of members whose consent HQ holds (they arrive through the gallery sync)."""

MEMBER_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")


class PhotoProblem(StrEnum):
    UNREADABLE = "unreadable"
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    TOO_SMALL = "too_small"
    LOW_SCORE = "low_score"
    BLURRY = "blurry"


def problem_message(problem: PhotoProblem, detail: str = "") -> str:
    """The sentence shown to the person enrolling (CLI) or in the 4xx body (HTTP)."""
    messages = {
        PhotoProblem.UNREADABLE: "not a readable image",
        PhotoProblem.NO_FACE: "no face found",
        PhotoProblem.SEVERAL_FACES: "several faces found; use a photo of the member alone",
        PhotoProblem.TOO_SMALL: "the face is too small; use a closer or larger photo",
        PhotoProblem.LOW_SCORE: "the face is not clear enough (low detector score)",
        PhotoProblem.BLURRY: "the face is blurred; use a sharper photo",
    }
    return messages[problem] + (f" ({detail})" if detail else "")


class MemberIdError(ValueError):
    pass


def check_member_id(member_id: str) -> str:
    if not MEMBER_ID_PATTERN.match(member_id):
        raise MemberIdError(
            f"invalid member id {member_id!r}: 1-128 letters, digits or _.:@- "
            "(starting with a letter or digit)"
        )
    return member_id


@dataclass(frozen=True, slots=True)
class PhotoInput:
    name: str
    read: Callable[[], bytes]
    """Returns the photo's bytes; may raise OSError (reported as unreadable)."""


@dataclass(frozen=True, slots=True, eq=False)
class PhotoFace:
    """The one usable face of a photo, or why there is none."""

    name: str
    problem: PhotoProblem | None
    message: str
    embedding: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class PhotoReport:
    name: str
    accepted: bool
    problem: PhotoProblem | None
    message: str


@dataclass(frozen=True, slots=True)
class EnrolmentReport:
    member_id: str
    added: int
    """Embeddings added by this enrolment."""
    total: int
    """Embeddings the member now has."""
    photos: list[PhotoReport]


@dataclass(frozen=True, slots=True)
class IdentifyReport:
    name: str
    problem: PhotoProblem | None
    message: str
    match: Match | None


@dataclass(frozen=True, slots=True)
class ForgetReport:
    member_id: str
    embeddings_removed: int
    consent_removed: bool

    @property
    def found(self) -> bool:
        return self.embeddings_removed > 0 or self.consent_removed


ProgressSink = Callable[[int, int, PhotoReport], None]


class FaceService:
    """Enrol, forget and identify against one store's gallery and consent registry."""

    def __init__(
        self,
        *,
        backend: FaceBackend,
        config: StoreConfig,
        gallery: Gallery,
        consent: ConsentRegistry,
    ) -> None:
        self.backend = backend
        self.gates = config.vision.gates
        self.max_side_px = config.vision.photo_max_side_px
        self.mirror_templates = config.vision.mirror_templates
        self.gallery = gallery
        self.consent = consent

    @classmethod
    def from_config(
        cls, config: StoreConfig, clock: Clock, *, backend: FaceBackend | None = None
    ) -> FaceService:
        """The store's service; ``backend`` (a photo backend) may be shared to save loading."""
        backend = backend or create_backend(config.vision, for_photos=True)
        gallery = open_gallery(
            config.data_dir,
            config.vision,
            backend=backend.name,
            embedding_size=backend.embedding_size,
            metric=backend.metric,
            default_threshold=backend.default_threshold,
        )
        consent_file = config.vision.consent_file
        if not consent_file.is_absolute():
            consent_file = config.data_dir / consent_file
        return cls(
            backend=backend,
            config=config,
            gallery=gallery,
            consent=ConsentRegistry(consent_file, clock),
        )

    def photo_face(self, photo: PhotoInput, *, template: bool = False) -> PhotoFace:
        """The embedding of the single face in a photo, or the reason it cannot be used;
        ``template``: as enrolment stores it (with the mirror image, when configured)."""
        mirror = template and self.mirror_templates
        return photo_face(photo, self.backend, self.gates, self.max_side_px, mirror=mirror)

    def enroll(
        self,
        member_id: str,
        photos: Sequence[PhotoInput],
        *,
        consent_reference: str | None = None,
        progress: ProgressSink | None = None,
    ) -> EnrolmentReport:
        """Add the usable photos' embeddings. Raises ConsentError before reading any photo
        when the member has no consent record and none is given."""
        check_member_id(member_id)
        if consent_reference is not None:
            self.consent.grant(member_id, consent_reference)
        self.consent.require(member_id)
        reports: list[PhotoReport] = []
        embeddings: list[np.ndarray] = []
        for number, photo in enumerate(photos, start=1):
            face = self.photo_face(photo, template=True)
            report = PhotoReport(photo.name, face.embedding is not None, face.problem, face.message)
            if face.embedding is not None:
                embeddings.append(face.embedding)
            reports.append(report)
            if progress is not None:
                progress(number, len(photos), report)
        if embeddings:
            self.gallery.add(member_id, np.vstack(embeddings))
        log.info(
            "enrolled member %s: %d of %d photos used", member_id, len(embeddings), len(photos)
        )
        return EnrolmentReport(member_id, len(embeddings), self.gallery.count(member_id), reports)

    def forget(self, member_id: str) -> ForgetReport:
        """Erase the member's embeddings (memory and disk) and consent record."""
        removed = self.gallery.remove_member(member_id)
        revoked = self.consent.revoke(member_id)
        if removed or revoked:
            log.info("erased member %s: %d embeddings", member_id, removed)
        return ForgetReport(member_id, removed, revoked)

    # The two calls below make the service the gallery sink of HQ sync
    # (cloud_sync/client/downlink.py): HQ sends consented members only, and its erasures
    # remove the consent record together with the embeddings.

    def replace_members(self, members: Mapping[str, np.ndarray]) -> None:
        """HQ's full set of consented members (member id -> (n, D) embeddings)."""
        for member_id in members:
            check_member_id(member_id)
            if member_id not in self.consent:
                self.consent.grant(member_id, HQ_CONSENT_REFERENCE)
        self.gallery.replace_members(members)

    def remove_member(self, member_id: str) -> None:
        self.forget(member_id)

    def identify(self, photo: PhotoInput) -> IdentifyReport:
        face = self.photo_face(photo)
        if face.embedding is None:
            return IdentifyReport(photo.name, face.problem, face.message, None)
        return IdentifyReport(photo.name, None, "ok", self.gallery.match(face.embedding))


def _problem(name: str, problem: PhotoProblem, detail: str = "") -> PhotoFace:
    return PhotoFace(name, problem, problem_message(problem, detail))


def photo_face(
    photo: PhotoInput,
    backend: FaceBackend,
    gates: QualityGates,
    max_side_px: int,
    *,
    mirror: bool = False,
) -> PhotoFace:
    """The embedding of the single face in an enrolment photo, or the reason it cannot be used
    (the rule the edge and headquarters share). ``mirror``: averaged with the embedding of
    the photo's mirror image, a template that matches the member's other photos better at
    the same false-accept rate (docs/vision.md, "Open-set benchmark")."""
    try:
        data = photo.read()
    except OSError as error:
        return _problem(photo.name, PhotoProblem.UNREADABLE, error.strerror or str(error))
    image = decode_image(data)
    if image is None:
        return _problem(photo.name, PhotoProblem.UNREADABLE)
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
    embedding = face.embedding
    if mirror and embedding is not None:
        mirrored = [
            f.embedding
            for f in analyse(backend, np.ascontiguousarray(image[:, ::-1]), gates)
            if f.embedding is not None
        ]
        if len(mirrored) == 1:  # the same single face, seen from its other side
            embedding = ((embedding + mirrored[0]) / 2).astype(embedding.dtype)
    return PhotoFace(photo.name, None, "ok", embedding)
