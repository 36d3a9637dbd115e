"""``o2o-edge replay``: a capture through the edge as the composition root builds it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from edge.app.compose import Edge, EdgeOptions, build_edge
from edge.config.store import StoreConfig
from edge.replay.capture import Capture
from edge.replay.replayer import Replayer, ReplayStats
from edge.runtime.owner import EventSink
from edge.runtime.sinks import JsonLinesSink

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplaySetup:
    speed: float = 0.0
    publish_events: bool = True
    serve: bool = False
    """Serve the pages and the API (the config's ``api`` address) while the capture plays."""
    sync: bool = False
    """Sync the events to HQ as a live store would (the config's ``sync`` section)."""
    sync_gallery: bool = True
    progress: Callable[[int, int], None] | None = None


@contextmanager
def replay_edge(
    capture: Capture, config: StoreConfig, sinks: Sequence[EventSink], setup: ReplaySetup
) -> Iterator[tuple[Edge, Replayer]]:
    """The edge built for a replay of ``capture``, started (and served if asked); stopped on
    exit. Call ``replayer.play(edge.runtime)`` inside."""
    replayer = Replayer(capture, config, speed=setup.speed, progress=setup.progress)
    edge = build_edge(
        replayer.config,
        EdgeOptions(
            clock=replayer.clock,
            factory=replayer.factory,
            sinks=sinks,
            publish_events=setup.publish_events,
            live_cameras=False,
            sync=setup.sync,
            sync_gallery=setup.sync_gallery,
            mqtt_component="replay",
        ),
    )
    try:
        edge.start()
        if setup.serve:
            edge.serve()
        yield edge, replayer
    finally:
        edge.stop()
        replayer.close()


def replay(
    capture_dir: Path,
    config: StoreConfig,
    sinks: Sequence[EventSink],
    setup: ReplaySetup | None = None,
) -> ReplayStats:
    capture = Capture.open(capture_dir)
    if capture.store_id != config.store_id:
        log.warning(
            "capture was made in store %s, replaying as store %s", capture.store_id, config.store_id
        )
    with replay_edge(capture, config, sinks, setup or ReplaySetup()) as (edge, replayer):
        return replayer.play(edge.runtime)


def replay_to_file(
    capture_dir: Path,
    config: StoreConfig,
    out: Path,
    setup: ReplaySetup | None = None,
    extra_sinks: Sequence[EventSink] = (),
) -> ReplayStats:
    """Every emitted event as one JSON line in ``out``."""
    return replay(capture_dir, config, [JsonLinesSink(out), *extra_sinks], setup)
