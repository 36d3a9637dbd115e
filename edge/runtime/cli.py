"""``o2o-edge run --config STORE.yaml``: all edge daemons for one store."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help="Run all edge daemons for one store")
    parser.add_argument("--config", required=True, type=Path, help="STORE.yaml")
    parser.add_argument(
        "--validate-config", action="store_true", help="Check the configuration and exit"
    )
    parser.add_argument("--print-events", action="store_true", help="Print events as they happen")
    parser.set_defaults(handler=_run)

    demo = subparsers.add_parser("demo", help="A demo store on embedded defaults")
    demo.add_argument("--fast", action="store_true", help="Replay as fast as possible")
    demo.add_argument("--speed", type=float, default=1.0, help="Replay speed (1 = real time)")
    demo.add_argument("--port", type=int, default=8080, help="HTTP port of the store's pages")
    demo.add_argument("--minutes", type=float, default=10.0, help="Length of the store day")
    demo.add_argument("--store-id", default=None, help="Store id (default: demo)")
    demo.set_defaults(handler=_demo)


def _run(args: argparse.Namespace) -> int:
    from edge.config.loader import load_store_config
    from edge.logs import configure_logging
    from edge.runtime.owner import EventSink
    from edge.runtime.service import run_store
    from edge.runtime.sinks import ConsoleSink

    config = load_store_config(args.config)
    if args.validate_config:
        print(f"{args.config}: valid (store {config.store_id})")
        return 0
    configure_logging(args.log_level or config.log_level, json_lines=args.log_json)
    sinks: list[EventSink] = [ConsoleSink()] if args.print_events else []
    run_store(config, sinks)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from edge.runtime.demo import run_demo

    return run_demo(
        fast=args.fast,
        speed=args.speed,
        port=args.port,
        minutes=args.minutes,
        store_id=args.store_id,
    )
