"""The one interface every face backend implements, and what it returns.

A backend finds faces (:meth:`FaceBackend.detect`) and turns the ones worth keeping into
embeddings (:meth:`FaceBackend.embed`); :func:`edge.vision.backends.analyse` puts the quality
gates between the two. Backends import their heavy libraries (dlib, onnxruntime, OpenCV)
themselves, so nothing outside ``edge/vision/backends`` needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from edge.vision.quality import LandmarkLayout

Box = tuple[int, int, int, int]
"""(top, right, bottom, left) in pixels of the image given to ``detect``."""

Metric = Literal["euclidean", "cosine"]


@dataclass(frozen=True, slots=True, eq=False)
class DetectedFace:
    box: Box
    landmarks: np.ndarray
    """(5, 2) float32 x, y in image pixels, in the backend's own order: ONNX (YuNet) gives the
    ArcFace order (eye, eye, nose tip, mouth corner, mouth corner, picture-left first); dlib's
    5-point model gives two corners of each eye and the base of the nose."""
    det_score: float

    @property
    def size_px(self) -> int:
        """The shorter side of the box: what the minimum face size gate compares."""
        top, right, bottom, left = self.box
        return min(bottom - top, right - left)


@dataclass(frozen=True, slots=True, eq=False)
class FaceResult:
    """One detected face after the quality gates: an embedding, or the gate that refused it."""

    box: Box
    det_score: float
    embedding: np.ndarray | None
    rejected: str | None


class FaceBackend(Protocol):
    name: str
    embedding_size: int
    default_threshold: float
    """Largest distance (in ``metric``) that still names a member."""
    metric: Metric
    landmark_layout: LandmarkLayout
    """Which five points :attr:`DetectedFace.landmarks` holds (for the head pose)."""

    def detect(self, image_bgr: np.ndarray) -> list[DetectedFace]: ...

    def embed(self, image_bgr: np.ndarray, faces: list[DetectedFace]) -> np.ndarray:
        """(len(faces), embedding_size) float32; rows L2-normalised when ``metric`` is cosine."""
        ...


class BackendError(RuntimeError):
    """A backend cannot be set up (missing model file, bad model card); says which and why."""
