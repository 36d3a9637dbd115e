"""Hardware in the loop: every capture under tests/hil/ replays, through the real drivers (a
pseudo-terminal for serial readers, the real broker for MQTT readers), to exactly its expected
events. Add a scenario by dropping a capture directory with its expected_events.jsonl here
(README: "Adding a hardware-in-the-loop scenario")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, run_cli

HIL_DIR = Path(__file__).parent
SCENARIOS = sorted(p.parent for p in HIL_DIR.glob("*/manifest.yaml"))


def scenario_config(scenario: Path) -> Path:
    """A scenario may carry its own store.yaml; otherwise it was made for the demo store."""
    own = scenario / "store.yaml"
    return own if own.is_file() else REPO_ROOT / "firmware_configs" / "demo_store.yaml"


def replay(scenario: Path, out: Path) -> list[str]:
    result = run_cli(
        "replay",
        str(scenario),
        "--config",
        str(scenario_config(scenario)),
        "--out",
        str(out),
        "--speed",
        "0",
    )
    assert result.returncode == 0, result.stderr
    return out.read_text().splitlines()


@pytest.mark.network
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_capture_replays_to_expected_events(
    scenario: Path, tmp_path: Path, mqtt_broker: tuple[str, int]
) -> None:
    expected_file = scenario / "expected_events.jsonl"
    assert expected_file.is_file(), f"{scenario.name} has no expected_events.jsonl"
    produced = replay(scenario, tmp_path / "events.jsonl")
    expected = expected_file.read_text().splitlines()
    if produced != expected:
        summary = [
            f"{json.loads(line)['type']} {json.loads(line)['payload'].get('epc', '')}"
            for line in produced
        ]
        pytest.fail(
            f"{scenario.name}: replay differs from expected_events.jsonl "
            f"({len(produced)} events vs {len(expected)}); produced:\n" + "\n".join(summary)
        )


@pytest.mark.network
def test_two_replays_are_byte_identical(tmp_path: Path, mqtt_broker: tuple[str, int]) -> None:
    assert SCENARIOS, "no captures under tests/hil"
    scenario = SCENARIOS[0]
    first = replay(scenario, tmp_path / "first.jsonl")
    second = replay(scenario, tmp_path / "second.jsonl")
    assert first == second
    assert first, "the scenario produced no events"
