"""Enrolment of member photos at headquarters with the edge's own face backends.

The photo is decoded in memory, checked by the edge's rule (exactly one face that passes the
quality gates) and dropped; only its embedding is kept. HQ must use the same backend as the
stores (``O2O_HQ_VISION``, the edge's ``vision`` section as JSON; default: face_recognition,
128-d), otherwise the downlinked embeddings would not match what the stores compute.
"""

from __future__ import annotations

import threading
from typing import Any

from edge.config.vision import VisionConfig
from edge.vision.backends import FaceBackend


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

    def embedding(self, name: str, data: bytes) -> list[float]:
        from edge.vision.enrolment import PhotoInput, photo_face

        backend = self._photo_backend()
        with self._lock:  # backends are not documented as thread-safe
            face = photo_face(
                PhotoInput(name, lambda: data),
                backend,
                self.config.gates,
                self.config.photo_max_side_px,
                mirror=self.config.mirror_templates,
            )
        if face.problem is not None or face.embedding is None:
            raise PhotoRejected(f"{name}: {face.message}")
        return [float(x) for x in face.embedding]
