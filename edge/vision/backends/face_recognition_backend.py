"""The default backend: dlib's HOG detector, its 5-point landmarks and 128-d ResNet embedding.

These are the models of the ``face_recognition`` package (from ``face-recognition-models``),
called through dlib directly so that landmarks are computed once per face and reused for the
embedding. The embedding network runs on onnxruntime by default (``embedder: onnx``, the same
weights rebuilt as an ONNX graph by :mod:`edge.vision.backends.dlib_onnx`: the same numbers,
several times faster than the BLAS-less dlib wheel); ``embedder: dlib`` runs dlib's own.
The 68-point landmark model is never loaded: its training data (iBUG 300-W) is not licensed
for commercial use. Distances are Euclidean; the default threshold is chosen on the
shared photographs (docs/vision.md).
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import dlib
import face_recognition_models
import numpy as np
import onnxruntime

from edge.config.vision import DlibEmbedder
from edge.vision.backends.base import DetectedFace, Metric
from edge.vision.backends.dlib_onnx import CHIP_PX, build_model
from edge.vision.quality import LandmarkLayout

# Chosen on the open-set benchmark with mean enrolment templates (docs/vision.md).
DEFAULT_THRESHOLD = 0.48


@dataclass(frozen=True, slots=True)
class _Models:
    detector: Any
    shapes: Any
    lock: threading.Lock
    """dlib's models keep per-call buffers: one call at a time per process."""


@functools.cache
def _models() -> _Models:
    """Loaded once per process and shared by every backend instance."""
    return _Models(
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location()),
        threading.Lock(),
    )


@functools.cache
def _dlib_encoder() -> Any:
    return dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())


@functools.cache
def _onnx_encoder() -> onnxruntime.InferenceSession:
    """dlib's network as ONNX, built in memory from the installed model file (about 1 s)."""
    model = build_model(Path(face_recognition_models.face_recognition_model_location()))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # one core per camera worker
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


class FaceRecognitionBackend:
    name = "face_recognition"
    embedding_size = 128
    default_threshold = DEFAULT_THRESHOLD
    metric: Metric = "euclidean"
    landmark_layout: LandmarkLayout = "dlib5"

    def __init__(
        self,
        *,
        detection_scale: float,
        upsample: int,
        embedder: DlibEmbedder = DlibEmbedder.ONNX,
    ) -> None:
        self.detection_scale = detection_scale
        self.upsample = upsample
        self.embedder = embedder
        self._models = _models()
        if embedder == DlibEmbedder.ONNX:
            self._onnx = _onnx_encoder()
        else:
            self._dlib = _dlib_encoder()

    def detect(self, image_bgr: np.ndarray) -> list[DetectedFace]:
        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
        height, width = rgb.shape[:2]
        scale = self.detection_scale
        small = (
            rgb
            if scale == 1.0
            else cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        )
        models = self._models
        with models.lock:
            rects, scores, _ = models.detector.run(small, self.upsample, 0.0)
        faces: list[DetectedFace] = []
        for rect, score in zip(rects, scores, strict=True):
            top = max(0, round(rect.top() / scale))
            left = max(0, round(rect.left() / scale))
            bottom = min(height, round((rect.bottom() + 1) / scale))
            right = min(width, round((rect.right() + 1) / scale))
            if bottom - top < 2 or right - left < 2:
                continue
            with models.lock:
                shape = models.shapes(rgb, dlib.rectangle(left, top, right - 1, bottom - 1))
            landmarks = np.array(
                [(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)],
                dtype=np.float32,
            )
            faces.append(DetectedFace((top, right, bottom, left), landmarks, float(score)))
        return faces

    def embed(self, image_bgr: np.ndarray, faces: list[DetectedFace]) -> np.ndarray:
        if not faces:
            return np.empty((0, self.embedding_size), dtype=np.float32)
        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
        shapes = dlib.full_object_detections()
        for face in faces:
            top, right, bottom, left = face.box
            points = dlib.points([dlib.point(int(x), int(y)) for x, y in face.landmarks])
            shapes.append(
                dlib.full_object_detection(dlib.rectangle(left, top, right - 1, bottom - 1), points)
            )
        if self.embedder == DlibEmbedder.DLIB:
            with self._models.lock:
                # num_jitters=1: the aligned chip as is, as face_recognition does by default.
                descriptors = self._dlib.compute_face_descriptor(rgb, shapes, 1)
            return np.asarray([np.asarray(d) for d in descriptors], dtype=np.float32)
        # The chip dlib's compute_face_descriptor would cut: 150 px, padding 0.25.
        chips = dlib.get_face_chips(rgb, shapes, size=CHIP_PX, padding=0.25)
        batch = np.stack([np.asarray(chip) for chip in chips]).astype(np.float32)
        embeddings: np.ndarray = self._onnx.run(None, {"chip": batch})[0]
        return embeddings.astype(np.float32)
