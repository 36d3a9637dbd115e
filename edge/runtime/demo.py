"""``o2o-edge demo``: a demo store on embedded defaults, with no set-up beyond the install.

It simulates a capture of the demo store (firmware_configs/demo_store.yaml), makes sure an MQTT
broker answers (the one on 127.0.0.1:1883, or an embedded amqtt broker it starts), and replays
the capture through the real edge in real time (``--fast``: as fast as possible), printing events
and alerts as they happen.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

from edge.api.devices import DeviceRegistry, DeviceRole
from edge.clock import SystemClock
from edge.config.loader import load_store_config
from edge.config.store import StoreConfig
from edge.config.zones import ZoneKind
from edge.events.base import Event
from edge.replay.replayer import replay_to_file
from edge.replay.scenarios import get_scenario
from edge.replay.simulator import simulate
from edge.runtime.embedded_broker import EmbeddedBroker, broker_answers
from edge.runtime.sinks import ConsoleSink

log = logging.getLogger(__name__)

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "firmware_configs" / "demo_store.yaml"
DEMO_SCENARIO = "shopper_tryon_exit"


class CountingSink:
    def __init__(self) -> None:
        self.by_type: Counter[str] = Counter()

    def emit(self, event: Event) -> None:
        self.by_type[event.type] += 1

    def close(self) -> None:
        pass


def pair_demo_devices(config: StoreConfig) -> dict[str, str]:
    """One tablet per fitting room and a staff device; returns the URL of each page."""
    registry = DeviceRegistry.from_store_config(config, SystemClock())
    base = f"http://127.0.0.1:{config.api.port}"
    urls = {"dashboard": f"{base}/#token={registry.add('demo-staff', DeviceRole.STAFF).token}"}
    urls["staff page"] = urls["dashboard"].replace(f"{base}/#", f"{base}/staff#")
    for zone in config.zones:
        if zone.kind is ZoneKind.FITTING_ROOM:
            token = registry.add(f"demo-tablet-{zone.id}", DeviceRole.TABLET, zone.id).token
            urls[f"tablet {zone.id}"] = f"{base}/tablet/{zone.id}#token={token}"
    return urls


def run_demo(*, fast: bool, speed: float, config_path: Path = DEMO_CONFIG) -> int:
    work = Path(tempfile.mkdtemp(prefix="o2o-demo-"))
    # The demo keeps its state (devices, outbox) in a scratch folder, not beside the config.
    config = load_store_config(config_path).model_copy(update={"data_dir": work / "data"})
    broker = None
    if broker_answers(config.mqtt.host, config.mqtt.port):
        print(f"Using the MQTT broker at {config.mqtt.host}:{config.mqtt.port}")
    else:
        broker = EmbeddedBroker(config.mqtt.host, config.mqtt.port)
        broker.start()
        print(f"Started an embedded MQTT broker on {config.mqtt.host}:{config.mqtt.port}")
    prefix = f"{config.mqtt.topic_prefix}/{config.store_id}"
    print(
        "Subscribe to follow along, e.g.:\n"
        f"  mosquitto_sub -h {config.mqtt.host} -p {config.mqtt.port} -v -t '{prefix}/#'\n"
        f"  events: {prefix}/events/<type>   alerts: {prefix}/alerts/<kind>   "
        f"status: {prefix}/status/<component>"
    )
    if config.api.enabled:
        print("Open in a browser (each link carries its device token):")
        for page, url in pair_demo_devices(config).items():
            print(f"  {page:<18} {url}")
    counter = CountingSink()
    try:
        capture = work / "capture"
        scenario = get_scenario(DEMO_SCENARIO)
        simulate(scenario, config, capture, seed=0)
        pace = 0.0 if fast else speed
        print(
            f"Replaying '{scenario.name}' ({scenario.duration_s:.0f} s): "
            f"{scenario.description}\n"
            + ("as fast as possible" if fast else f"at {pace:g}x real time")
            + "; Ctrl-C stops.\n",
            flush=True,
        )
        stats = replay_to_file(
            capture,
            config,
            work / "events.jsonl",
            speed=pace,
            serve=config.api.enabled,
            extra_sinks=[ConsoleSink(), counter],
        )
    except KeyboardInterrupt:
        print("\nStopped.")
        return 130
    finally:
        if broker is not None:
            broker.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"\nSummary: {stats.records} records replayed in {stats.wall_s:.1f} s "
        f"({stats.speedup:.0f}x real time); events: "
        + ", ".join(f"{kind} {n}" for kind, n in sorted(counter.by_type.items())),
        file=sys.stdout,
    )
    return 0
