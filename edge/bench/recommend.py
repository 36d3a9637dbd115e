"""``o2o-edge bench recommend``: recommendation latency alone, for a 20,000-product catalog.

A synthetic catalog (2,000 styles in the demo's categories, 10 size/colour variants each) and
a factorised model of the shipped structure (rank 64, item factors clustered by style and
category) are generated in a temporary folder; about 60 % of the products have RFID stock on
the floor or in the backroom. Timed: ``Recommender.recommend`` as the fusion stage calls it
for one fitting-room update (ONNX on one thread, then the stock, size and in-room filters):
1 to 4 items in the room, half of the calls for a member with history and sizes. Wall-clock
percentiles are the figures; CPU-time percentiles and the load average are printed beside
them because a busy machine stretches the wall-clock tail.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge.config.recommend import DEFAULT_COMPLEMENTS, RecommendConfig
from edge.config.zones import ZoneKind
from edge.recommend.catalog import Catalog, Product
from edge.recommend.runtime import Recommender
from edge.rfid.stock import StockView
from models.recommender.demo_catalog import gtin_for
from models.recommender.export import export_onnx
from models.recommender.model import Factors

PRODUCTS_FULL = 20_000
PRODUCTS_QUICK = 2_000
CALLS_FULL = 2_000
CALLS_QUICK = 200
WARMUP_CALLS = 50
VARIANTS_PER_STYLE = 10
RANK = 64
IN_STOCK_SHARE = 0.6
TARGET_P99_MS = 10.0
ZONES: dict[str, ZoneKind] = {
    **{f"shelf-{c}": ZoneKind.SHELF for c in "abcdefgh"},
    "backroom": ZoneKind.BACKROOM,
    **{f"fitting-{i}": ZoneKind.FITTING_ROOM for i in range(1, 5)},
    "pos": ZoneKind.POS,
    "exit": ZoneKind.EXIT,
}
_SIZES = ("S", "M", "L", "XL", "XXL")
_COLOURS = ("navy", "black")


def synthetic_catalog(products: int, rng: random.Random) -> Catalog:
    categories = sorted(DEFAULT_COMPLEMENTS)
    items = []
    for number in range(products):
        style = number // VARIANTS_PER_STYLE
        variant = number % VARIANTS_PER_STYLE
        category = categories[style % len(categories)]
        gtin = gtin_for(f"{number:06d}")
        items.append(
            Product(
                gtin=gtin,
                name=f"{category.title()} {style}",
                category=category,
                size=_SIZES[variant % len(_SIZES)],
                colour=_COLOURS[variant // len(_SIZES)],
                price=round(rng.uniform(10, 300), 2),
                image=f"/static/catalog/{gtin}.svg",
                style=f"{category}-{style}",
            )
        )
    return Catalog(f"bench-{products}", items)


def synthetic_factors(catalog: Catalog, rank: int, seed: int) -> Factors:
    """Item factors = category + style + item noise: companions cluster like real ones."""
    rng = np.random.default_rng(seed)
    categories = {c: rng.normal(size=rank) for c in catalog.categories}
    styles = {s: rng.normal(scale=0.7, size=rank) for s in catalog.styles}
    rows = [
        categories[p.category] + styles[p.style] + rng.normal(scale=0.3, size=rank) for p in catalog
    ]
    u = (np.array(rows) / np.sqrt(rank)).astype(np.float32)
    v = np.roll(u, 1, axis=1)  # not symmetric: as after an eigen-decomposition's signs
    return Factors(catalog.gtins, u, v)


def synthetic_stock(catalog: Catalog, rng: random.Random) -> StockView:
    view = StockView()
    floor = [zone for zone, kind in ZONES.items() if kind is ZoneKind.SHELF]
    for product in catalog:
        if rng.random() >= IN_STOCK_SHARE:
            continue
        for n in range(rng.randint(1, 4)):
            zone = "backroom" if rng.random() < 0.3 else rng.choice(floor)
            view.add(f"{product.gtin}-{n}", product.gtin, zone)
    return view


def _percentile(sorted_ms: list[float], share: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, round(share * (len(sorted_ms) - 1)))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    quick = bool(getattr(args, "quick", False))
    products = PRODUCTS_QUICK if quick else PRODUCTS_FULL
    calls = CALLS_QUICK if quick else CALLS_FULL
    rng = random.Random(0)
    print(f"bench recommend: building a {products}-product catalog and model", file=sys.stderr)
    catalog = synthetic_catalog(products, rng)
    stock = synthetic_stock(catalog, rng)
    with tempfile.TemporaryDirectory(prefix="o2o-bench-rec-") as folder:
        model_path = export_onnx(
            synthetic_factors(catalog, RANK, seed=0),
            Path(folder) / "recommender.onnx",
            model_version="bench",
            catalog_version=catalog.version,
        )
        model_mb = model_path.stat().st_size / 1e6
        started = time.perf_counter()
        recommender = Recommender(model_path, catalog, RecommendConfig(), zone_kinds=ZONES)
        load_s = time.perf_counter() - started
    gtins = catalog.gtins
    workload = []
    for call in range(WARMUP_CALLS + calls):
        room = rng.sample(gtins, rng.randint(1, 4))
        member = call % 2 == 1
        workload.append(
            (
                room,
                rng.sample(gtins, 8) if member else [],
                (rng.choice(_SIZES),) if member else (),
            )
        )
    print(f"bench recommend: {calls} calls", file=sys.stderr)
    timings_ms = []
    cpu_ms = []
    returned = 0
    for call, (room, history, sizes) in enumerate(workload):
        started_ns = time.perf_counter_ns()
        started_cpu_ns = time.thread_time_ns()
        recs = recommender.recommend(
            room, member_history_gtins=history, member_sizes=sizes, stock=stock
        )
        elapsed_cpu_ms = (time.thread_time_ns() - started_cpu_ns) / 1e6
        elapsed_ms = (time.perf_counter_ns() - started_ns) / 1e6
        if call >= WARMUP_CALLS:
            timings_ms.append(elapsed_ms)
            cpu_ms.append(elapsed_cpu_ms)
            returned += len(recs)
    timings_ms.sort()
    cpu_ms.sort()
    stats = recommender.stats
    return {
        "catalog_size": products,
        "calls": calls,
        "model_rank": RANK,
        "model_mb": round(model_mb, 2),
        "model_load_s": round(load_s, 3),
        "rec_p50_ms": round(_percentile(timings_ms, 0.50), 3),
        "rec_p99_ms": round(_percentile(timings_ms, 0.99), 3),
        "rec_max_ms": round(timings_ms[-1], 3),
        "rec_mean_ms": round(sum(timings_ms) / len(timings_ms), 3),
        # CPU time of the calling thread (ONNX runs on it): the cost without other processes'
        # interference, which the wall-clock figures above include.
        "rec_cpu_p50_ms": round(_percentile(cpu_ms, 0.50), 3),
        "rec_cpu_p99_ms": round(_percentile(cpu_ms, 0.99), 3),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "recommendations_per_call": round(returned / calls, 2),
        "fallback_share": round(stats.fallback_picks / max(1, returned), 4),
        "target_rec_p99_ms": TARGET_P99_MS,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "quick": quick,
    }
