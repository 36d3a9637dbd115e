"""The gate's store day (issue 13): its expected events alarm for every theft and for nothing
else, and raise no reader_offline in the quiet hour. (That the capture replays to exactly these
events, byte for byte, is test_scenarios.py's job.)"""

from __future__ import annotations

import json
from pathlib import Path

from edge.bench.gate import score_store_day
from edge.replay.scenarios import GATE_THEFTS
from tests.conftest import REPO_ROOT

DAY = Path(__file__).parent / "gate_store_day"


def test_every_theft_alarms_and_nothing_else() -> None:
    events = [json.loads(line) for line in (DAY / "expected_events.jsonl").read_text().splitlines()]
    story = json.loads((DAY / "story.json").read_text())
    assert score_store_day(events, story) == {
        "missed_thefts": 0,
        "false_alarms": 0,
        "false_reader_offline": 0,
    }
    epc_of = {item["label"]: item["epc"] for item in story["items"]}
    opened = [e["payload"] for e in events if e["type"] == "gate.alarm"]
    # The two items carried out together make one alarm with both, not two alarms.
    pair = {epc_of["chino-pair"], epc_of["tee-pair"]}
    [together] = [
        p for p in opened if {i["epc"] for i in p["items"]} == pair and p["state"] == "on"
    ]
    assert together["reason"] == "item_added" and together["total_value"] > 0
    assert all(item["name"] and item["price"] for item in together["items"])
    alarmed = {i["epc"] for p in opened for i in p["items"]}
    assert alarmed == {epc_of[label] for label in GATE_THEFTS}


def test_scenario_store_is_the_shipped_gate_store() -> None:
    shipped = REPO_ROOT / "firmware_configs" / "gate_store.yaml"
    assert (DAY / "store.yaml").read_text() == shipped.read_text()
