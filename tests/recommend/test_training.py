"""Training: the retrained model beats popularity, and the ONNX graph computes exactly what the
training code's numpy scoring does."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort  # type: ignore[import-untyped]
import pytest

from edge.recommend import model_format as fmt
from edge.recommend.catalog import Catalog
from edge.recommend.runtime import SHIPPED_MODEL, load_model
from models.recommender.history import read_history
from models.recommender.model import score
from models.recommender.train import SAMPLE_FILE, TrainResult, main

SHIPPED_DIR = SHIPPED_MODEL.parent


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def test_retrained_model_beats_popularity(trained: TrainResult) -> None:
    e = trained.evaluation
    assert e.cases > 300
    assert e.hit_rate > e.popularity_hit_rate + 0.1, e
    card = trained.card_path.read_text()
    assert f"**{e.hit_rate:.3f}**" in card
    assert "Apache-2.0" in card and "How to retrain" in card


def test_onnx_matches_numpy_scoring(trained: TrainResult, catalog: Catalog) -> None:
    session = _session(trained.model_path)
    n = len(catalog)
    rng = random.Random(0)
    for _ in range(25):
        count = rng.randint(1, 6)
        items = np.array(rng.sample(range(n), count), dtype=np.int64)
        weights = np.array([rng.uniform(0.1, 1.0) for _ in range(count)], dtype=np.float32)
        values, indices, contributions = session.run(
            None,
            {
                fmt.INPUT_ITEMS: items,
                fmt.INPUT_WEIGHTS: weights,
                fmt.INPUT_K: np.array([n], dtype=np.int64),
            },
        )
        expected = score(trained.factors, items, weights)
        got = np.empty(n, dtype=np.float32)
        got[indices[0]] = values[0]
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
        assert np.all(np.diff(values[0]) <= 0), "TopK must be sorted best first"
        # Each input's contribution sums to the score of every companion.
        np.testing.assert_allclose(contributions.sum(axis=0), values[0], rtol=1e-4, atol=1e-6)
        hidden = weights[:, None] * trained.factors.u[items]
        np.testing.assert_allclose(
            contributions, hidden @ trained.factors.v[indices[0]].T, rtol=1e-4, atol=1e-6
        )


def test_model_metadata_names_the_catalog(trained: TrainResult, catalog: Catalog) -> None:
    meta = {p.key: p.value for p in onnx.load(str(trained.model_path)).metadata_props}
    assert meta[fmt.META_FORMAT] == fmt.FORMAT
    assert meta[fmt.META_CATALOG_VERSION] == catalog.version
    assert json.loads(meta[fmt.META_GTINS]) == list(catalog.gtins)
    assert meta[fmt.META_TRAINED_FROM] == "2025-11-01"
    assert meta[fmt.META_TRAINED_UNTIL] == "2026-02-28"


def test_same_style_is_never_a_companion(trained: TrainResult, catalog: Catalog) -> None:
    for style in catalog.styles[:10]:
        members = np.array([catalog.gtins.index(p.gtin) for p in catalog.variants(style)])
        scores = score(trained.factors, members[:1], np.ones(1, dtype=np.float32))
        # Factorisation error aside, other sizes/colours of the style score (close to) 0.
        assert np.max(np.abs(scores[members])) < 0.5 * np.max(scores)


def test_shipped_model_fits_the_demo_catalog(catalog: Catalog) -> None:
    model = load_model(SHIPPED_MODEL, catalog)
    assert model.catalog_version == catalog.version
    assert model.size == len(catalog)
    shipped = sum(p.stat().st_size for p in SHIPPED_DIR.iterdir() if p.suffix != ".py")
    assert shipped < 2 * 1024 * 1024
    assert "hit rate" in (SHIPPED_DIR / "MODEL_CARD.md").read_text()


def test_cli_trains_from_a_history_file(tmp_path: Path, catalog: Catalog) -> None:
    sample = SHIPPED_DIR / SAMPLE_FILE
    history = read_history(sample)
    assert history, "the shipped history sample shows the format"
    code = main(["--out", str(tmp_path), "--history", str(sample), "--holdout-days", "1"])
    assert code == 0
    model = load_model(tmp_path / "recommender.onnx", catalog)
    assert model.version == f"rec-{max(b.day for b in history).isoformat()}"
    assert (tmp_path / "MODEL_CARD.md").is_file()


def test_bad_history_line_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "h.jsonl"
    bad.write_text('{"day": "2026-01-01", "kind": "tryon", "gtins": []}\n{"day": 1}\n')
    with pytest.raises(ValueError, match=r"h.jsonl:2: not a basket"):
        read_history(bad)
