"""The contract between the recommender training code (models/recommender) and the edge
runtime: ONNX input/output names and the metadata every model carries.

Graph (opset 17), for ``n`` weighted input items and a catalog of ``N`` products:

    items    int64   [n]     catalog indices (GTIN order) of the in-room and history items
    weights  float32 [n]     how much each input item counts (1 for in-room items)
    k        int64   [1]     how many companions to return (1..N)
    hidden   = Gather(U, items) * weights[:, None]               [n, d]
    scores_N = ReduceSum(hidden, axis 0) @ V^T                     [1, N]
    scores, indices = TopK(scores_N, k)                            [1, k], [1, k]
    contributions   = hidden @ V^T[:, indices]                     [n, k]

``contributions[r, c]`` is what input item ``r`` adds to the score of companion ``c``: the
runtime uses it to say why a product is recommended ("goes with the navy sweater").
"""

from __future__ import annotations

FORMAT = "o2o-item2item-factorised/1"

INPUT_ITEMS = "items"
INPUT_WEIGHTS = "weights"
INPUT_K = "k"
OUTPUT_SCORES = "scores"
OUTPUT_INDICES = "indices"
OUTPUT_CONTRIBUTIONS = "contributions"

META_FORMAT = "o2o.format"
META_MODEL_VERSION = "o2o.model_version"
META_CATALOG_VERSION = "o2o.catalog_version"
META_GTINS = "o2o.gtins"
"""JSON list: the GTIN of each item index (the catalog's GTIN order at training time)."""
META_TRAINED_FROM = "o2o.trained_from"
META_TRAINED_UNTIL = "o2o.trained_until"
