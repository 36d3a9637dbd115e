"""The face_recognition backend on real photographs (detection scale, landmarks, embeddings),
the quality gates with their counters, and the blur measure."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import face_recognition_models
import numpy as np
import pytest

from edge.config.vision import DlibEmbedder, QualityGates, VisionConfig
from edge.vision.backends import FaceBackend, analyse, create_backend, decode_image, fit_image
from edge.vision.backends.dlib_onnx import DlibModelError, build_model
from edge.vision.quality import laplacian_variance

pytestmark = pytest.mark.faces


def photo(faces_dir: Path, relative: str) -> np.ndarray:
    image = decode_image((faces_dir / relative).read_bytes())
    assert image is not None
    return image


def frame_with(face: np.ndarray, height_px: int, at: tuple[int, int]) -> np.ndarray:
    """A 640x480 grey frame with the photo pasted, scaled to ``height_px``, at (x, y)."""
    frame = np.full((480, 640, 3), 90, dtype=np.uint8)
    scaled = cv2.resize(face, (height_px * face.shape[1] // face.shape[0], height_px))
    x, y = at
    frame[y : y + scaled.shape[0], x : x + scaled.shape[1]] = scaled
    return frame


def test_laplacian_variance_measures_sharpness() -> None:
    rng = np.random.default_rng(0)
    sharp = rng.integers(0, 256, (96, 96)).astype(np.uint8)
    assert laplacian_variance(np.full((96, 96), 128, dtype=np.uint8)) == 0.0
    assert laplacian_variance(sharp) > 10 * laplacian_variance(cv2.GaussianBlur(sharp, (9, 9), 3))
    assert laplacian_variance(np.zeros((2, 2))) == 0.0


def test_photo_detection_landmarks_and_embedding(
    faces_dir: Path, photo_backend: FaceBackend
) -> None:
    image = photo(faces_dir, "lfw/Abdullah_Gul/Abdullah_Gul_0001.jpg")
    (face,) = photo_backend.detect(image)
    top, right, bottom, left = face.box
    assert 60 <= bottom - top <= 140 and 60 <= right - left <= 140
    assert face.landmarks.shape == (5, 2) and face.landmarks.dtype == np.float32
    inside = (face.landmarks[:, 0] >= left) & (face.landmarks[:, 0] <= right)
    assert inside.all() and ((face.landmarks[:, 1] >= top) & (face.landmarks[:, 1] <= bottom)).all()
    embedding = photo_backend.embed(image, [face])
    assert embedding.shape == (1, 128) and embedding.dtype == np.float32
    assert photo_backend.embed(image, []).shape == (0, 128)
    # The same person's other photo is near, someone else's far (Euclidean, dlib's scale).
    other = photo(faces_dir, "lfw/Abdullah_Gul/Abdullah_Gul_0002.jpg")
    stranger = photo(faces_dir, "lfw/Adrien_Brody/Adrien_Brody_0001.jpg")
    same = photo_backend.embed(other, photo_backend.detect(other))
    different = photo_backend.embed(stranger, photo_backend.detect(stranger))
    assert np.linalg.norm(embedding - same) < 0.5 < np.linalg.norm(embedding - different)


def test_frames_are_detected_at_the_detection_scale(faces_dir: Path) -> None:
    """640x480 frames are searched at 320x240; boxes and landmarks come back in frame pixels."""
    face = photo(faces_dir, "lfw/Abdullah_Gul/Abdullah_Gul_0001.jpg")
    frame = frame_with(face, 400, (200, 40))  # face about 170 px: found at scale 0.5
    half = create_backend(VisionConfig())
    full = create_backend(VisionConfig(), detection_scale=1.0)
    (at_half,) = half.detect(frame)
    (at_full,) = full.detect(frame)
    assert np.abs(np.subtract(at_half.box, at_full.box)).max() <= 16  # HOG pyramid steps
    np.testing.assert_allclose(at_half.landmarks, at_full.landmarks, atol=4)
    small = frame_with(face, 200, (200, 40))  # face about 85 px: below the 160 px minimum
    assert half.detect(small) == []
    assert len(full.detect(small)) == 1


def test_gates_refuse_and_count(faces_dir: Path, photo_backend: FaceBackend) -> None:
    image = photo(faces_dir, "lfw/Abdullah_Gul/Abdullah_Gul_0001.jpg")
    counters: Counter[str] = Counter()
    (ok,) = analyse(photo_backend, image, QualityGates(), counters)
    assert ok.rejected is None and ok.embedding is not None and not counters

    (small,) = analyse(photo_backend, image, QualityGates(min_face_px=500), counters)
    (unsure,) = analyse(photo_backend, image, QualityGates(min_det_score=9.0), counters)
    blurred = cv2.GaussianBlur(image, (0, 0), 2.0)
    (blurry,) = analyse(photo_backend, blurred, QualityGates(min_sharpness=40.0), counters)
    assert [small.rejected, unsure.rejected, blurry.rejected] == [
        "too_small",
        "low_score",
        "blurry",
    ]
    assert small.embedding is None and blurry.embedding is None
    assert counters == Counter({"too_small": 1, "low_score": 1, "blurry": 1})


def test_group_photo_embeds_each_face_in_order(faces_dir: Path, photo_backend: FaceBackend) -> None:
    image, _ = fit_image(photo(faces_dir, "deepface_tests/_multi/couple.jpg"), 1024)
    results = analyse(photo_backend, image, QualityGates())
    assert len(results) == 2
    assert all(r.embedding is not None for r in results)
    assert np.linalg.norm(results[0].embedding - results[1].embedding) > 0.6  # type: ignore[operator]


def test_unreadable_bytes_and_no_face(faces_dir: Path, photo_backend: FaceBackend) -> None:
    assert decode_image(b"") is None
    assert decode_image(b"GIF89a not really") is None
    assert (
        analyse(photo_backend, photo(faces_dir, "dlib_examples/_noface/dog.jpg"), QualityGates())
        == []
    )


def test_onnx_rebuild_of_dlibs_network_gives_dlibs_numbers(faces_dir: Path) -> None:
    """The default embedder (dlib's weights on onnxruntime) against dlib itself."""
    config = VisionConfig()
    on_onnx = create_backend(config, for_photos=True)
    on_dlib = create_backend(
        config.model_copy(
            update={
                "face_recognition": config.face_recognition.model_copy(
                    update={"embedder": DlibEmbedder.DLIB}
                )
            }
        ),
        for_photos=True,
    )
    for relative in ("deepface_tests/_multi/couple.jpg", "lfw/Ali_Naimi/Ali_Naimi_0001.jpg"):
        image, _ = fit_image(photo(faces_dir, relative), 1024)
        faces = on_onnx.detect(image)
        assert faces
        np.testing.assert_allclose(
            on_onnx.embed(image, faces), on_dlib.embed(image, faces), rtol=0, atol=1e-5
        )


def test_a_model_file_of_another_shape_is_refused(tmp_path: Path) -> None:
    original = Path(face_recognition_models.face_recognition_model_location()).read_bytes()
    cut = tmp_path / "cut.dat"
    cut.write_bytes(original[:200_000])  # the first layers only
    with pytest.raises(DlibModelError):
        build_model(cut)
