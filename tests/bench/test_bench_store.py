"""Smoke test of ``o2o-edge bench store --quick``: one trial (a reader at full rate, a camera
at 5 fps on real photographs, fitting-room sessions timed to the tablet) through the real
edge, broker and recognition worker. The size targets live in the benchmark, not here."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.network


def test_bench_store_quick_runs_readers_cameras_and_sessions_together(
    mqtt_broker: tuple[str, int],
) -> None:
    result = run_cli("bench", "store", "--quick", check=True, timeout=240)
    figures = json.loads(result.stdout)
    for key in ("readers", "reads_per_s", "cameras", "tag_to_tablet_p99_ms", "frame_drop_pct"):
        assert key in figures, key
    assert figures["faces_per_frame"] >= 0.8  # the camera video holds a face to recognise
    (trial,) = figures["trials"]
    assert (trial["readers"], trial["cameras"]) == (1, 1)
    assert trial["sessions"] + trial["lost"] == 20
    # The camera really ran: about 5 frames a second were grabbed during the trial.
    assert trial["frames"] >= 2 * trial["wall_s"], trial
    # The reader's load was offered: 400 reads/s plus the sessions' reads.
    assert trial["reads_per_s"] >= 300, trial
    assert trial["tag_to_tablet_p99_ms"] is not None and trial["tag_to_tablet_p99_ms"] > 0
