"""``o2o-edge bench gate``: the exit gate (issue 13), in three parts.

1. **Latency on the real broker.** The edge of a small store (a shelf and an exit, one Zebra
   reader, ``build_edge`` as ``o2o-edge run`` builds it) runs under a unique store id. This
   process plays the reader (IoT Connector JSON, live timestamps) and a gate light (a
   subscriber on the retained ``o2o/{store}/gate/exit/alarm``). Each exit: a new EPC is read
   on the shelf, then twice at the exit 100 ms apart; the time is from publishing the second
   exit read (the one that makes the item confident) to receiving its ``gate.alarm`` (on,
   opened). ``group_s`` is 0 so that every exit is its own alarm. Figures ``alarm_p50_ms``,
   ``alarm_p99_ms`` (target p99 <= 300 ms), ``alarm_max_ms``, ``exits``, ``lost`` (no alarm
   within 5 s).
2. **The store day** (scenario ``gate_store_day``, firmware_configs/gate_store.yaml,
   seed 1), simulated and replayed through the real drivers: ``missed_thefts``,
   ``false_alarms``, ``false_reader_offline`` (targets 0) against the scenario's truth
   (:data:`edge.replay.scenarios.GATE_THEFTS`).
3. **The chain's sold set** at 10 million EPCs (1 million with ``--quick``):
   ``sold_set_epcs``, ``sold_set_bytes`` (wire form; memory is the same less 20 bytes) and
   ``sold_lookup_ns`` (mean of 200,000 lookups, half of them hits, key hashing included).
   Keys are drawn at random, as BLAKE2b's are; the EPCs looked up are real keys put in.

``load_avg`` is the machine's 1-min load average at the end: read the latency with it.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import sys
import tempfile
import time
import uuid
from array import array
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from edge.alerts.sold_set import SoldSet, epc_key
from edge.app.compose import EdgeOptions, build_edge
from edge.config.loader import load_store_config, parse_store_config
from edge.config.mqtt import MqttConfig
from edge.events.base import parse_event
from edge.mqtt.client import MqttConnection
from edge.mqtt.topics import gate_alarm_topic

GATE_STORE = Path(__file__).resolve().parents[2] / "firmware_configs" / "gate_store.yaml"
SEED = 1
WAIT_S = 10.0
LOST_S = 5.0
IN_FLIGHT = 4
"""Exits at once (staggered), as at a busy door."""


def _say(message: str) -> None:
    print(f"bench gate: {message}", file=sys.stderr, flush=True)


def _zebra(epc: str, antenna: int, num: int) -> bytes:
    now = datetime.now(UTC)
    stamp = f"{now:%Y-%m-%dT%H:%M:%S}.{now.microsecond // 1000:03d}+0000"
    data = {"eventNum": num, "format": "epc", "idHex": epc, "antenna": antenna, "peakRssi": -52}
    return json.dumps({"data": data, "timestamp": stamp, "type": "INVENTORY"}).encode()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency(exits: int, tmp: Path) -> dict[str, Any]:
    mqtt = load_store_config(GATE_STORE).mqtt
    store_id = f"bench-gate-{uuid.uuid4().hex[:8]}"
    topic = f"bench/{store_id}/zebra/data"
    config = parse_store_config(
        {
            "store_id": store_id,
            "data_dir": str(tmp),
            "mqtt": mqtt.model_dump(),
            "zones": [{"id": "shelf", "kind": "shelf"}, {"id": "exit", "kind": "exit"}],
            "readers": [
                {
                    "id": "door",
                    "kind": "zebra_mqtt",
                    "topic": topic,
                    "antennas": {1: "exit", 2: "shelf"},
                }
            ],
            "gate": {"group_s": 0},
        }
    )
    light_topic = gate_alarm_topic(mqtt.topic_prefix, store_id, "exit")
    received: queue.Queue[tuple[float, bytes]] = queue.Queue()
    reader = MqttConnection(MqttConfig(host=mqtt.host, port=mqtt.port), store_id, "reader")
    light = MqttConnection(MqttConfig(host=mqtt.host, port=mqtt.port), store_id, "light")
    edge = build_edge(config, EdgeOptions(sync=False))
    edge.start()
    try:
        for client in (reader, light):
            client.start()
            if not client.wait_connected(WAIT_S):
                raise RuntimeError(f"bench gate: no broker at {mqtt.host}:{mqtt.port}")
        light.subscribe(light_topic, lambda _t, p: received.put((time.perf_counter(), p)))
        light.wait_subscribed(light_topic, WAIT_S)
        time.sleep(0.5)  # the edge's reader subscription
        sent: dict[str, float] = {}
        took_ms: list[float] = []
        num = 0
        epcs = [f"3074257BF7194E4{n:09X}" for n in range(exits)]
        for epc in epcs:  # on the shelf first: store stock, not an item that came in
            num += 1
            reader.publish(topic, _zebra(epc, 2, num))
        time.sleep(1.0)

        def collect(block_s: float) -> None:
            deadline = time.perf_counter() + block_s
            while True:
                try:
                    got_at, payload = received.get(timeout=max(deadline - time.perf_counter(), 0))
                except queue.Empty:
                    return
                event = parse_event(payload)
                if getattr(event.payload, "reason", None) != "opened":
                    continue
                epc = event.payload.items[0].epc
                if epc in sent:
                    took_ms.append((got_at - sent.pop(epc)) * 1000)

        for n, epc in enumerate(epcs):
            num += 1
            reader.publish(topic, _zebra(epc, 1, num))
            time.sleep(0.1)
            num += 1
            sent[epc] = time.perf_counter()
            reader.publish(topic, _zebra(epc, 1, num))
            if n % IN_FLIGHT == IN_FLIGHT - 1:
                collect(0.02)
        deadline = time.perf_counter() + LOST_S
        while sent and time.perf_counter() < deadline:
            collect(0.1)
        light.publish(light_topic, b"", retain=True)  # leave no retained alarm behind
    finally:
        edge.stop()
        reader.stop()
        light.stop()
    return {
        "alarm_p50_ms": round(statistics.median(took_ms), 1) if took_ms else None,
        "alarm_p99_ms": round(_percentile(took_ms, 0.99), 1) if took_ms else None,
        "alarm_max_ms": round(max(took_ms), 1) if took_ms else None,
        "exits": exits,
        "lost": len(sent),
    }


def store_day(tmp: Path) -> dict[str, Any]:
    from edge.app.replay import ReplaySetup, replay_edge
    from edge.replay.capture import Capture
    from edge.replay.scenarios import gate_store_day
    from edge.replay.simulator import simulate
    from edge.runtime.sinks import JsonLinesSink

    config = load_store_config(GATE_STORE)
    capture_dir = tmp / "gate_store_day"
    story = simulate(gate_store_day(), config, capture_dir, seed=SEED)
    events_file = tmp / "events.jsonl"
    setup = ReplaySetup(speed=0, publish_events=False)
    with replay_edge(Capture.open(capture_dir), config, [JsonLinesSink(events_file)], setup) as (
        edge,
        replayer,
    ):
        replayer.play(edge.runtime)
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    return score_store_day(events, story.to_dict())


def score_store_day(events: list[dict[str, Any]], story: dict[str, Any]) -> dict[str, int]:
    """Missed thefts, false alarms (EPCs alarmed that were no theft) and reader_offline
    alerts (the scenario has no reader outage, so each is false) of a store-day replay."""
    from edge.replay.scenarios import GATE_THEFTS

    epc_of = {item["label"]: item["epc"] for item in story["items"]}
    thefts = {epc_of[label] for label in GATE_THEFTS}
    alarmed: set[str] = set()
    offline = 0
    for event in events:
        payload = event["payload"]
        if event["type"] == "gate.alarm":
            alarmed.update(item["epc"] for item in payload["items"])
        elif event["type"] == "alert.raised" and payload["kind"] == "exit_unsold":
            alarmed.add(payload["subject"])
        elif event["type"] == "alert.raised" and payload["kind"] == "reader_offline":
            offline += 1
    return {
        "missed_thefts": len(thefts - alarmed),
        "false_alarms": len(alarmed - thefts),
        "false_reader_offline": offline,
    }


def sold_set(epcs: int) -> dict[str, Any]:
    rng = np.random.default_rng(SEED)
    real = [f"30{n:022X}" for n in range(100_000)]
    keys = np.concatenate(
        [
            rng.integers(0, 2**64 - 1, size=epcs - len(real), dtype=np.uint64),
            np.array([epc_key(e) for e in real], dtype=np.uint64),
        ]
    )
    keys = np.unique(keys)  # sorted, distinct
    packed = array("Q")
    packed.frombytes(keys.astype("=u8").tobytes())
    del keys
    sold = SoldSet(1, packed)
    wire = len(sold.to_bytes())
    absent = [f"31{n:022X}" for n in range(100_000)]
    probes = [e for pair in zip(real, absent, strict=True) for e in pair]
    started = time.perf_counter_ns()
    hits = sum(1 for e in probes if e in sold)
    lookup_ns = (time.perf_counter_ns() - started) / len(probes)
    if hits != len(real):
        raise RuntimeError(f"bench gate: sold set found {hits} of {len(real)} EPCs put in")
    return {
        "sold_set_epcs": len(sold),
        "sold_set_bytes": wire,
        "sold_lookup_ns": round(lookup_ns),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    exits = 1000
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="o2o-bench-gate-") as tmp:
        _say(f"{exits} exits on the real broker ...")
        figures.update(latency(exits, Path(tmp)))
        _say("the store day (gate_store_day), simulated and replayed ...")
        figures.update(store_day(Path(tmp)))
    _say("the sold set ...")
    figures.update(sold_set(1_000_000 if args.quick else 10_000_000))
    figures["load_avg"] = round(os.getloadavg()[0], 2)
    return figures
