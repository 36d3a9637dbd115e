"""The commands that run the edge as the composition root builds it: ``o2o-edge run``,
``replay``, ``record`` and ``demo``."""

from __future__ import annotations

import argparse
import json
import sys
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
    demo.add_argument(
        "--host",
        default="127.0.0.1",
        help="Address the pages listen on (default 127.0.0.1; 0.0.0.0 for tablets on the LAN)",
    )
    demo.add_argument(
        "--data-dir",
        type=Path,
        default=Path("o2o-demo-data"),
        help="Folder keeping each run's store and HQ data (default ./o2o-demo-data)",
    )
    demo.add_argument(
        "--clean", action="store_true", help="Remove the earlier runs' data in --data-dir first"
    )
    demo.add_argument(
        "--exit-after-day",
        action="store_true",
        help="Stop after the summary (default: stay up, pages and HQ browsable, until Ctrl-C)",
    )
    demo.add_argument("--minutes", type=float, default=10.0, help="Length of the store day")
    demo.add_argument("--store-id", default=None, help="Store id (default: demo)")
    demo.set_defaults(handler=_demo)

    replay = subparsers.add_parser(
        "replay", help="Run the full edge pipeline on a recorded capture"
    )
    replay.add_argument("capture", type=Path, help="Capture directory (manifest.yaml inside)")
    replay.add_argument("--config", required=True, type=Path, help="STORE.yaml")
    replay.add_argument("--out", required=True, type=Path, help="Events, one JSON per line")
    replay.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="1 = real time, 10 = ten times as fast, 0 = flat out",
    )
    replay.add_argument(
        "--no-publish", action="store_true", help="Do not publish events to the MQTT broker"
    )
    replay.add_argument(
        "--serve", action="store_true", help="Serve the tablet and staff pages while replaying"
    )
    replay.set_defaults(handler=_replay)

    record = subparsers.add_parser("record", help="Record a live store's reader streams")
    record.add_argument("--config", required=True, type=Path, help="STORE.yaml")
    record.add_argument("--out", required=True, type=Path, help="Capture directory to write")
    record.add_argument("--duration", required=True, type=float, help="Seconds to record")
    record.set_defaults(handler=_record)


def _run(args: argparse.Namespace) -> int:
    from edge.app.run import run_store
    from edge.config.loader import load_store_config
    from edge.logs import configure_logging
    from edge.runtime.owner import EventSink
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
    from edge.app.demo import run_demo

    return run_demo(
        fast=args.fast,
        speed=args.speed,
        port=args.port,
        host=args.host,
        stay_up=not args.exit_after_day,
        data_dir=args.data_dir,
        clean=args.clean,
        minutes=args.minutes,
        store_id=args.store_id,
    )


def _replay(args: argparse.Namespace) -> int:
    from edge.app.replay import ReplaySetup, replay_to_file
    from edge.config.loader import load_store_config
    from edge.replay.capture import CaptureError
    from edge.replay.replayer import ReplayError, print_progress

    config = load_store_config(args.config)
    setup = ReplaySetup(
        speed=args.speed,
        publish_events=not args.no_publish,
        serve=args.serve,
        progress=print_progress,
    )
    try:
        stats = replay_to_file(args.capture, config, args.out, setup)
    except (CaptureError, ReplayError) as error:
        print(f"replay failed: {error}", file=sys.stderr)
        return 2
    summary = {
        "records": stats.records,
        "events": stats.events,
        "capture_s": stats.capture_s,
        "wall_s": round(stats.wall_s, 3),
        "speedup": round(stats.speedup, 1),
        "unrouted_messages": stats.unrouted_messages,
        "camera_frames": stats.camera_frames,
        "camera_frames_missing": stats.camera_frames_missing,
    }
    print(json.dumps(summary), file=sys.stderr)
    return 0


def _record(args: argparse.Namespace) -> int:
    from edge.app.record import record_store
    from edge.config.loader import load_store_config

    config = load_store_config(args.config)
    out = record_store(config, args.out, args.duration)
    print(f"capture written to {out}", file=sys.stderr)
    return 0
