"""A seeded store simulator: turns a scenario (edge.replay.scenarios) into a capture.

Every reader of the store configuration reads the items in its antennas' zones, with the noise
of a real shop floor (:mod:`edge.replay.sim_world`). Each reader family then speaks its own
wire format:

- R2000 (serial, :mod:`edge.replay.sim_r2000`): a simulated module answers the commands the
  serial driver's own command loop sends (0x8A fast switch over the mapped antennas by
  default), in random 1..64-byte chunks (frames split across chunks), with outages, reboots
  and line noise; so a capture holds only bytes a real module returns for those commands;
- Zebra FX (MQTT): IoT Connector tag data events, single objects or batched arrays;
- Impinj R700 (MQTT): ``tagInventory`` events, an ``inventoryStatus`` event at start
  (:mod:`edge.replay.sim_mqtt`).

The tills' sales (``Scenario.sales``) go on the store's POS sales topic, in the same MQTT
source: SaleSubmission JSON priced from the catalog. A scenario's camera scene is written
beside the manifest as ``camera_scene.json`` (its videos are built at test time).

A crowded store (``Scenario.crowd``: thousands of tags) caps each antenna's reads per second,
so each tag is read less often, and picks the reads by geometric skipping, so the cost grows
with the reads, not with the tags in view.

Everything random comes from one ``random.Random(seed)`` (split per reader by name), so a
scenario and a seed give byte-identical capture files. The intended item movements (the
"story") are returned and written beside the manifest as ``story.json``.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from edge.config.readers import (
    ImpinjHttpReader,
    ImpinjMqttReader,
    LlrpReader,
    R2000SerialReader,
    ZebraMqttReader,
)
from edge.config.store import StoreConfig
from edge.fusion.sales import SaleSubmission
from edge.mqtt.topics import pos_sales_topic
from edge.recommend.catalog import Catalog
from edge.replay.camera_scenes import CameraScene, write_scene
from edge.replay.capture import CaptureWriter, format_utc
from edge.replay.scenarios import GONE, Scenario
from edge.replay.sim_mqtt import (
    hostname,
    impinj_messages,
    json_bytes,
    reader_clock,
    zebra_messages,
)
from edge.replay.sim_r2000 import SerialCounts, r2000_capture_chunks
from edge.replay.sim_world import (
    AntennaRadio,
    RadioModel,
    SimItem,
    build_items,
    reads_of_reader,
)

STORY_FILE = "story.json"
MQTT_SOURCE = "mqtt-readers"
"""One MQTT source for all MQTT readers, as ``o2o-edge record`` writes it."""

ROUND_MS = {"zebra_mqtt": 250, "impinj_mqtt": 250}
"""Inventory round length of the MQTT reader families (an R2000's follow its commands)."""

__all__ = [
    "MQTT_SOURCE",
    "STORY_FILE",
    "RadioModel",
    "SerialCounts",
    "SimItem",
    "Story",
    "simulate",
]


@dataclass(slots=True)
class Story:
    """The intended truth of a simulated capture (``story.json``)."""

    scenario: str
    description: str
    seed: int
    store_id: str
    start_ms: int
    duration_s: float
    items: list[SimItem]
    outages: list[dict[str, Any]] = field(default_factory=list)
    reboots: list[dict[str, Any]] = field(default_factory=list)
    clock_jumps: list[dict[str, Any]] = field(default_factory=list)
    serial: dict[str, SerialCounts] = field(default_factory=dict)
    mqtt_messages: dict[str, int] = field(default_factory=dict)
    sales: list[dict[str, Any]] = field(default_factory=list)
    """Per till sale: ``t_ms``, ``topic`` and the ``sale`` (SaleSubmission JSON) sent."""

    def item(self, label: str) -> SimItem:
        return next(item for item in self.items if item.label == label)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "description": self.description,
            "seed": self.seed,
            "store_id": self.store_id,
            "start": format_utc(self.start_ms),
            "start_ms": self.start_ms,
            "duration_s": self.duration_s,
            "items": [
                {
                    "label": item.label,
                    "epc": item.epc,
                    "gtin": item.gtin,
                    "path": [{"t_ms": t, "zone": zone} for t, zone in item.path],
                    "moves": item.moves(),
                    "final_zone": item.path[-1][1],
                }
                for item in self.items
            ],
            "outages": self.outages,
            # Only when present, so older scenarios' stories stay as they were.
            **({"reboots": self.reboots} if self.reboots else {}),
            **({"clock_jumps": self.clock_jumps} if self.clock_jumps else {}),
            "serial": {reader: asdict(counts) for reader, counts in self.serial.items()},
            "mqtt_messages": self.mqtt_messages,
            **({"sales": self.sales} if self.sales else {}),
        }


# --- POS sales ------------------------------------------------------------------------------


def _sales(
    scenario: Scenario, items: list[SimItem], catalog: Catalog, start_ms: int, topic: str
) -> list[dict[str, Any]]:
    """The scenario's till sales as the tills send them: SaleSubmission JSON, one EPC line per
    item at its catalog price. Raises ValueError for an unknown item or an unpriced product."""
    by_label = {item.label: item for item in items}
    sales = []
    for sale in scenario.sales:
        where = f"scenario {scenario.name}: sale {sale.sale_id}"
        if not 0 <= sale.at_s <= scenario.duration_s:
            raise ValueError(f"{where} at {sale.at_s} s is outside the capture")
        lines: list[dict[str, Any]] = []
        for label in sale.labels:
            item = by_label.get(label)
            if item is None:
                raise ValueError(f"{where} sells item {label}, which the scenario does not have")
            product = catalog.get(item.gtin)
            if product is None:
                raise ValueError(
                    f"{where} sells item {label} (GTIN {item.gtin}), which the catalog "
                    f"{catalog.version} has no price for"
                )
            lines.append({"epc": item.epc, "gtin": item.gtin, "amount": product.price})
        body = {
            "sale_id": sale.sale_id,
            "till_id": sale.till_id,
            "lines": lines,
            "total": round(sum(line["amount"] for line in lines), 2),
            "currency": "EUR",
            **({"member_id": sale.member_id} if sale.member_id else {}),
            **({"returned": True} if sale.returned else {}),
        }
        SaleSubmission.model_validate(body)  # what the store will check, checked here first
        sales.append({"t_ms": start_ms + round(sale.at_s * 1000), "topic": topic, "sale": body})
    return sales


# --- the capture ----------------------------------------------------------------------------


def simulate(
    scenario: Scenario,
    config: StoreConfig,
    out: str | Path,
    seed: int = 0,
    radio: RadioModel | None = None,
    catalog: Catalog | None = None,
) -> Story:
    """Write the capture of ``scenario`` in the store ``config`` into ``out``; return its story.

    The scenario's till sales go into the MQTT source on the store's POS sales topic, priced
    from ``catalog`` (default: the demo catalog, firmware_configs/demo_catalog.json).
    """
    radio = radio or RadioModel()
    zones = {zone.id for zone in config.zones}
    for spec in scenario.items:
        for stay in spec.stays:
            if stay.zone != GONE and stay.zone not in zones:
                raise ValueError(
                    f"scenario {scenario.name}: item {spec.label} goes to zone '{stay.zone}', "
                    f"which store {config.store_id} does not define"
                )
    readers = {reader.id: reader for reader in config.readers}
    for what, reader_id in [
        *(("outage", outage.reader_id) for outage in scenario.outages),
        *(("reboot", reboot.reader_id) for reboot in scenario.reboots),
    ]:
        if not isinstance(readers.get(reader_id), R2000SerialReader):
            raise ValueError(
                f"scenario {scenario.name}: {what} of '{reader_id}', which is not a "
                f"serial reader of store {config.store_id}"
            )
    for jump in scenario.clock_jumps:
        if not isinstance(readers.get(jump.reader_id), ZebraMqttReader | ImpinjMqttReader):
            raise ValueError(
                f"scenario {scenario.name}: clock jump of '{jump.reader_id}', which is not an "
                f"MQTT reader of store {config.store_id} (serial frames carry no time)"
            )
    start_ms = round(scenario.start.astimezone(UTC).timestamp() * 1000)
    end_ms = start_ms + round(scenario.duration_s * 1000)
    world = random.Random(seed)
    items = build_items(scenario, start_ms, radio, world)
    neighbours = frozenset(pair for a, b in scenario.neighbours for pair in ((a, b), (b, a)))
    story = Story(
        scenario=scenario.name,
        description=scenario.description,
        seed=seed,
        store_id=config.store_id,
        start_ms=start_ms,
        duration_s=scenario.duration_s,
        items=items,
        outages=[
            {
                "reader": outage.reader_id,
                "from_ms": start_ms + round(outage.from_s * 1000),
                "to_ms": start_ms + round(outage.to_s * 1000),
            }
            for outage in scenario.outages
        ],
        reboots=[
            {
                "reader": reboot.reader_id,
                "from_ms": start_ms + round(reboot.at_s * 1000),
                "to_ms": start_ms + round((reboot.at_s + reboot.down_s) * 1000),
            }
            for reboot in scenario.reboots
        ],
        clock_jumps=[
            {
                "reader": jump.reader_id,
                "at_ms": start_ms + round(jump.at_s * 1000),
                "offset_ms": round(jump.offset_s * 1000),
            }
            for jump in scenario.clock_jumps
        ],
    )
    if scenario.sales:
        if catalog is None:
            from edge.recommend.runtime import DEMO_CATALOG

            catalog = Catalog.load(DEMO_CATALOG)
        topic = pos_sales_topic(config.mqtt.topic_prefix, config.store_id)
        story.sales = _sales(scenario, items, catalog, start_ms, topic)
    out = Path(out)
    writer = CaptureWriter(
        out,
        config.store_id,
        start_ms,
        f"simulated ({scenario.name}, seed {seed}): {scenario.description}",
        compress=scenario.compress,
    )
    crowd = scenario.crowd
    mqtt_readers = [r for r in config.readers if isinstance(r, ZebraMqttReader | ImpinjMqttReader)]
    mqtt: list[tuple[int, int, str, bytes]] = []
    for order, reader in enumerate(config.readers):
        if isinstance(reader, LlrpReader | ImpinjHttpReader):
            continue  # no model of these here: record a live reader instead
        rng = random.Random(f"{seed}:{reader.id}")
        if isinstance(reader, R2000SerialReader):
            counts = story.serial.setdefault(reader.id, SerialCounts())
            silences = [
                (o["from_ms"], o["to_ms"])
                for o in [*story.outages, *story.reboots]
                if o["reader"] == reader.id
            ]
            boots = [o["to_ms"] for o in story.reboots if o["reader"] == reader.id]
            writer.add_serial_source(reader.id, reader.id)
            air = AntennaRadio(rng, reader.antennas, neighbours, items, radio, crowd)
            chunks = r2000_capture_chunks(
                rng,
                reader,
                air,
                scenario.noise,
                start_ms,
                end_ms,
                silences,
                counts,
                boots,
                crowd.serial_read_ms if crowd else None,
            )
            for t_ms, chunk in chunks:
                writer.write_serial(reader.id, t_ms, chunk)
            continue
        rounds = reads_of_reader(
            rng,
            reader.antennas,
            neighbours,
            items,
            radio,
            start_ms,
            end_ms,
            ROUND_MS[reader.kind],
            crowd,
        )
        clock = reader_clock(
            [(j["at_ms"], j["offset_ms"]) for j in story.clock_jumps if j["reader"] == reader.id]
        )
        if isinstance(reader, ZebraMqttReader):
            report_ms = crowd.zebra_report_ms if crowd else None
            messages = zebra_messages(rng, rounds, report_ms, clock)
        else:
            messages = impinj_messages(rng, hostname(reader.id), start_ms, rounds, clock)
        count = published_ms = 0
        for t_ms, payload in messages:
            # MQTT keeps one client's messages in order, whatever each one's latency.
            published_ms = max(published_ms, t_ms)
            mqtt.append((published_ms, order, reader.topic, payload))
            count += 1
        story.mqtt_messages[reader.id] = count
    tills = len(config.readers)  # after every reader in a tie
    for sale in story.sales:
        mqtt.append((sale["t_ms"], tills, sale["topic"], json_bytes(sale["sale"])))
    if mqtt_readers or story.sales:
        topics = [reader.topic for reader in mqtt_readers]
        topics += sorted({sale["topic"] for sale in story.sales})
        writer.add_mqtt_source(MQTT_SOURCE, topics=topics)
        # One file for all MQTT readers, in arrival order (ties: reader order, then sequence).
        for t_ms, _, topic, payload in sorted(mqtt, key=lambda m: (m[0], m[1])):
            writer.write_mqtt(MQTT_SOURCE, t_ms, topic, payload)
    writer.close(duration_s=scenario.duration_s)
    if scenario.cameras:
        write_scene(CameraScene(scenario.cameras), out)
    (out / STORY_FILE).write_text(json.dumps(story.to_dict(), indent=1) + "\n", encoding="utf-8")
    return story
