"""``o2o-edge demo``: the store day it replays, and the whole demo (HQ on SQLite, the broker,
the replay through the real edge, sync to HQ) run as a user runs it."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.app.demo_store import DAY_MEMBERS, DAY_STRANGERS, free_port, store_day
from tests.conftest import REPO_ROOT, cli_env, face_data_dir, run_cli

NEIGHBOUR_GTIN = "00614141110018"
"""Merino crew sweater, navy M: among the sizes the demo's neighbouring store has."""


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


def run_demo_until_the_day_is_over(
    *args: str, timeout_s: float = 240
) -> tuple[str, int, list[dict[str, Any]], dict[str, Any]]:
    """``o2o-edge demo ARGS`` as a user runs it: until it says the day is over (it stays up);
    checks its pages and HQ answer then, stops it as Ctrl-C does; its output and exit code,
    HQ's RFM rows and its availability of a size the neighbouring store has."""
    process = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "demo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=cli_env(),
        cwd=REPO_ROOT,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    try:
        for line in process.stdout:
            lines.append(line)
            if "The day is over" in line:
                break
            assert time.monotonic() < deadline, "".join(lines[-30:])
        text = "".join(lines)
        assert "The day is over" in text, text[-3000:]
        # Still up after the day: the store's pages and HQ answer.
        store = re.search(r"dashboard\s+(http://[^/]+)/", text)
        hq = re.search(r"Headquarters \(SQLite\) at (http://\S+)", text)
        assert store and hq, text[-3000:]
        assert httpx.get(store.group(1) + "/healthz", timeout=10).status_code == 200
        assert httpx.get(hq.group(1) + "/healthz", timeout=10).status_code == 200
        token = re.search(r"admin bearer token: (\S+)\)", text)
        assert token, text[-3000:]
        admin = {"Authorization": f"Bearer {token.group(1)}"}
        rfm = httpx.get(hq.group(1) + "/api/v1/reports/rfm", headers=admin, timeout=30).json()[
            "rows"
        ]
        near = {"gtin": NEIGHBOUR_GTIN, "lat": 48.8566, "lon": 2.3522, "radius_km": 25}
        nearby = httpx.get(
            hq.group(1) + "/api/v1/availability", params=near, headers=admin, timeout=30
        ).json()
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=60)
    return text + rest, process.returncode, rfm, nearby


@pytest.mark.network
@pytest.mark.slow
def test_the_fast_demo_syncs_its_store_day_to_headquarters_and_stays_up(
    mqtt_broker: tuple[str, int], store_id: str, tmp_path: Path
) -> None:
    port = free_port()
    data = tmp_path / "demo-data"
    output, code, rfm, nearby = run_demo_until_the_day_is_over(
        "--fast",
        "--minutes",
        "3",
        "--port",
        str(port),
        "--store-id",
        store_id,
        "--data-dir",
        str(data),
    )
    assert code in (0, 130), output
    # The day's members exist at HQ: their purchases fill the RFM report.
    assert {row["member_id"] for row in rfm} & {m for m, _person in DAY_MEMBERS}, rfm
    # The neighbouring store's stock is at HQ, fresh: the tablets can name it.
    assert "Paris Opéra (2.1 km away), reports its stock" in output
    opera = next(s for s in nearby["stores"] if s["store_id"] == "demo-opera")
    assert opera["in_stock"] and opera["distance_km"] == pytest.approx(2.1, abs=0.1)
    # The run's data stays in its named folder after the demo (HQ's database among it).
    [run] = data.iterdir()
    assert (run / "hq").is_dir() and any((run / "hq").iterdir())
    assert f"http://127.0.0.1:{port}/" in output  # listens on, and prints, the loopback
    assert "Traceback" not in output
    assert f"o2o/{store_id}/#" in output and "tablet fitting-1" in output
    summary = output.split("Summary:", 1)[1]
    assert _count("try-ons", summary) > 0
    assert _count("sales", summary) >= 3
    assert re.search(r"alerts: .*exit_unsold [1-9]", summary), summary
    synced = _count("events synced to headquarters", summary)
    assert synced > 1000 and f"outbox delivered {synced}, backlog 0" in summary
    if face_data_dir() is None:
        assert "Cameras off" in output
    else:
        assert "Cameras on" in output
        assert _count("visits", summary) > 0


def test_a_busy_port_gives_one_line_that_suggests_another() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("demo", "--fast", "--port", str(port), timeout=60)
    assert result.returncode == 2
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert lines == [
        f"o2o-edge demo: port {port} on 127.0.0.1 is in use; choose another with --port"
    ]
