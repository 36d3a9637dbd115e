"""The member gallery: matching against a brute-force reference, margins, erasure, and the
encrypted file (seeded random embeddings: no photographs needed)."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest

from edge.config.vision import GALLERY_KEY_ENV
from edge.vision.backends.base import Metric
from edge.vision.gallery import (
    Gallery,
    GalleryFile,
    GalleryFileError,
    GalleryKeyError,
    generate_key,
    load_key,
)

DIM = 16


def random_members(seed: int, count: int, per_member: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        f"m{i:04d}": rng.standard_normal((per_member, DIM)).astype(np.float32) * 0.3
        for i in range(count)
    }


def reference(
    members: dict[str, np.ndarray], query: np.ndarray, metric: Metric
) -> tuple[str, float, float]:
    """Nearest member, its distance and the best other member's, the slow obvious way."""
    best: dict[str, float] = {}
    for member_id, rows in members.items():
        if metric == "cosine":
            rows_n = rows / np.linalg.norm(rows, axis=1, keepdims=True)
            distances = 1.0 - rows_n.astype(np.float64) @ (query / np.linalg.norm(query))
        else:
            distances = np.linalg.norm(rows.astype(np.float64) - query, axis=1)
        best[member_id] = float(distances.min())
    ranked = sorted(best.items(), key=lambda item: item[1])
    return ranked[0][0], ranked[0][1], ranked[1][1]


def make(metric: Metric = "euclidean", file: GalleryFile | None = None, **kw: float) -> Gallery:
    settings = {"threshold": 10.0, "min_margin": 0.0} | kw
    return Gallery(
        embedding_size=DIM,
        metric=metric,
        threshold=settings["threshold"],
        min_margin=settings["min_margin"],
        backend="test",
        file=file,
    )


@pytest.fixture
def key() -> bytes:
    return base64.urlsafe_b64decode(generate_key())


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_match_agrees_with_brute_force(metric: Metric) -> None:
    members = random_members(0, 300)
    gallery = make(metric)
    for member_id, rows in members.items():
        gallery.add(member_id, rows)
    rng = np.random.default_rng(1)
    queries = rng.standard_normal((40, DIM)).astype(np.float32) * 0.3
    matches = gallery.match_many(queries)
    for query, match in zip(queries, matches, strict=True):
        member_id, distance, other = reference(members, query, metric)
        assert match.best_member_id == member_id
        assert match.distance == pytest.approx(distance, abs=1e-4)
        assert match.best_other_distance == pytest.approx(other, abs=1e-4)
        assert match.margin == pytest.approx(other - distance, abs=2e-4)
        assert gallery.match(query) == match


def test_threshold_and_margin_decide_unknown() -> None:
    rng = np.random.default_rng(2)
    base = rng.standard_normal(DIM).astype(np.float32) * 0.3
    gallery = make(threshold=0.5, min_margin=0.05)
    gallery.add("alice", base[None, :])
    gallery.add("bob", (base + 0.01)[None, :])  # a look-alike: near tie with alice
    gallery.add("carol", (base + 1.0)[None, :])
    tie = gallery.match(base + 0.001)
    assert tie.best_member_id == "alice" and tie.member_id is None
    assert tie.margin < 0.05
    clear = gallery.match(base + 1.0)
    assert clear.member_id == "carol" and clear.distance == pytest.approx(0.0, abs=1e-3)
    far = gallery.match(base - 5.0)
    assert far.member_id is None and far.distance > 0.5


def test_empty_gallery_and_single_member() -> None:
    gallery = make()
    nothing = gallery.match(np.zeros(DIM, dtype=np.float32))
    assert nothing.member_id is None and nothing.distance == float("inf")
    gallery.add("alone", np.ones((2, DIM), dtype=np.float32))
    alone = gallery.match(np.ones(DIM, dtype=np.float32))
    assert alone.member_id == "alone" and alone.margin == float("inf")


def test_bad_embeddings_are_refused() -> None:
    gallery = make()
    with pytest.raises(ValueError, match=r"shape \(n, 16\)"):
        gallery.add("x", np.zeros((2, 8), dtype=np.float32))
    bad = np.zeros((1, DIM), dtype=np.float32)
    bad[0, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        gallery.add("x", bad)
    assert len(gallery) == 0


def test_remove_member_leaves_no_embedding_in_memory() -> None:
    members = random_members(3, 50, per_member=4)
    gallery = make()
    for member_id, rows in members.items():
        gallery.add(member_id, rows)
    erased = members.pop("m0007")
    assert gallery.remove_member("m0007") == 4
    assert gallery.remove_member("m0007") == 0
    assert "m0007" not in gallery and len(gallery) == 49
    # White-box: no column of the whole buffer (including its spare capacity) is an erased row.
    matrix = gallery._matrix[:DIM].T
    for row in erased:
        assert not np.isclose(matrix, row, atol=1e-7).all(axis=1).any()
    for query_member in ("m0000", "m0049", "m0020"):
        assert gallery.match(members[query_member][1]).member_id == query_member


def test_replace_members_and_extend() -> None:
    gallery = make()
    gallery.extend(["a", "b", "a"], np.eye(3, DIM, dtype=np.float32))
    assert gallery.members() == ["a", "b"] and gallery.count("a") == 2
    replacement = random_members(4, 5)
    gallery.replace_members(replacement)
    assert gallery.members() == sorted(replacement)
    assert gallery.embedding_count == 15
    assert gallery.match(replacement["m0003"][0]).member_id == "m0003"


def test_file_roundtrip_forget_and_no_plain_floats(tmp_path: Path, key: bytes) -> None:
    path = tmp_path / "gallery.o2og"
    members = random_members(5, 40)
    gallery = make(file=GalleryFile(path, key))
    for member_id, rows in members.items():
        gallery.add(member_id, rows)
    gallery.remove_member("m0011")

    reopened = Gallery.open(
        GalleryFile(path, key),
        embedding_size=DIM,
        metric="euclidean",
        threshold=10.0,
        min_margin=0.0,
        backend="test",
    )
    assert reopened.members() == sorted(set(members) - {"m0011"})
    probe = members["m0023"][2]
    assert reopened.match(probe) == gallery.match(probe)
    assert reopened.match(members["m0011"][0]).best_member_id != "m0011"

    blob = path.read_bytes()
    for rows in members.values():
        for row in rows:
            raw = row.astype("<f4").tobytes()
            assert raw[:16] not in blob and raw[-16:] not in blob
    assert b"m0023" not in blob and b"m0011" not in blob  # member ids are encrypted too
    assert not path.with_name(path.name + ".tmp").exists()
    assert path.stat().st_mode & 0o077 == 0


def test_file_refuses_wrong_key_damage_and_other_backend(tmp_path: Path, key: bytes) -> None:
    path = tmp_path / "gallery.o2og"
    gallery = make(file=GalleryFile(path, key))
    gallery.add("a", np.ones((1, DIM), dtype=np.float32))

    def reopen(use_key: bytes, backend: str = "test") -> Gallery:
        return Gallery.open(
            GalleryFile(path, use_key),
            embedding_size=DIM,
            metric="euclidean",
            threshold=1.0,
            min_margin=0.0,
            backend=backend,
        )

    with pytest.raises(GalleryFileError, match="wrong key"):
        reopen(base64.urlsafe_b64decode(generate_key()))
    with pytest.raises(GalleryFileError, match="made for backend test"):
        reopen(key, backend="onnx")
    original = path.read_bytes()
    damaged = bytearray(original)
    damaged[40] ^= 0x01
    path.write_bytes(bytes(damaged))
    with pytest.raises(GalleryFileError, match="cannot decrypt"):
        reopen(key)
    path.write_bytes(original[:-5])
    with pytest.raises(GalleryFileError):
        reopen(key)
    path.write_bytes(b"hello")
    with pytest.raises(GalleryFileError, match="not an o2o-edge gallery"):
        reopen(key)


def test_key_from_environment_or_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(GALLERY_KEY_ENV, raising=False)
    with pytest.raises(GalleryKeyError, match="no gallery key: set O2O_GALLERY_KEY"):
        load_key(None)
    key_file = tmp_path / "gallery.key"
    text = generate_key()
    key_file.write_text(text + "\n")
    assert load_key(key_file) == base64.urlsafe_b64decode(text)
    with pytest.raises(GalleryKeyError, match="cannot read the gallery key file"):
        load_key(tmp_path / "missing.key")
    monkeypatch.setenv(GALLERY_KEY_ENV, "too-short")
    with pytest.raises(GalleryKeyError, match="not urlsafe base64 of 32 bytes"):
        load_key(key_file)
