"""The member gallery: matching against a brute-force reference, margins, erasure, and the
encrypted file (seeded random embeddings: no photographs needed)."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest

from edge.config.vision import GALLERY_KEY_ENV
from edge.vision.backends.base import Metric
from edge.vision.gallery import Gallery, Match
from edge.vision.gallery_file import (
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


def exact_and_coarse(gallery: Gallery, probes: np.ndarray) -> tuple[list[Match], list[Match]]:
    """The same probes through the exact path and through the int8 coarse pass."""
    gallery.coarse_min_rows = 1 << 62
    exact = gallery.match_many(probes)
    gallery.coarse_min_rows = 0
    coarse = gallery.match_many(probes)
    assert gallery._codes is not None  # the coarse pass did run
    return exact, coarse


def test_int8_coarse_pass_equals_exact_path_on_a_large_gallery() -> None:
    dim, members, per_member = 128, 100_000, 3
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((members, dim), dtype=np.float32) * np.float32(dim**-0.5)
    rows = np.repeat(centres, per_member, axis=0)
    rows += rng.standard_normal(rows.shape, dtype=np.float32) * np.float32(0.1 * dim**-0.5)
    gallery = Gallery(
        embedding_size=dim, metric="euclidean", threshold=0.5, min_margin=0.04, backend="test"
    )
    gallery.extend([f"m{i:06d}" for i in range(members) for _ in range(per_member)], rows)
    picks = rng.integers(0, members, 150)
    noise = rng.standard_normal((200, dim), dtype=np.float32) * np.float32(dim**-0.5)
    probes = np.concatenate(
        [
            centres[picks[:50]] + 0.03 * noise[:50],  # the member again
            centres[picks[50:100]] + 0.3 * noise[50:100],  # a poor photo of the member
            (centres[picks[100:125]] + centres[picks[125:150]]) / 2,  # between two members
            noise[150:],  # strangers
        ]
    )
    exact, coarse = exact_and_coarse(gallery, probes)
    assert coarse == exact
    assert sum(match.member_id is not None for match in exact) >= 50
    assert sum(match.member_id is None for match in exact) >= 50


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_int8_copy_follows_add_remove_and_replace(metric: Metric) -> None:
    members = random_members(11, 1000)
    gallery = make(metric)
    gallery.replace_members(members)
    probes = np.random.default_rng(12).standard_normal((30, DIM)).astype(np.float32) * 0.3
    probes[:10] = np.stack([members[f"m{i:04d}"][0] + 0.01 for i in range(0, 100, 10)])
    exact, coarse = exact_and_coarse(gallery, probes)
    assert coarse == exact

    def codes_match_matrix() -> None:
        assert gallery._codes is not None
        rows = gallery.embedding_count
        expected = gallery._encode(gallery._matrix[:DIM, :rows].T)
        assert (gallery._codes[:rows] == expected).all()
        assert (gallery._codes[rows:] == 128).all()  # nothing of an erased member remains

    gallery.remove_member("m0010")
    gallery.remove_member("m0500")
    codes_match_matrix()
    gallery.add("new", members["m0020"] * 0.5)  # within the scale: encoded in place
    codes_match_matrix()
    exact, coarse = exact_and_coarse(gallery, probes)
    assert coarse == exact and exact[1].best_member_id != "m0010"
    gallery.add("big", np.full((2, DIM), 50.0, dtype=np.float32))  # outside: rebuilt
    exact, coarse = exact_and_coarse(gallery, probes)
    assert coarse == exact
    codes_match_matrix()
    gallery.replace_members(random_members(13, 500))
    exact, coarse = exact_and_coarse(gallery, probes)
    assert coarse == exact
    codes_match_matrix()


def test_int8_pass_of_a_degenerate_gallery_equals_exact_path() -> None:
    """Many equal columns: the provable shortlist is the whole gallery (full product instead)."""
    gallery = make()
    row = np.random.default_rng(14).standard_normal((1, DIM)).astype(np.float32) * 0.3
    gallery.extend(["a"] * 500 + ["b"] * 500, np.repeat(row, 1000, axis=0))
    probes = np.concatenate([row, row + 0.05, -row])
    exact, coarse = exact_and_coarse(gallery, probes)
    assert coarse == exact and exact[0].margin == 0.0


class PairSumKernel:
    """uint8 x int8 products as AVX2 CPUs without VNNI compute them (VPMADDUBSW): adjacent
    pairs summed into int16 with saturation, then widened. Records the largest pair sum."""

    largest = 0

    def run(self, _outputs: object, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        codes = feeds["codes"].astype(np.int32)
        query = feeds["query"].astype(np.int32)
        pairs = codes[:, 0::2, None] * query[None, 0::2, :]
        pairs += codes[:, 1::2, None] * query[None, 1::2, :]
        PairSumKernel.largest = max(PairSumKernel.largest, int(np.abs(pairs).max()))
        return [np.clip(pairs, -32768, 32767).sum(axis=1, dtype=np.int32)]


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_int8_pass_never_saturates_the_kernel(
    metric: Metric, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("edge.vision.gallery._int8_session", PairSumKernel)
    monkeypatch.setattr(PairSumKernel, "largest", 0)
    members = random_members(13, 500)
    # A member with the gallery's largest values in two adjacent dimensions (codes 255 there),
    # and probes near it (query codes at the top of their range there too).
    big = np.zeros((2, DIM), dtype=np.float32)
    big[:, :2] = 3.0
    members["big"] = big
    gallery = make(metric)
    gallery.replace_members(members)
    rng = np.random.default_rng(5)
    probes = np.concatenate(
        [
            rng.standard_normal((30, DIM)).astype(np.float32) * 0.3,
            np.stack([members[f"m{i:04d}"][1] + 0.02 for i in range(0, 300, 10)]),
            big[0] + rng.standard_normal((10, DIM)).astype(np.float32) * 0.05,
        ]
    )
    exact, coarse = exact_and_coarse(gallery, probes)
    assert coarse == exact
    assert 30_000 < PairSumKernel.largest <= 32_767  # near the limit, never past it
