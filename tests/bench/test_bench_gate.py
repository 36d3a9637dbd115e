"""``o2o-edge bench gate`` on small workloads: its latency part measures real alarms on the
real broker, its sold-set part finds every EPC put in."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.bench.gate import latency, sold_set


@pytest.mark.network
def test_latency_part_times_every_exit(mqtt_broker: tuple[str, int], tmp_path: Path) -> None:
    figures = latency(20, tmp_path)
    assert figures["exits"] == 20 and figures["lost"] == 0
    assert 0 < figures["alarm_p50_ms"] <= figures["alarm_p99_ms"] <= figures["alarm_max_ms"]


def test_sold_set_part_reports_eight_bytes_an_epc() -> None:
    figures = sold_set(200_000)
    assert figures["sold_set_epcs"] == 200_000
    assert figures["sold_set_bytes"] == 20 + 8 * 200_000
    assert figures["sold_lookup_ns"] > 0
