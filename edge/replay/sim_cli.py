"""``o2o-edge simulate SCENARIO --out DIR [--seed N]``: write a simulated capture."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DEMO_STORE = Path(__file__).resolve().parents[2] / "firmware_configs" / "demo_store.yaml"


def register(subparsers: Any) -> None:
    simulate = subparsers.add_parser(
        "simulate", help="Write the capture of a simulated store scenario (hardware in the loop)"
    )
    simulate.add_argument("scenario", nargs="?", metavar="SCENARIO", help="Scenario name")
    simulate.add_argument("--out", type=Path, help="Capture directory to write")
    simulate.add_argument("--seed", type=int, default=0, help="Random seed (default 0)")
    simulate.add_argument(
        "--config",
        type=Path,
        default=DEMO_STORE,
        help="STORE.yaml whose readers and zones are simulated (default: the demo store)",
    )
    simulate.add_argument("--list", action="store_true", help="List the scenarios and exit")
    simulate.set_defaults(handler=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    from edge.config.loader import load_store_config
    from edge.replay.scenarios import SCENARIOS, get_scenario
    from edge.replay.simulator import simulate

    if args.list:
        for name, build in SCENARIOS.items():
            print(f"{name}: {build().description}")
        return 0
    if not args.scenario or args.out is None:
        print("o2o-edge simulate: give SCENARIO and --out DIR (or --list)", file=sys.stderr)
        return 2
    try:
        scenario = get_scenario(args.scenario)
    except KeyError as error:
        print(f"o2o-edge simulate: {error.args[0]}", file=sys.stderr)
        return 2
    config = load_store_config(args.config)
    try:
        story = simulate(scenario, config, args.out, seed=args.seed)
    except ValueError as error:
        print(f"o2o-edge simulate: {error}", file=sys.stderr)
        return 2
    summary = {
        "scenario": story.scenario,
        "out": str(args.out),
        "seed": story.seed,
        "duration_s": story.duration_s,
        "items": len(story.items),
        "serial_chunks": {reader: counts.chunks for reader, counts in story.serial.items()},
        "mqtt_messages": story.mqtt_messages,
    }
    print(json.dumps(summary))
    return 0
