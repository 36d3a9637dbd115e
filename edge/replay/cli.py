"""``o2o-edge replay`` and ``o2o-edge record`` (hardware in the loop)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
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


def _replay(args: argparse.Namespace) -> int:
    from edge.config.loader import load_store_config
    from edge.replay.capture import CaptureError
    from edge.replay.replayer import ReplayError, print_progress, replay_to_file

    config = load_store_config(args.config)
    try:
        stats = replay_to_file(
            args.capture,
            config,
            args.out,
            speed=args.speed,
            publish_events=not args.no_publish,
            serve=args.serve,
            progress=print_progress,
        )
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
    from edge.config.loader import load_store_config
    from edge.replay.recorder import record_store

    config = load_store_config(args.config)
    out = record_store(config, args.out, args.duration)
    print(f"capture written to {out}", file=sys.stderr)
    return 0
