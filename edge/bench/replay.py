"""``o2o-edge bench replay``: how much faster than real time a busy store hour replays.

The store simulator writes the busy Saturday hour (``busy_saturday_hour``: 3,000 tagged
items, 48 shoppers, crowded readers; seed 1) into a temporary directory, then the replayer
runs it flat out (``--speed 0``) through the real drivers (a pseudo-terminal for the serial
reader, the real broker for the MQTT readers), the owner loop and the events file, exactly as
``o2o-edge replay`` does, without publishing the events. ``--quick`` replays its first 5 min.

Figures: ``speedup`` = capture seconds / replay wall seconds (target: at least 50),
``capture_s``, ``wall_s`` (the replay loop, from the first record to the last event written),
``records``, ``events``, ``reads`` (tag reads the drivers delivered), ``peak_rss_mb``, and to
read them on a shared machine: ``cpu_s`` (this process's CPU time during the replay; the rest
of ``wall_s`` is hand-over latency between the replayer, the drivers and the broker) and
``load_avg`` (the machine's 1-min load average when the replay ended).

Needs the MQTT broker of firmware_configs/demo_store.yaml (127.0.0.1:1883).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

QUICK_S = 300
SEED = 1
DEMO_STORE = Path(__file__).resolve().parents[2] / "firmware_configs" / "demo_store.yaml"


def _say(message: str) -> None:
    print(f"bench replay: {message}", file=sys.stderr, flush=True)


def _progress(records: int, capture_ms: int) -> None:
    if records % 20_000 == 0:
        _say(f"{records} records, {capture_ms / 60_000:.1f} min of capture replayed")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from edge.app.replay import ReplaySetup, replay_edge
    from edge.config.loader import load_store_config
    from edge.replay.capture import Capture
    from edge.replay.scenarios import busy_saturday_hour
    from edge.replay.simulator import simulate
    from edge.runtime.sinks import JsonLinesSink

    duration_s = QUICK_S if args.quick else 3600
    config = load_store_config(DEMO_STORE)
    scenario = busy_saturday_hour(duration_s)
    with tempfile.TemporaryDirectory(prefix="o2o-bench-replay-") as tmp:
        capture_dir = Path(tmp) / "capture"
        _say(f"simulating {scenario.name} ({duration_s / 60:.0f} min, seed {SEED}) ...")
        started = time.monotonic()
        story = simulate(scenario, config, capture_dir, seed=SEED)
        simulate_s = time.monotonic() - started
        capture_mb = sum(p.stat().st_size for p in capture_dir.iterdir()) / 1e6
        _say(f"simulated {len(story.items)} items in {simulate_s:.1f} s ({capture_mb:.1f} MB)")

        capture = Capture.open(capture_dir)
        sinks = [JsonLinesSink(Path(tmp) / "events.jsonl")]
        setup = ReplaySetup(speed=0, publish_events=False, progress=_progress)
        with replay_edge(capture, config, sinks, setup) as (edge, replayer):
            _say("replaying at --speed 0 through the real drivers and broker ...")
            cpu_before = time.process_time()
            stats = replayer.play(edge.runtime)
            cpu_s = time.process_time() - cpu_before
            runtime = edge.runtime
            reads = sum(d.stats()["reads"] for d in runtime.serial_drivers.values()) + sum(
                d.stats().reads for d in runtime.mqtt_drivers.values()
            )
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _say(f"done: {stats.capture_s:.0f} s of capture in {stats.wall_s:.1f} s")
    return {
        "scenario": scenario.name,
        "speedup": round(stats.speedup, 1),
        "capture_s": stats.capture_s,
        "wall_s": round(stats.wall_s, 2),
        "cpu_s": round(cpu_s, 2),
        "records": stats.records,
        "serial_chunks": stats.serial_chunks,
        "mqtt_messages": stats.mqtt_messages,
        "events": stats.events,
        "reads": reads,
        "items": len(story.items),
        "capture_mb": round(capture_mb, 1),
        "simulate_s": round(simulate_s, 1),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "load_avg": round(os.getloadavg()[0], 2),
    }
