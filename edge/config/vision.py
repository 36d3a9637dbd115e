"""Face recognition: which backend, its quality gates, and the member gallery (docs/vision.md).

Per-camera settings (source, frame rate, detection scale, tracking) live in
``edge/config/cameras.py``; this section is what every camera and the enrolment tools share.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field

from edge.config.base import StrictModel

# Models and their cards ship in the repository's models/face folder; relative card paths
# resolve against the project root so that the daemon's working directory does not matter.
PROJECT_ROOT = Path(__file__).resolve().parents[2]

GALLERY_KEY_ENV = "O2O_GALLERY_KEY"


class FaceBackendKind(StrEnum):
    FACE_RECOGNITION = "face_recognition"
    ONNX = "onnx"


class DlibEmbedder(StrEnum):
    ONNX = "onnx"
    DLIB = "dlib"


class QualityGates(StrictModel):
    """A face is embedded only if it passes all three; each refusal is counted by reason."""

    min_face_px: int = Field(
        default=60,
        ge=1,
        le=4096,
        title="Smallest face box side, pixels of the original image",
        description="Smaller faces give embeddings too noisy to tell members apart",
    )
    min_sharpness: float = Field(
        default=20.0,
        ge=0,
        title="Least variance of the Laplacian of the face (grey, resized to 96x96)",
        description="Motion blur and out-of-focus faces score low; 0 turns the gate off",
    )
    min_det_score: float = Field(
        default=0.0,
        title="Least detector score",
        description="Backend-specific scale: dlib HOG margin (about -1..3) or ONNX 0..1",
    )


class FaceRecognitionConfig(StrictModel):
    """The default backend: dlib HOG detector, 5-point landmarks, 128-d ResNet embedding."""

    detection_scale: float = Field(
        default=0.5,
        gt=0,
        le=1,
        title="Frames are shrunk by this factor before detection (cameras may override)",
    )
    detection_upsample: int = Field(
        default=0,
        ge=0,
        le=2,
        title="HOG pyramid upsampling for frames",
        description=(
            "The HOG window is 80 px: the smallest face found is about "
            "80 / detection_scale / 2**upsample pixels of the original frame"
        ),
    )
    photo_upsample: int = Field(
        default=1, ge=0, le=2, title="HOG upsampling for enrolment and identify photos"
    )
    embedder: DlibEmbedder = Field(
        default=DlibEmbedder.ONNX,
        title="Where dlib's embedding network runs",
        description=(
            "onnx: the same weights on onnxruntime (same embeddings, several times faster); "
            "dlib: dlib itself"
        ),
    )


class OnnxBackendConfig(StrictModel):
    detector_card: Path = Field(
        default=Path("models/face/yunet.yaml"),
        title="Model card of the face detector (YuNet-style)",
        description="Relative paths resolve against the project root",
    )
    embedder_card: Path = Field(
        default=Path("models/face/sface.yaml"),
        title="Model card of the face embedder (ArcFace/SFace-style)",
    )
    threads: int = Field(default=1, ge=1, le=64, title="onnxruntime intra-op threads")

    def resolved(self, card: Path) -> Path:
        return card if card.is_absolute() else PROJECT_ROOT / card


class GalleryConfig(StrictModel):
    file: Path = Field(
        default=Path("gallery.o2og"),
        title="Encrypted gallery file",
        description="Relative paths resolve against data_dir",
    )
    key_file: Path | None = Field(
        default=None,
        title="File holding the gallery key (urlsafe base64 of 32 bytes)",
        description=f"Used when the {GALLERY_KEY_ENV} environment variable is not set",
    )
    threshold: float | None = Field(
        default=None,
        gt=0,
        title="Largest distance that still names a member (default: the backend's)",
        description="face_recognition: Euclidean, 0.48 (docs/vision.md); ONNX: its model card",
    )
    min_margin: float = Field(
        default=0.08,
        ge=0,
        title="The best member must beat the best other member by this distance",
        description="Near ties come back as unknown; 0.08 is chosen in docs/vision.md",
    )


class VisionConfig(StrictModel):
    backend: FaceBackendKind = Field(
        default=FaceBackendKind.FACE_RECOGNITION, title="Face detector and embedder"
    )
    face_recognition: FaceRecognitionConfig = Field(default_factory=FaceRecognitionConfig)
    onnx: OnnxBackendConfig = Field(default_factory=OnnxBackendConfig)
    gates: QualityGates = Field(default_factory=QualityGates)
    gallery: GalleryConfig = Field(default_factory=GalleryConfig)
    mirror_templates: bool = Field(
        default=True,
        title="Enrolment templates average each photo with its mirror image",
        description=(
            "Recognises more members at a lower false-accept rate (docs/vision.md, "
            "'Open-set benchmark'); applies to photos enrolled from now on"
        ),
    )
    mean_templates: bool = Field(
        default=True,
        title="One template per enrolment: the mean of its kept photos",
        description=(
            "Off: each kept photo is a template of its own (matched best-of); the mean "
            "recognises more members at the same false-accept rate (docs/vision.md)"
        ),
    )
    keep_photos: int = Field(
        default=3,
        ge=1,
        le=10,
        title="Photos (or video frames) an enrolment keeps: the best by quality",
    )
    photo_max_side_px: int = Field(
        default=1024,
        ge=128,
        le=8192,
        title="Enrolment photos are shrunk to at most this side before detection",
    )
    consent_file: Path = Field(
        default=Path("consent.json"),
        title="Consent registry (member id -> reference, scope, time)",
        description="Relative paths resolve against data_dir",
    )
