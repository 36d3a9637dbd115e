"""``o2o-edge bench NAME``: each benchmark is a module ``edge.bench.NAME`` with ``run(args)``
returning a dict of figures, printed as one JSON object on standard output."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
from typing import Any

BENCHMARKS = (
    "rfid",
    "vision",
    "gallery",
    "e2e",
    "sync",
    "replay",
    "recommend",
    "llrp",
    "gate",
    "store",
    "faces",
)


def available() -> list[str]:
    return [name for name in BENCHMARKS if importlib.util.find_spec(f"edge.bench.{name}")]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("bench", help="Run a benchmark; prints one JSON object")
    parser.add_argument("name", choices=available())
    parser.add_argument(
        "--quick", action="store_true", help="Smaller workloads (for smoke tests), same figures"
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    module = importlib.import_module(f"edge.bench.{args.name}")
    figures: dict[str, Any] = module.run(args)
    print(json.dumps(figures, sort_keys=True))
    return 0
