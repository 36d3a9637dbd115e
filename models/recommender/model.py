"""Item-to-item companion scores from co-occurrence, backed off to style and category, as
two factor matrices (the shape the ONNX model computes).

For products i and j (never of the same style: those are sizes/colours of one another, the
tablet's size request covers them):

    S[i, j] = a * cos_item(i, j) + (1 - a) * (b * cos_style(si, sj) + (1 - b) * cos_cat(ci, cj))

``cos_x`` is the cosine-normalised co-occurrence count at that level (try-on sessions weigh
1, purchase baskets ``purchase_weight``); ``a`` and ``b`` shrink towards the coarser level
when the pair has little support (``support / (support + shrink)``), so a product without any
history (a new colour, a new style) still gets its style's or its category's companions:
that is the cold start from catalog attributes.

S is symmetric; it is factorised by its eigen-decomposition S ~ U V^T with the ``rank``
largest-magnitude eigenpairs (U = eigenvectors * eigenvalues, V = eigenvectors). Scoring an
input (in-room items and the member's history, each with a weight) is
``(weights @ U[items]) @ V^T``: :func:`score` here, and the same in the exported ONNX graph.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge.recommend.catalog import Catalog
from models.recommender.history import Basket, BasketKind


@dataclass(frozen=True, slots=True)
class FitParams:
    purchase_weight: float = 2.0
    item_shrink: float = 20.0
    style_shrink: float = 10.0
    backoff_discount: float = 0.5
    """Style and category cosines are larger than item ones (coarser = denser); discounted so
    that products without history do not outrank well-supported companions."""
    rank: int = 128
    """Factor rank (capped at the catalog size); the shipped model's size is 2 * N * rank * 4 B."""


DEFAULT_PARAMS = FitParams()


@dataclass(frozen=True, slots=True)
class Factors:
    gtins: tuple[str, ...]
    u: np.ndarray
    """[N, d] float32: input factors (row i is what item i adds to the hidden vector)."""
    v: np.ndarray
    """[N, d] float32: output factors (scores = hidden @ v.T)."""

    @property
    def rank(self) -> int:
        return int(self.u.shape[1])


def _membership(catalog: Catalog, key: str) -> tuple[np.ndarray, list[str]]:
    labels = sorted({getattr(p, key) for p in catalog})
    position = {label: k for k, label in enumerate(labels)}
    return np.array([position[getattr(p, key)] for p in catalog], dtype=np.int64), labels


def _cosine(incidence: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosine-normalised weighted co-occurrence (zero diagonal) and each column's support."""
    weighted = incidence * weights[:, None]
    counts = incidence.T @ weighted
    support = np.diag(counts).copy()
    norm = np.sqrt(np.outer(support, support))
    cos = np.divide(counts, norm, out=np.zeros_like(counts), where=norm > 0)
    np.fill_diagonal(cos, 0.0)
    return cos, support


def similarity(
    catalog: Catalog, baskets: Sequence[Basket], params: FitParams = DEFAULT_PARAMS
) -> np.ndarray:
    """The blended N x N companion matrix S (float64) for the catalog's GTIN order."""
    n = len(catalog)
    incidence = np.zeros((len(baskets), n), dtype=np.float32)
    weights = np.empty(len(baskets), dtype=np.float32)
    for row, basket in enumerate(baskets):
        for gtin in basket.gtins:
            index = catalog.index_of(gtin)
            if index is not None:  # products no longer in the catalog are ignored
                incidence[row, index] = 1.0
        weights[row] = params.purchase_weight if basket.kind is BasketKind.PURCHASE else 1.0
    style_of, styles = _membership(catalog, "style")
    category_of, categories = _membership(catalog, "category")

    def level(of: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        grouped = np.zeros((len(baskets), size), dtype=np.float32)
        for k in range(size):
            grouped[:, k] = incidence[:, of == k].max(axis=1, initial=0.0)
        return _cosine(grouped, weights)

    cos_item, support_item = _cosine(incidence, weights)
    cos_style, support_style = level(style_of, len(styles))
    cos_cat, _ = level(category_of, len(categories))
    pair_item = np.minimum.outer(support_item, support_item)
    a = pair_item / (pair_item + params.item_shrink)
    pair_style = np.minimum.outer(support_style[style_of], support_style[style_of])
    b = pair_style / (pair_style + params.style_shrink)
    backoff = (
        b * cos_style[np.ix_(style_of, style_of)]
        + (1 - b) * cos_cat[np.ix_(category_of, category_of)]
    )
    s: np.ndarray = a * cos_item + (1 - a) * params.backoff_discount * backoff
    s[style_of[:, None] == style_of[None, :]] = 0.0
    return s


def factorise(gtins: Sequence[str], s: np.ndarray, rank: int) -> Factors:
    values, vectors = np.linalg.eigh(s)
    keep = np.argsort(-np.abs(values))[: min(rank, len(values))]
    keep.sort()
    u = (vectors[:, keep] * values[keep]).astype(np.float32)
    v = vectors[:, keep].astype(np.float32)
    return Factors(tuple(gtins), u, v)


def fit(catalog: Catalog, baskets: Sequence[Basket], params: FitParams = DEFAULT_PARAMS) -> Factors:
    return factorise(catalog.gtins, similarity(catalog, baskets, params), params.rank)


def score(factors: Factors, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """[N] float32 companion scores of a weighted set of item indices (the ONNX computation)."""
    hidden = weights.astype(np.float32) @ factors.u[items]
    return np.asarray(hidden @ factors.v.T, dtype=np.float32)


# Evaluation ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evaluation:
    cases: int
    hit_rate: float
    popularity_hit_rate: float
    cold_cases: int
    cold_hit_rate: float
    """Cases whose target style had no training history."""


def _top_styles(ranked: Sequence[str], exclude: set[str], k: int) -> list[str]:
    out: list[str] = []
    for style in ranked:
        if style not in exclude and style not in out:
            out.append(style)
            if len(out) == k:
                break
    return out


def evaluate(
    catalog: Catalog,
    factors: Factors,
    train: Sequence[Basket],
    held_out: Sequence[Basket],
    k: int = 5,
) -> Evaluation:
    """Leave-one-out hit rate at ``k`` on held-out try-on sessions, at style level (what the
    tablet shows: one variant per style, styles in the room excluded), against recommending
    the most popular styles of the training period."""
    style_of = [p.style for p in catalog]
    popularity = Counter(
        style_of[i] for b in train for g in b.gtins if (i := catalog.index_of(g)) is not None
    )
    popular = [style for style, _ in popularity.most_common()] + catalog.styles
    cases = hits = popular_hits = cold_cases = cold_hits = 0
    for basket in held_out:
        if basket.kind is not BasketKind.TRYON:
            continue
        indices = [i for g in basket.gtins if (i := catalog.index_of(g)) is not None]
        for target in indices:
            context = [i for i in indices if style_of[i] != style_of[target]]
            if not context:
                continue
            exclude = {style_of[i] for i in context}
            scores = score(factors, np.array(context), np.ones(len(context), np.float32))
            ranked = [style_of[i] for i in np.argsort(-scores, kind="stable")]
            hit = style_of[target] in _top_styles(ranked, exclude, k)
            cases += 1
            hits += hit
            popular_hits += style_of[target] in _top_styles(popular, exclude, k)
            if popularity[style_of[target]] == 0:
                cold_cases += 1
                cold_hits += hit
    return Evaluation(
        cases=cases,
        hit_rate=hits / cases if cases else 0.0,
        popularity_hit_rate=popular_hits / cases if cases else 0.0,
        cold_cases=cold_cases,
        cold_hit_rate=cold_hits / cold_cases if cold_cases else 0.0,
    )
