"""The ONNX backend end to end with small models built here with ``onnx.helper`` (no pretrained
face model can be downloaded): model cards, colour order, mean/std, layout, box mapping, NMS,
5-point alignment and the embedder's output, then the YuNet head decoding against OpenCV's own
``FaceDetectorYN`` on the same model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper, numpy_helper

from edge.config.vision import VisionConfig
from edge.vision.backends import BackendError, analyse, create_backend
from edge.vision.backends.onnx_backend import (
    ARCFACE_TEMPLATE_112,
    YUNET_STRIDES,
    DetectorCard,
    EmbedderCard,
    OnnxBackend,
    decode_yunet,
    load_card,
    non_max_suppression,
)
from edge.vision.gallery import Gallery

DET_W, DET_H = 160, 120  # detector input; frames are 640x480, so every coordinate scales by 4
FRAME_W, FRAME_H = 640, 480
EMB_DIM = 16
MEAN, STD = 127.5, 128.0
# Face 0 in detector pixels; its landmarks are the ArcFace template at half size, shifted.
LANDMARKS_DET = ARCFACE_TEMPLATE_112 * 0.5 + np.array([20.0, 10.0], dtype=np.float32)
BOX_DET = (15.0, 5.0, 70.0, 80.0)  # x, y, w, h


def save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def rows_detector(path: Path, layout: str) -> Path:
    """Three rows (x, y, w, h, 5 landmarks, score). Face 0 scores the mean of input channel 0
    (so the score shows whether colour order, mean/std and layout were applied); face 1 is a
    weak far-away face; face 2 overlaps face 0 with a slightly lower score (NMS drops it)."""
    shape = [1, 3, DET_H, DET_W] if layout == "nchw" else [1, DET_H, DET_W, 3]
    channel_axis = 1 if layout == "nchw" else 3
    base = np.zeros((1, 3, 15), dtype=np.float32)
    base[0, 0, :4] = BOX_DET
    base[0, 0, 4:14] = LANDMARKS_DET.reshape(-1)
    base[0, 1, :4] = (120.0, 60.0, 30.0, 30.0)
    base[0, 1, 4:14] = np.tile([130.0, 70.0], 5)
    base[0, 1, 14] = 0.1
    base[0, 2, :4] = (BOX_DET[0] + 2, BOX_DET[1] + 2, BOX_DET[2], BOX_DET[3])
    base[0, 2, 4:14] = LANDMARKS_DET.reshape(-1) + 2
    base[0, 2, 14] = -0.05
    gain = np.zeros((1, 3, 15), dtype=np.float32)
    gain[0, 0, 14] = gain[0, 2, 14] = 1.0
    nodes = [
        helper.make_node("Slice", ["image", "start", "end", "axis"], ["channel0"]),
        helper.make_node("ReduceMean", ["channel0"], ["score"], keepdims=0),
        helper.make_node("Mul", ["gain", "score"], ["scored"]),
        helper.make_node("Add", ["base", "scored"], ["faces"]),
    ]
    initializers = [
        numpy_helper.from_array(np.array([0], dtype=np.int64), "start"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "end"),
        numpy_helper.from_array(np.array([channel_axis], dtype=np.int64), "axis"),
        numpy_helper.from_array(base, "base"),
        numpy_helper.from_array(gain, "gain"),
    ]
    graph = helper.make_graph(
        nodes,
        "rows_detector",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("faces", TensorProto.FLOAT, [1, 3, 15])],
        initializers,
    )
    return save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path
    )


def linear_embedder(path: Path, weights: np.ndarray) -> Path:
    """112x112 RGB crop -> a fixed linear projection to 16 values."""
    nodes = [
        helper.make_node("Reshape", ["crop", "flat_shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "weights"], ["embedding"]),
    ]
    graph = helper.make_graph(
        nodes,
        "linear_embedder",
        [helper.make_tensor_value_info("crop", TensorProto.FLOAT, [1, 3, 112, 112])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, EMB_DIM])],
        [
            numpy_helper.from_array(np.array([1, 3 * 112 * 112], dtype=np.int64), "flat_shape"),
            numpy_helper.from_array(weights, "weights"),
        ],
    )
    return save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path
    )


def write_card(path: Path, **fields: Any) -> Path:
    path.write_text(yaml.safe_dump(fields), encoding="utf-8")
    return path


@pytest.fixture
def weights() -> np.ndarray:
    return np.random.default_rng(7).standard_normal((3 * 112 * 112, EMB_DIM)).astype(np.float32)


def onnx_config(
    folder: Path, weights: np.ndarray, *, layout: str = "nchw", colour: str = "bgr"
) -> VisionConfig:
    rows_detector(folder / "detector.onnx", layout)
    linear_embedder(folder / "embedder.onnx", weights)
    common = {"licence": "Apache-2.0 (test)", "mean": [MEAN] * 3, "std": [STD] * 3}
    detector = write_card(
        folder / "detector.yaml",
        kind="detector",
        file="detector.onnx",
        input_size=[DET_W, DET_H],
        colour_order=colour,
        layout=layout,
        output="rows",
        score_threshold=0.6,
        nms_iou=0.3,
        **common,
    )
    embedder = write_card(
        folder / "embedder.yaml",
        kind="embedder",
        file="embedder.onnx",
        input_size=[112, 112],
        colour_order="rgb",
        embedding_size=EMB_DIM,
        metric="cosine",
        threshold=0.4,
        **common,
    )
    return VisionConfig.model_validate(
        {"backend": "onnx", "onnx": {"detector_card": detector, "embedder_card": embedder}}
    )


def frame() -> np.ndarray:
    """Blue (BGR 255, 0, 0) with a random texture where face 0 is."""
    image = np.zeros((FRAME_H, FRAME_W, 3), dtype=np.uint8)
    image[..., 0] = 255
    rng = np.random.default_rng(3)
    image[40:264, 80:304] = rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)
    return image


def expected_embedding(image: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Face 0's landmarks in the frame are the template x2 + (80, 40): the aligned 112x112
    crop is every second pixel of image[40:264, 80:304], exactly."""
    crop = image[40:264:2, 80:304:2, ::-1].astype(np.float32)  # BGR -> RGB
    tensor = ((crop - MEAN) / STD).transpose(2, 0, 1).reshape(-1)
    embedding = tensor @ weights
    return embedding / np.linalg.norm(embedding)


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_detect_embed_end_to_end(tmp_path: Path, weights: np.ndarray, layout: str) -> None:
    backend = create_backend(onnx_config(tmp_path, weights, layout=layout))
    assert (backend.name, backend.embedding_size, backend.metric) == ("onnx/embedder", 16, "cosine")
    assert backend.default_threshold == 0.4
    image = frame()
    faces = backend.detect(image)
    assert len(faces) == 1  # weak face filtered, overlapping face suppressed
    (face,) = faces
    assert face.box == (20, 340, 340, 60)  # (top, right, bottom, left), scaled by 4
    np.testing.assert_allclose(face.landmarks, LANDMARKS_DET * 4, atol=1e-3)
    channel0 = (cv2.resize(image, (DET_W, DET_H))[..., 0].astype(np.float32) - MEAN) / STD
    assert face.det_score == pytest.approx(float(channel0.mean()), abs=1e-4)

    embedding = backend.embed(image, faces)
    assert embedding.shape == (1, EMB_DIM) and embedding.dtype == np.float32
    np.testing.assert_allclose(embedding[0], expected_embedding(image, weights), atol=1e-4)


def test_colour_order_from_the_card_matters(tmp_path: Path, weights: np.ndarray) -> None:
    # Read as RGB, the blue frame has an empty channel 0: face 0 scores below threshold.
    backend = create_backend(onnx_config(tmp_path, weights, colour="rgb"))
    assert backend.detect(frame()) == []


def test_analyse_and_gallery_with_onnx(tmp_path: Path, weights: np.ndarray) -> None:
    config = onnx_config(tmp_path, weights)
    backend = create_backend(config)
    image = frame()
    (result,) = analyse(backend, image, config.gates)
    assert result.rejected is None and result.embedding is not None
    gallery = Gallery(
        embedding_size=backend.embedding_size,
        metric=backend.metric,
        threshold=backend.default_threshold,
        min_margin=0.0,
        backend=backend.name,
    )
    gallery.add("m-onnx", result.embedding)
    gallery.add("m-other", -result.embedding)
    assert gallery.match(result.embedding).member_id == "m-onnx"


def test_model_card_errors_name_the_file(tmp_path: Path, weights: np.ndarray) -> None:
    config = onnx_config(tmp_path, weights)
    (tmp_path / "embedder.onnx").unlink()
    with pytest.raises(BackendError, match=r"embedder\.yaml: model file .* does not exist"):
        create_backend(config)
    write_card(tmp_path / "detector.yaml", kind="detector", file="detector.onnx", colour="bgr")
    with pytest.raises(BackendError, match=r"detector\.yaml: invalid configuration") as error:
        create_backend(config)
    assert "colour: unknown key" in str(error.value)


def yunet_heads(side: int) -> dict[str, np.ndarray]:
    """Seeded YuNet heads with a few confident anchors far apart (so NMS keeps them all)."""
    rng = np.random.default_rng(11)
    heads: dict[str, np.ndarray] = {}
    for stride in YUNET_STRIDES:
        count = (side // stride) ** 2
        cls = rng.uniform(0.0, 0.3, count).astype(np.float32)
        obj = rng.uniform(0.0, 1.0, count).astype(np.float32)
        confident = rng.choice(count, size=2, replace=False)
        cls[confident] = rng.uniform(0.8, 1.2, 2)
        obj[confident] = rng.uniform(0.85, 1.0, 2)
        heads[f"cls_{stride}"] = cls.reshape(1, count, 1)
        heads[f"obj_{stride}"] = obj.reshape(1, count, 1)
        bbox = rng.uniform(-0.5, 0.5, (1, count, 4)).astype(np.float32)
        bbox[..., 2:] = rng.uniform(-1.0, 0.5, (1, count, 2))
        heads[f"bbox_{stride}"] = bbox
        heads[f"kps_{stride}"] = rng.uniform(-1.0, 1.0, (1, count, 10)).astype(np.float32)
    return heads


def yunet_model(path: Path, heads: dict[str, np.ndarray], side: int) -> Path:
    """YuNet's interface (input 1x3xSxS, twelve named heads) with constant head values."""
    nodes = [helper.make_node("ReduceMean", ["input"], ["level"], keepdims=0)]
    outputs = []
    initializers = []
    for name, value in heads.items():
        initializers.append(numpy_helper.from_array(value, f"{name}_value"))
        nodes.append(helper.make_node("Mul", ["level", "zero"], [f"{name}_zero"]))
        nodes.append(helper.make_node("Add", [f"{name}_value", f"{name}_zero"], [name]))
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    initializers.append(numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"))
    graph = helper.make_graph(
        nodes,
        "yunet_heads",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, side, side])],
        outputs,
        initializers,
    )
    return save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path
    )


def test_yunet_decoding_matches_opencv(tmp_path: Path, weights: np.ndarray) -> None:
    side = 160
    heads = yunet_heads(side)
    model = yunet_model(tmp_path / "yunet.onnx", heads, side)
    card = DetectorCard(
        kind="detector",
        file=model,
        licence="test",
        input_size=(side, side),
        colour_order="bgr",
        output="yunet",
        score_threshold=0.6,
        nms_iou=0.3,
        top_k=50,
    )
    rows = decode_yunet({k: v.copy() for k, v in heads.items()}, side, side)
    ours = non_max_suppression(rows[rows[:, 14] >= card.score_threshold], 0.3, 50)

    detector = cv2.FaceDetectorYN.create(str(model), "", (side, side), 0.6, 0.3, 50)
    _, theirs = detector.detect(np.zeros((side, side, 3), dtype=np.uint8))
    assert theirs is not None and len(ours) == len(theirs) == 6
    order = np.argsort(-theirs[:, 14], kind="stable")
    np.testing.assert_allclose(ours, theirs[order], rtol=1e-4, atol=1e-3)

    # The same through the backend: heads found by name, boxes as (top, right, bottom, left).
    embedder = load_card(onnx_config(tmp_path, weights).onnx.embedder_card, EmbedderCard)
    backend = OnnxBackend(card, embedder)
    faces = backend.detect(np.zeros((side, side, 3), dtype=np.uint8))
    expected = sorted(
        (
            max(0, round(float(y))),
            min(side, round(float(x + w))),
            min(side, round(float(y + h))),
            max(0, round(float(x))),
        )
        for x, y, w, h in theirs[:, :4]
    )
    assert sorted(face.box for face in faces) == expected
