"""Enrolment of member photos at headquarters with the edge's own face backends.

Photos (or a short video) are decoded in memory, checked and ranked by the edge's rule
(:func:`edge.vision.photos.session_template`: exactly one face, the quality gates, not turned
away, the best few averaged into one template) and dropped; only the template is kept. HQ
must use the same backend as the stores (``O2O_HQ_VISION``, the edge's ``vision`` section as
JSON; default: face_recognition, 128-d), otherwise the downlinked embeddings would not match
what the stores compute.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

from edge.config.vision import VisionConfig
from edge.vision.backends import FaceBackend

if TYPE_CHECKING:
    from edge.vision.photos import SessionTemplate


class PhotoRejected(ValueError):
    """The photo cannot be used; the message says why (answered 422)."""


class PhotoEnroller:
    """Builds the backend on first use (loading models takes a second) and shares it."""

    def __init__(self, vision: dict[str, Any]) -> None:
        self.config = VisionConfig.model_validate(vision)
        self._backend: FaceBackend | None = None
        self._lock = threading.Lock()

    def _photo_backend(self) -> FaceBackend:
        from edge.vision.backends import create_backend

        with self._lock:
            if self._backend is None:
                self._backend = create_backend(self.config, for_photos=True)
            return self._backend

    def template(self, photos: list[tuple[str, bytes]]) -> SessionTemplate:
        """One enrolment session (photos, or a short video): the best few photos averaged
        into one template, as the edge enrols. Raises PhotoRejected when none is usable."""
        from edge.vision.photos import PhotoInput, enrolment_rule, session_template

        backend = self._photo_backend()
        inputs = [PhotoInput(name, functools.partial(bytes, data)) for name, data in photos]
        with self._lock:  # backends are not documented as thread-safe
            session = session_template(inputs, backend, enrolment_rule(self.config))
        if not len(session.embeddings):
            raise PhotoRejected("; ".join(f"{p.name}: {p.message}" for p in session.photos))
        return session

    def embedding(self, name: str, data: bytes) -> list[float]:
        """The template of a single photo (a member's selfie)."""
        return [float(x) for x in self.template([(name, data)]).embeddings[0]]
