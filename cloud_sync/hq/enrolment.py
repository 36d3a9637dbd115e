"""Enrolment of member photos at headquarters with the edge's own face backends.

The photo is decoded in memory, checked by the edge's rule (exactly one face that passes the
quality gates) and dropped; only its embedding is kept. HQ must use the same backend as the
stores (``O2O_HQ_VISION``, the edge's ``vision`` section as JSON; default: face_recognition,
128-d), otherwise the downlinked embeddings would not match what the stores compute.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from edge.config.vision import QualityGates, VisionConfig
from edge.vision.backends import FaceBackend


class PhotoRejected(ValueError):
    """The photo cannot be used; the message says why (answered 422)."""


@dataclass(frozen=True, slots=True)
class _PhotoCheck:
    # The attributes edge.vision.enrolment.FaceService.photo_face reads: HQ reuses that rule
    # without an edge gallery or consent file (HQ keeps both in its database).
    backend: FaceBackend
    gates: QualityGates
    max_side_px: int


class PhotoEnroller:
    """Builds the backend on first use (loading models takes a second) and shares it."""

    def __init__(self, vision: dict[str, Any]) -> None:
        self.config = VisionConfig.model_validate(vision)
        self._check: _PhotoCheck | None = None
        self._lock = threading.Lock()

    def _checker(self) -> _PhotoCheck:
        from edge.vision.backends import create_backend

        with self._lock:
            if self._check is None:
                self._check = _PhotoCheck(
                    create_backend(self.config, for_photos=True),
                    self.config.gates,
                    self.config.photo_max_side_px,
                )
            return self._check

    def embedding(self, name: str, data: bytes) -> list[float]:
        from edge.vision.enrolment import FaceService, PhotoInput

        checker = self._checker()
        with self._lock:  # backends are not documented as thread-safe
            face = FaceService.photo_face(checker, PhotoInput(name, lambda: data))  # type: ignore[arg-type]
        if face.problem is not None or face.embedding is None:
            raise PhotoRejected(f"{name}: {face.message}")
        return [float(x) for x in face.embedding]
