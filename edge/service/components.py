"""The readers' and cameras' own counters, read for the dashboard (on the caller's thread:
every driver's stats are safe to read from any thread)."""

from __future__ import annotations

from dataclasses import dataclass

from edge.rfid.event_delivery import EventReaderStats
from edge.rfid.r2000 import MALFORMED_KEYS
from edge.runtime.assembly import StoreRuntime

SERIAL_ERROR_KEYS = (*MALFORMED_KEYS, "error_responses", "read_errors", "open_errors")
"""Serial driver counters that count as errors on the dashboard."""

LLRP_ERROR_KEYS = (
    "unmapped_antenna",
    "dead_links",
    "timeouts",
    "connect_errors",
    "socket_errors",
    "requests_refused",
    "connection_refused",
    "error_messages",
    "driver_errors",
)
"""LLRP driver counters that count as errors (with every ``malformed_<reason>``)."""


def event_reader_errors(stats: EventReaderStats) -> dict[str, int]:
    """A Zebra or Impinj reader's refused input and losses by kind (``malformed_<reason>``
    for what it sent that could not be used)."""
    errors = {f"malformed_{reason}": count for reason, count in stats.malformed.items()}
    errors.update(
        unmapped_antenna=stats.unmapped_antenna,
        no_antenna=stats.no_antenna,
        lost_events=stats.lost_events,
        event_num_resets=stats.event_num_resets,
        overflows=stats.overflows,
    )
    return errors


def llrp_errors(stats: dict[str, int]) -> dict[str, int]:
    """An LLRP driver's error counters by kind."""
    errors = {key: stats.get(key, 0) for key in LLRP_ERROR_KEYS}
    errors.update({key: value for key, value in stats.items() if key.startswith("malformed_")})
    return errors


@dataclass(frozen=True, slots=True)
class ComponentCounters:
    """A driver's counters as the dashboard shows them."""

    errors: int
    frame_drops: int | None
    counters: dict[str, int]
    last_data_ms: int | None = None
    """Cameras: the last frame recognised (readers' last sign of life comes from the rules)."""


def component_counters(runtime: StoreRuntime) -> dict[str, ComponentCounters]:
    """Counters of every reader driver and camera of the runtime, by component id."""
    found: dict[str, ComponentCounters] = {}
    for reader_id, serial in runtime.serial_drivers.items():
        stats = serial.stats()
        errors = sum(stats.get(key, 0) for key in SERIAL_ERROR_KEYS)
        found[reader_id] = ComponentCounters(errors, None, dict(stats))
    for reader_id, driver in runtime.mqtt_drivers.items():
        mqtt = driver.stats()
        refused = event_reader_errors(mqtt)
        found[reader_id] = ComponentCounters(
            sum(refused.values()),
            None,
            {
                "messages": mqtt.messages_received,
                "reads": mqtt.reads,
                "clock_drift_corrected": mqtt.clock_drift_corrected,
                "status_messages": mqtt.status_messages,
                **refused,
            },
        )
    for reader_id, http in runtime.http_drivers.items():
        stream = http.stats()
        refused = event_reader_errors(stream)
        for key in ("connect_errors", "auth_failures", "http_errors", "stalls"):
            refused[key] = getattr(stream, key)
        found[reader_id] = ComponentCounters(
            sum(refused.values()),
            None,
            {
                "reads": stream.reads,
                "lines": stream.lines,
                "connects": stream.connects,
                "disconnects": stream.disconnects,
                "keepalives": stream.keepalives,
                "clock_drift_corrected": stream.clock_drift_corrected,
                **refused,
            },
        )
    for reader_id, llrp in runtime.llrp_drivers.items():
        stats = llrp.stats()
        found[reader_id] = ComponentCounters(sum(llrp_errors(stats).values()), None, stats)
    for camera_id, camera in runtime.cameras.items():
        frames = camera.stats
        found[camera_id] = ComponentCounters(
            sum(frames.source_errors.values()) + frames.frames_lost,
            frames.frames_dropped,
            {
                "frames_processed": frames.frames_processed,
                "frames_lost": frames.frames_lost,
                "queue_depth": frames.queue_depth,
                "active_tracks": frames.active_tracks,
                **frames.source_errors,
            },
            last_data_ms=frames.last_frame_ms,
        )
    return found
