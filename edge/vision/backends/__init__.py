"""Face backends behind one interface (:class:`FaceBackend`), the factory that builds the
configured one, and :func:`analyse`: detect, apply the quality gates, embed what passes.

OpenCV, dlib and onnxruntime are imported only by the adapter modules of this package, and
only when a backend is built, so importing ``edge.vision.backends`` stays cheap.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from edge.config.vision import FaceBackendKind, QualityGates, VisionConfig
from edge.vision.backends.base import (
    BackendError,
    Box,
    DetectedFace,
    FaceBackend,
    FaceResult,
    Metric,
)
from edge.vision.quality import (
    SHARPNESS_SIDE_PX,
    laplacian_variance,
    sharpness_rejection,
    size_or_score_rejection,
)

__all__ = [
    "BackendError",
    "Box",
    "DetectedFace",
    "FaceBackend",
    "FaceResult",
    "Metric",
    "analyse",
    "create_backend",
    "decode_image",
    "decode_video",
    "fit_image",
]


def create_backend(
    config: VisionConfig, *, detection_scale: float | None = None, for_photos: bool = False
) -> FaceBackend:
    """The configured backend. ``detection_scale`` overrides the configured one (cameras set
    their own); ``for_photos`` detects at full resolution with the photo upsampling, for
    enrolment and identify, where images are single photographs rather than frames."""
    if config.backend is FaceBackendKind.ONNX:
        from edge.vision.backends.onnx_backend import OnnxBackend

        return OnnxBackend.from_config(config.onnx)
    from edge.vision.backends.face_recognition_backend import FaceRecognitionBackend

    settings = config.face_recognition
    if for_photos:
        return FaceRecognitionBackend(
            detection_scale=1.0, upsample=settings.photo_upsample, embedder=settings.embedder
        )
    return FaceRecognitionBackend(
        detection_scale=detection_scale or settings.detection_scale,
        upsample=settings.detection_upsample,
        embedder=settings.embedder,
    )


def face_sharpness(image_bgr: np.ndarray, box: Box) -> float:
    """Variance of the Laplacian of the face, grey and resized to a fixed side."""
    import cv2

    top, right, bottom, left = box
    crop = image_bgr[max(0, top) : max(0, bottom), max(0, left) : max(0, right)]
    if crop.size == 0:
        return 0.0
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    side = SHARPNESS_SIDE_PX
    return laplacian_variance(cv2.resize(grey, (side, side), interpolation=cv2.INTER_AREA))


def analyse(
    backend: FaceBackend,
    image_bgr: np.ndarray,
    gates: QualityGates,
    counters: Counter[str] | None = None,
) -> list[FaceResult]:
    """Every face in the image, in detection order: embedded if it passes the gates, otherwise
    with the reason it was refused (counted in ``counters`` under that reason)."""
    faces = backend.detect(image_bgr)
    reasons: list[str | None] = []
    passed: list[DetectedFace] = []
    for face in faces:
        reason = size_or_score_rejection(face.size_px, face.det_score, gates)
        if reason is None and gates.min_sharpness > 0:
            reason = sharpness_rejection(face_sharpness(image_bgr, face.box), gates)
        if reason is None:
            passed.append(face)
        elif counters is not None:
            counters[reason.value] += 1
        reasons.append(None if reason is None else reason.value)
    embeddings = iter(backend.embed(image_bgr, passed)) if passed else iter(())
    return [
        FaceResult(face.box, face.det_score, next(embeddings) if reason is None else None, reason)
        for face, reason in zip(faces, reasons, strict=True)
    ]


def decode_image(data: bytes) -> np.ndarray | None:
    """A BGR image from JPEG/PNG/... bytes (EXIF orientation applied); None if unreadable."""
    import cv2

    if not data:
        return None
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    return image if image is not None and image.size else None


VIDEO_SAMPLE_EVERY_S = 0.5
VIDEO_MAX_SAMPLES = 20
"""A short enrolment video gives at most this many frames (the first 10 s at two per second)."""


def looks_like_video(data: bytes) -> bool:
    """An MP4/MOV/3GP (ISO media box), AVI or Matroska/WebM header. Only these reach FFmpeg:
    given other bytes (a JPEG, say) OpenCV's stream reader can crash the process."""
    return (
        data[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free")
        or (data[:4] == b"RIFF" and data[8:12] == b"AVI ")
        or data[:4] == b"\x1a\x45\xdf\xa3"
    )


def decode_video(
    data: bytes,
    max_side_px: int,
    *,
    every_s: float = VIDEO_SAMPLE_EVERY_S,
    max_samples: int = VIDEO_MAX_SAMPLES,
) -> list[tuple[float, np.ndarray, float]] | None:
    """Frames sampled from a video (MP4, AVI, MKV, WebM: what OpenCV's FFmpeg reads), each
    shrunk as by :func:`fit_image`, with its time in seconds and the shrink factor; None if the
    bytes are not a video. Decoded from memory: a member's video never touches the disk."""
    import io

    import cv2

    if not looks_like_video(data):
        return None
    # The stream must outlive the capture: OpenCV keeps no reference to it and reads it again
    # when released (a collected stream crashes the process).
    stream = io.BytesIO(data)
    # The stubs name only cv2.IStreamReader; OpenCV 5 takes any io.BufferedIOBase.
    capture = cv2.VideoCapture(stream, cv2.CAP_FFMPEG, [])  # type: ignore[call-overload]
    try:
        if not capture.isOpened():
            return None
        fps = capture.get(cv2.CAP_PROP_FPS)
        fps = fps if 0 < fps < 1000 else 25.0
        step = max(1, round(every_s * fps))
        frames: list[tuple[float, np.ndarray, float]] = []
        index = 0
        while len(frames) < max_samples and capture.grab():
            if index % step == 0:
                ok, frame = capture.retrieve()
                if ok and frame is not None and frame.size:
                    frames.append((index / fps, *fit_image(frame, max_side_px)))
            index += 1
        return frames or None
    finally:
        capture.release()
        stream.close()


def fit_image(image_bgr: np.ndarray, max_side_px: int) -> tuple[np.ndarray, float]:
    """The image shrunk so that its longer side is at most ``max_side_px``, and the factor."""
    import cv2

    longest = max(image_bgr.shape[:2])
    if longest <= max_side_px:
        return image_bgr, 1.0
    factor = max_side_px / longest
    return cv2.resize(image_bgr, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA), factor
