"""``o2o-edge bench gallery``: time to match one embedding against 10k, 100k and 1M members.

Each size runs in a fresh child process pinned to one CPU with BLAS limited to one thread
(the variables must be set before numpy loads, hence the child), so that the figures are
"one core" and each size's peak memory is its own. Members have one random 128-d embedding
each (dlib's scale: norm about 1); the query is a noisy copy of one of them. Figures: median
and 95th percentile of ``Gallery.match`` in milliseconds, the gallery's own memory (with
the int8 copy that galleries of 200,000 embeddings and more are matched against first, built
by the warm-up match) and the child's peak resident memory; ``match_cpu_ms`` is the matching
thread's CPU time, which on a shared machine shows the cost without the time spent waiting
for a core. Where the int8 pass is used, the exact float32 path is timed on the same probes
too (``match_ms_exact``, alternating with the int8 matches so that both see the same load)
and ``same_as_exact`` is the share of identical results. Targets: under 5 ms at 100k and
under 30 ms at 1M.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
from typing import Any

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
DIM = 128
BUILD_CHUNK = 100_000


def _measure(size: int, queries: int) -> dict[str, float]:
    """Runs in the child: build a gallery of ``size`` members, time ``queries`` matches."""
    import resource
    import time

    import numpy as np

    from edge.vision.gallery import Gallery, Match

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rng = np.random.default_rng(size)
    gallery = Gallery(
        embedding_size=DIM, metric="euclidean", threshold=0.5, min_margin=0.04, backend="bench"
    )
    gallery.reserve(size)
    started = time.perf_counter()
    for start in range(0, size, BUILD_CHUNK):
        count = min(BUILD_CHUNK, size - start)
        rows = rng.standard_normal((count, DIM), dtype=np.float32) * np.float32(DIM**-0.5)
        gallery.extend([f"member-{start + i:07d}" for i in range(count)], rows)
    build_s = time.perf_counter() - started
    targets = rng.integers(0, size, queries)
    probes = [
        gallery._matrix[:DIM, t] + rng.standard_normal(DIM, dtype=np.float32) * 0.03
        for t in targets
    ]

    coarse_min_rows = gallery.coarse_min_rows

    def timed(probe: np.ndarray, *, exact: bool) -> tuple[Match, float, float]:
        gallery.coarse_min_rows = size + 1 if exact else coarse_min_rows
        t0, c0 = time.perf_counter(), time.thread_time()
        match = gallery.match(probe)
        return match, (time.perf_counter() - t0) * 1000, (time.thread_time() - c0) * 1000

    timed(probes[0], exact=False)  # warm the caches once (and build the int8 copy)
    both = size >= coarse_min_rows  # then time the exact path too, alternating, same load
    runs, exact_runs = [], []
    for probe in probes:
        runs.append(timed(probe, exact=False))
        if both:
            exact_runs.append(timed(probe, exact=True))
    times_ms = [ms for _, ms, _ in runs]
    cpu_ms = [cpu for _, _, cpu in runs]
    hits = sum(m.member_id == f"member-{t:07d}" for (m, _, _), t in zip(runs, targets, strict=True))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    exact: dict[str, float] = {}
    if both:
        exact = {
            "match_ms_exact": float(np.median([ms for _, ms, _ in exact_runs])),
            "match_cpu_ms_exact": float(np.median([cpu for _, _, cpu in exact_runs])),
            "same_as_exact": float(
                np.mean([a[0] == b[0] for a, b in zip(runs, exact_runs, strict=True)])
            ),
        }
    return exact | {
        "match_ms": float(np.median(times_ms)),
        "match_ms_p95": float(np.percentile(times_ms, 95)),
        "match_cpu_ms": float(np.median(cpu_ms)),
        "gallery_mb": (
            gallery._matrix.nbytes
            + gallery._owner.nbytes
            + (gallery._codes.nbytes if gallery._codes is not None else 0)
        )
        / 2**20,
        "peak_rss_mb": peak_kb / 1024,
        "build_s": build_s,
        "hit_rate": hits / queries,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    queries = 20 if args.quick else 200
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"
    context = multiprocessing.get_context("spawn")
    figures: dict[str, Any] = {
        "threads": 1,
        "embedding_size": DIM,
        "queries": queries,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    peak = 0.0
    for label, size in SIZES.items():
        print(f"bench gallery: {size} members, {queries} queries", file=sys.stderr, flush=True)
        with context.Pool(1) as pool:
            result = pool.apply(_measure, (size, queries))
        figures[f"match_ms_{label}"] = round(result["match_ms"], 3)
        figures[f"match_ms_p95_{label}"] = round(result["match_ms_p95"], 3)
        figures[f"match_cpu_ms_{label}"] = round(result["match_cpu_ms"], 3)
        figures[f"gallery_mb_{label}"] = round(result["gallery_mb"], 1)
        figures[f"peak_rss_mb_{label}"] = round(result["peak_rss_mb"], 1)
        figures[f"build_s_{label}"] = round(result["build_s"], 2)
        figures[f"hit_rate_{label}"] = round(result["hit_rate"], 3)
        for key in ("match_ms_exact", "match_cpu_ms_exact", "same_as_exact"):
            if key in result:
                figures[f"{key}_{label}"] = round(result[key], 3)
        peak = max(peak, result["peak_rss_mb"])
    figures["peak_rss_mb"] = round(peak, 1)
    return figures
