"""The ONNX backend: a YuNet-style detector and an ArcFace/SFace-style embedder on onnxruntime.

Each model is described by a model card (YAML) beside its ``.onnx`` file: input size, colour
order, mean/std, tensor layout, output layout, and for the embedder its size, metric and
threshold (models/face/README.md). The detector's output is either ``rows`` — one row per
face: box x, y, w, h, five landmarks x, y, score, in input pixels — or ``yunet``: the twelve
per-stride heads of OpenCV Zoo's YuNet (``cls_8 .. kps_32``), decoded here exactly as
OpenCV's ``FaceDetectorYN`` does. Faces are aligned by a similarity transform of the five
landmarks onto the ArcFace 112x112 template before embedding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

import cv2
import numpy as np
import onnxruntime
import yaml
from pydantic import Field, ValidationError, model_validator

from edge.config.base import StrictModel
from edge.config.loader import format_validation_error
from edge.config.vision import OnnxBackendConfig
from edge.vision.backends.base import BackendError, DetectedFace, Metric
from edge.vision.quality import LandmarkLayout

# The five points of a 112x112 ArcFace crop: eye, eye, nose tip, mouth corner, mouth corner
# (picture-left first), as in InsightFace and OpenCV's FaceRecognizerSF.
ARCFACE_TEMPLATE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)
YUNET_STRIDES = (8, 16, 32)
ROW_WIDTH = 15


class ModelCard(StrictModel):
    file: Path = Field(title="The .onnx file, relative to the card")
    licence: str = Field(title="Licence of the weights (shipped models must allow commerce)")
    input_size: tuple[int, int] = Field(title="Network input (width, height) in pixels")
    colour_order: Literal["bgr", "rgb"] = Field(title="Channel order the network expects")
    mean: tuple[float, float, float] = Field(
        default=(0.0, 0.0, 0.0), title="Subtracted per channel (0..255 scale, model order)"
    )
    std: tuple[float, float, float] = Field(
        default=(1.0, 1.0, 1.0), title="Divides per channel after the mean"
    )
    layout: Literal["nchw", "nhwc"] = Field(default="nchw", title="Input tensor layout")
    source: str = Field(default="", title="Where the weights come from")


class DetectorCard(ModelCard):
    kind: Literal["detector"]
    output: Literal["rows", "yunet"] = Field(title="Output layout (see module docstring)")
    score_threshold: float = Field(default=0.6, ge=0, le=1, title="Least face score")
    nms_iou: float = Field(default=0.3, gt=0, le=1, title="Boxes overlapping more are merged")
    top_k: int = Field(default=50, ge=1, title="Most faces kept per image")

    @model_validator(mode="after")
    def _yunet_size(self) -> DetectorCard:
        if self.output == "yunet" and any(side % 32 for side in self.input_size):
            raise ValueError(f"yunet input_size {self.input_size} must be multiples of 32")
        return self


class EmbedderCard(ModelCard):
    kind: Literal["embedder"]
    embedding_size: int = Field(ge=1, le=4096, title="Length of the embedding")
    metric: Literal["euclidean", "cosine"] = Field(title="How embeddings are compared")
    threshold: float = Field(gt=0, title="Default largest distance that still names a member")


CardT = TypeVar("CardT", bound=ModelCard)


def load_card(path: Path, card_type: type[CardT]) -> CardT:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BackendError(f"{path}: cannot read the model card: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise BackendError(f"{path}: model card is not valid YAML: {error}") from None
    try:
        card = card_type.model_validate(data)
    except ValidationError as error:
        raise BackendError(format_validation_error(str(path), error)) from None
    model = card.file if card.file.is_absolute() else path.parent / card.file
    if not model.is_file():
        raise BackendError(f"{path}: model file {model} does not exist (see models/face/README.md)")
    return card.model_copy(update={"file": model})


def to_tensor(images_bgr: list[np.ndarray], card: ModelCard) -> np.ndarray:
    """A batch of images already at the card's input size, as the network's input tensor."""
    batch = np.stack(images_bgr).astype(np.float32)
    if card.colour_order == "rgb":
        batch = batch[..., ::-1]
    batch -= np.asarray(card.mean, dtype=np.float32)  # in place: batch is a fresh copy
    batch /= np.asarray(card.std, dtype=np.float32)
    if card.layout == "nchw":
        batch = batch.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(batch)


def decode_yunet(heads: dict[str, np.ndarray], width: int, height: int) -> np.ndarray:
    """YuNet's per-stride heads as rows (x, y, w, h, 5 landmarks x/y, score), input pixels."""
    rows: list[np.ndarray] = []
    for stride in YUNET_STRIDES:
        cols, lines = width // stride, height // stride
        cls = np.clip(heads[f"cls_{stride}"].reshape(-1), 0, 1)
        obj = np.clip(heads[f"obj_{stride}"].reshape(-1), 0, 1)
        bbox = heads[f"bbox_{stride}"].reshape(-1, 4)
        kps = heads[f"kps_{stride}"].reshape(-1, 5, 2)
        grid_y, grid_x = np.divmod(np.arange(cols * lines), cols)
        grid = np.stack([grid_x, grid_y], axis=1).astype(np.float32)
        centre = (grid + bbox[:, :2]) * stride
        size = np.exp(bbox[:, 2:]) * stride
        landmarks = (kps + grid[:, None, :]) * stride
        score = np.sqrt(cls * obj)
        rows.append(
            np.hstack([centre - size / 2, size, landmarks.reshape(-1, 10), score[:, None]]).astype(
                np.float32
            )
        )
    return np.vstack(rows)


def non_max_suppression(rows: np.ndarray, iou_limit: float, top_k: int) -> np.ndarray:
    """Rows kept, best score first, dropping any overlapping a kept one by more than iou."""
    order = np.argsort(-rows[:, 14], kind="stable")
    kept: list[int] = []
    x1, y1 = rows[:, 0], rows[:, 1]
    x2, y2 = x1 + rows[:, 2], y1 + rows[:, 3]
    area = rows[:, 2] * rows[:, 3]
    while order.size and len(kept) < top_k:
        best, rest = order[0], order[1:]
        kept.append(int(best))
        width = np.clip(np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]), 0, None)
        height = np.clip(np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]), 0, None)
        overlap = width * height
        iou = overlap / np.maximum(area[best] + area[rest] - overlap, 1e-9)
        order = rest[iou <= iou_limit]
    return rows[kept]


def alignment(landmarks: np.ndarray, side_px: int) -> np.ndarray:
    """2x3 similarity transform taking the five landmarks onto the ArcFace template."""
    template = ARCFACE_TEMPLATE_112 * (side_px / 112.0)
    matrix, _ = cv2.estimateAffinePartial2D(
        landmarks.astype(np.float32), template, method=cv2.LMEDS
    )
    if matrix is None:
        raise ValueError("degenerate landmarks: no similarity transform")
    return matrix


class OnnxBackend:
    def __init__(self, detector: DetectorCard, embedder: EmbedderCard, threads: int = 1) -> None:
        if embedder.input_size[0] != embedder.input_size[1]:
            raise BackendError(f"{embedder.file}: the embedder input must be square")
        self.detector_card = detector
        self.embedder_card = embedder
        self.name = f"onnx/{embedder.file.stem}"
        self.embedding_size = embedder.embedding_size
        self.default_threshold = embedder.threshold
        self.metric: Metric = embedder.metric
        self.landmark_layout: LandmarkLayout = "arcface5"
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        try:
            self._detector = onnxruntime.InferenceSession(
                str(detector.file), options, providers=providers
            )
            self._embedder = onnxruntime.InferenceSession(
                str(embedder.file), options, providers=providers
            )
        except Exception as error:  # onnxruntime raises its own untyped errors
            raise BackendError(f"cannot load the ONNX models: {error}") from None
        self._detector_input = self._detector.get_inputs()[0].name
        self._embedder_input = self._embedder.get_inputs()[0].name

    @classmethod
    def from_config(cls, config: OnnxBackendConfig) -> OnnxBackend:
        detector = load_card(config.resolved(config.detector_card), DetectorCard)
        embedder = load_card(config.resolved(config.embedder_card), EmbedderCard)
        return cls(detector, embedder, config.threads)

    def detect(self, image_bgr: np.ndarray) -> list[DetectedFace]:
        card = self.detector_card
        width_in, height_in = card.input_size
        height, width = image_bgr.shape[:2]
        # Letterbox: keep the aspect ratio (a stretched face is a worse face), pad right/bottom.
        factor = min(width_in / width, height_in / height)
        scaled_w, scaled_h = (
            min(width_in, round(width * factor)),
            min(height_in, round(height * factor)),
        )
        canvas = np.zeros((height_in, width_in, 3), dtype=np.uint8)
        canvas[:scaled_h, :scaled_w] = cv2.resize(
            image_bgr, (scaled_w, scaled_h), interpolation=cv2.INTER_LINEAR
        )
        outputs = self._detector.run(None, {self._detector_input: to_tensor([canvas], card)})
        if card.output == "yunet":
            names = [output.name for output in self._detector.get_outputs()]
            rows = decode_yunet(dict(zip(names, outputs, strict=True)), width_in, height_in)
        else:
            rows = np.asarray(outputs[0], dtype=np.float32).reshape(-1, ROW_WIDTH)
        rows = rows[rows[:, 14] >= card.score_threshold]
        rows = non_max_suppression(rows, card.nms_iou, card.top_k)
        faces: list[DetectedFace] = []
        for row in rows:
            x, y, w, h = (float(v) / factor for v in row[:4])
            top, left = max(0, round(y)), max(0, round(x))
            bottom, right = min(height, round(y + h)), min(width, round(x + w))
            if bottom - top < 2 or right - left < 2:
                continue
            landmarks = (row[4:14].reshape(5, 2) / factor).astype(np.float32)
            faces.append(DetectedFace((top, right, bottom, left), landmarks, float(row[14])))
        return faces

    def embed(self, image_bgr: np.ndarray, faces: list[DetectedFace]) -> np.ndarray:
        if not faces:
            return np.empty((0, self.embedding_size), dtype=np.float32)
        side = self.embedder_card.input_size[0]
        crops = [
            cv2.warpAffine(
                image_bgr,
                alignment(face.landmarks, side),
                (side, side),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
            )
            for face in faces
        ]
        tensor = to_tensor(crops, self.embedder_card)
        embeddings = np.vstack(
            [
                np.asarray(
                    self._embedder.run(None, {self._embedder_input: tensor[i : i + 1]})[0]
                ).reshape(1, -1)
                for i in range(len(crops))
            ]
        ).astype(np.float32)
        if embeddings.shape[1] != self.embedding_size:
            raise BackendError(
                f"{self.embedder_card.file}: produced {embeddings.shape[1]} values per face, "
                f"the card says {self.embedding_size}"
            )
        if self.metric == "cosine":
            embeddings /= np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
        return embeddings
