"""Enrolment, erasure and identification from photographs: what the CLI and the HTTP API call.

One enrolment is one session: its photos (or a short video's frames) are checked, scored, the
best few kept and averaged into one template (:mod:`edge.vision.photos`); every photo that is
not used gets one clear reason and the rest still count. Photographs are decoded in
memory and dropped: only embeddings are kept, and only for members with a consent record.
Identification answers and forgets: nothing about the face asked about is stored or logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from edge.clock import Clock
from edge.config.store import StoreConfig
from edge.vision.backends import FaceBackend, create_backend
from edge.vision.consent import ConsentRegistry
from edge.vision.gallery import Gallery, Match, open_gallery
from edge.vision.photos import (
    PhotoFace,
    PhotoInput,
    PhotoProblem,
    PhotoReport,
    enrolment_rule,
    photo_face,
    session_template,
)

__all__ = [
    "EnrolmentReport",
    "FaceService",
    "ForgetReport",
    "IdentifyReport",
    "MemberIdError",
    "PhotoInput",
    "PhotoProblem",
    "PhotoReport",
    "check_member_id",
]

log = logging.getLogger(__name__)

HQ_CONSENT_REFERENCE = "hq-sync"
"""Consent reference of members whose consent HQ holds (they arrive through the gallery sync)."""

MEMBER_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")


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
class EnrolmentReport:
    member_id: str
    added: int
    """Embeddings added by this enrolment (one mean template, or one per kept photo)."""
    total: int
    """Embeddings the member now has."""
    photos: list[PhotoReport]

    @property
    def photos_used(self) -> int:
        return sum(report.accepted for report in self.photos)


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
        vision = config.vision
        self.backend = backend
        self.gates = vision.gates
        self.max_side_px = vision.photo_max_side_px
        self.rule = enrolment_rule(vision)
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

    def photo_face(self, photo: PhotoInput) -> PhotoFace:
        """The embedding of the single face in a photo, or the reason it cannot be used."""
        return photo_face(photo, self.backend, self.gates, self.max_side_px)

    def enroll(
        self,
        member_id: str,
        photos: Sequence[PhotoInput],
        *,
        consent_reference: str | None = None,
    ) -> EnrolmentReport:
        """One enrolment session: the best photos (or video frames) make one template
        (:func:`edge.vision.photos.session_template`). Raises ConsentError before reading any
        photo when the member has no consent record and none is given."""
        check_member_id(member_id)
        if consent_reference is not None:
            self.consent.grant(member_id, consent_reference)
        self.consent.require(member_id)
        session = session_template(photos, self.backend, self.rule)
        if len(session.embeddings):
            self.gallery.add(member_id, session.embeddings)
        log.info(
            "enrolled member %s: %d of %d photos or frames used, %d embeddings added",
            member_id,
            session.photos_used,
            len(session.photos),
            len(session.embeddings),
        )
        return EnrolmentReport(
            member_id, len(session.embeddings), self.gallery.count(member_id), session.photos
        )

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
