"""``o2o-edge record``: a live store, built by the composition root, with its drivers tapped
into a capture directory (docs/capture-format.md)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from edge.app.compose import Taps
from edge.app.run import run_store
from edge.config.store import StoreConfig
from edge.replay.recording import StoreRecording, show_progress


def record_store(config: StoreConfig, out: Path, duration_s: float) -> Path:
    recording = StoreRecording(config, out, time.time_ns() // 1_000_000)
    stop = threading.Event()
    progress = threading.Thread(target=show_progress, args=(stop, duration_s), daemon=True)
    progress.start()
    try:
        run_store(
            config,
            duration_s=duration_s,
            taps=Taps(
                serial=recording.serial,
                mqtt=recording.mqtt,
                frames=recording.frame,
                llrp=recording.llrp,
            ),
            stop=stop,
        )
    finally:
        stop.set()
        recording.close(time.time_ns() // 1_000_000)
    return out
