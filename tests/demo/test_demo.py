"""``o2o-edge demo``: the store day it replays, and the whole demo (HQ on SQLite, the broker,
the replay through the real edge, sync to HQ) run as a user runs it."""

from __future__ import annotations

import re

import pytest

from edge.app.demo_store import DAY_MEMBERS, DAY_STRANGERS, free_port, store_day
from tests.conftest import face_data_dir, run_cli


def test_the_day_opens_with_hand_written_scenes_and_their_receipts_are_unique() -> None:
    day = store_day(120, cameras=False)
    sale_ids = [sale.sale_id for sale in day.sales]
    assert len(sale_ids) == len(set(sale_ids)) >= 2
    assert "sweater-red-m" in {item.label for item in day.items}
    assert len({item.label for item in day.items}) == len(day.items) > 3000
    assert day.cameras == () and day.duration_s >= 200  # the openers play to their end


def test_with_cameras_members_and_strangers_are_filmed_within_the_day() -> None:
    day = store_day(180, cameras=True)
    filmed = {(a.person, a.member_id) for a in day.cameras}
    assert filmed == {(p, m) for m, p in DAY_MEMBERS} | {(p, None) for p in DAY_STRANGERS}
    assert {a.camera for a in day.cameras} == {"cam-entrance", "cam-fitting-1"}
    assert all(a.at_s + a.duration_s <= day.duration_s for a in day.cameras)


def _count(label: str, text: str) -> int:
    found = re.search(rf"^\s*{label}: (\d+)", text, re.MULTILINE)
    assert found, f"no '{label}' in the summary:\n{text}"
    return int(found.group(1))


@pytest.mark.network
@pytest.mark.slow
def test_the_fast_demo_syncs_its_store_day_to_headquarters(
    mqtt_broker: tuple[str, int], store_id: str
) -> None:
    result = run_cli(
        "demo",
        "--fast",
        "--minutes",
        "3",
        "--port",
        str(free_port()),
        "--store-id",
        store_id,
        timeout=240,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    assert f"o2o/{store_id}/#" in result.stdout and "tablet fitting-1" in result.stdout
    summary = result.stdout.split("Summary:", 1)[1]
    assert _count("try-ons", summary) > 0
    assert _count("sales", summary) >= 3
    assert re.search(r"alerts: .*exit_unsold [1-9]", summary), summary
    synced = _count("events synced to headquarters", summary)
    assert synced > 1000 and f"outbox delivered {synced}, backlog 0" in summary
    if face_data_dir() is None:
        assert "Cameras off" in result.stdout
    else:
        assert "Cameras on" in result.stdout
        assert _count("visits", summary) > 0
