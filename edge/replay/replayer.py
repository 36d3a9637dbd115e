"""Replays a capture through the real edge: serial chunks into a pseudo-terminal the real R2000
driver reads, MQTT messages through the real broker to the real MQTT reader drivers.

A :class:`Replayer` prepares what the edge must be built with (the configuration with its
serial ports swapped for pseudo-terminals, a virtual clock, event ids seeded from the capture);
the composition root (:mod:`edge.app.replay`) builds the edge from that, and
:meth:`Replayer.play` then feeds the capture to the edge's running drivers.

Determinism (docs/architecture.md, principle 1): the replayer owns a :class:`VirtualClock`.
For each record it
sets the clock to the record's time, hands the record to its driver and waits until the driver
has consumed it (the drivers count bytes and messages *after* delivering their reads), so every
read carries its record's time whatever the speed. Ticks (departures, offline alerts) are issued
on whole virtual seconds between records. Event ids are seeded from the capture's manifest. Two
replays of one capture therefore write identical files.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import threading
import time
import tty
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from paho.mqtt.client import topic_matches_sub

from edge.clock import VirtualClock
from edge.config.readers import ImpinjMqttReader, LlrpReader, R2000SerialReader, ZebraMqttReader
from edge.config.store import StoreConfig
from edge.events.base import EventFactory, EventIdGenerator
from edge.replay.capture import (
    MANIFEST,
    CameraFrame,
    CameraSource,
    Capture,
    LlrpRecord,
    LlrpSource,
    MqttMessage,
    Record,
    SerialChunk,
)
from edge.replay.llrp_peer import LlrpReplayPeer
from edge.runtime.assembly import StoreRuntime
from edge.vision.face_tracker import Observation
from edge.vision.frames import CameraStatus, Frame
from edge.vision.sources import VideoFileSource

log = logging.getLogger(__name__)

TICK_MS = 1000
CONSUME_TIMEOUT_S = 10.0
TOPIC_FIELDS = ("topic", "management_topic", "status_topic")
"""An MQTT reader's topics, moved under the replay's namespace."""
REQUEST_PATIENCE_S = 1.0
"""How long a recorded LLRP answer waits for the driver's request before it counts as the
answer to a request this replay's driver has not made (see ``_feed_llrp``)."""


class ReplayError(RuntimeError):
    """A capture that cannot be replayed against this configuration."""


@dataclass
class ReplayStats:
    records: int = 0
    serial_chunks: int = 0
    llrp_messages: int = 0
    mqtt_messages: int = 0
    camera_frames: int = 0
    camera_frames_missing: int = 0
    unrouted_messages: int = 0
    events: int = 0
    wall_s: float = 0.0
    capture_s: float = 0.0
    per_source: dict[str, int] = field(default_factory=dict)

    @property
    def speedup(self) -> float:
        return self.capture_s / self.wall_s if self.wall_s > 0 else 0.0


@dataclass
class RecordedCameraWatch:
    """A recorded camera's health on the virtual clock, by the live source's rule: offline when
    no frame came for ``offline_after_s`` (stamped with the last frame), online again with the
    next frame. A recording ends where its frames end: no stall is reported after that."""

    camera_id: str
    offline_after_ms: int
    recording_end_ms: int
    last_frame_ms: int | None = None
    offline: bool = False

    def frame(self, ts_ms: int) -> CameraStatus | None:
        first = self.last_frame_ms is None
        self.last_frame_ms = ts_ms
        if first:
            return CameraStatus(self.camera_id, True, ts_ms, "first frame")
        if not self.offline:
            return None
        self.offline = False
        return CameraStatus(self.camera_id, True, ts_ms, "frames again")

    def tick(self, now_ms: int) -> CameraStatus | None:
        last = self.last_frame_ms
        if self.offline or last is None or now_ms > self.recording_end_ms:
            return None
        if now_ms - last < self.offline_after_ms:
            return None
        self.offline = True
        return CameraStatus(self.camera_id, False, last, "no frames")


class PseudoTerminal:
    """A pseudo-terminal standing in for a serial port (:attr:`path` is the port's name); a
    thread drains what the driver sends (inventory commands) so its writes never block."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self._closed = False
        self._drain = threading.Thread(target=self._drain_commands, daemon=True)
        self._drain.start()

    def _drain_commands(self) -> None:
        while not self._closed:
            try:
                if not os.read(self.master, 4096):
                    return
            except OSError:
                return

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.master, view)
            view = view[written:]

    def close(self) -> None:
        self._closed = True
        for fd in (self.slave, self.master):
            with contextlib.suppress(OSError):
                os.close(fd)


def replay_config(
    config: StoreConfig,
    ptys: dict[str, PseudoTerminal],
    topic_namespace: str,
    llrp_peers: dict[str, LlrpReplayPeer] | None = None,
) -> StoreConfig:
    """The store's configuration with serial ports swapped for pseudo-terminals, LLRP readers
    pointed at local peers that play their recorded sessions, and MQTT reader topics moved
    under a namespace private to this replay (so concurrent replays never cross)."""
    peers = llrp_peers or {}
    readers = []
    for reader in config.readers:
        if isinstance(reader, R2000SerialReader) and reader.id in ptys:
            reader = reader.model_copy(update={"port": ptys[reader.id].path})
        elif isinstance(reader, LlrpReader) and reader.id in peers:
            peer = peers[reader.id]
            reader = reader.model_copy(update={"host": peer.host, "port": peer.port})
        elif isinstance(reader, ZebraMqttReader | ImpinjMqttReader):
            topics = {
                name: f"{topic_namespace}/{topic}"
                for name in TOPIC_FIELDS
                if isinstance(topic := getattr(reader, name, None), str)
            }
            reader = reader.model_copy(update=topics)
        readers.append(reader)
    return config.model_copy(update={"readers": readers})


def capture_seed(capture: Capture) -> bytes:
    return hashlib.sha256((capture.directory / MANIFEST).read_bytes()).digest()


class Replayer:
    def __init__(
        self,
        capture: Capture,
        config: StoreConfig,
        *,
        speed: float = 0.0,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """``config``: the store's; build the edge from :attr:`config`, :attr:`clock` and
        :attr:`factory`, then :meth:`play` the capture through it."""
        if speed < 0:
            raise ReplayError(f"speed must be 0 (as fast as possible) or positive, not {speed}")
        self.capture = capture
        self.speed = speed
        self.progress = progress
        self.stats = ReplayStats()
        self._check_sources(config)
        self._namespace = f"o2o-replay/{uuid.uuid4().hex[:12]}"
        self._ptys = {
            source.reader: PseudoTerminal() for source in capture.sources if source.kind == "serial"
        }
        self._llrp_peers = {
            source.reader: LlrpReplayPeer.from_capture(capture, source.id)
            for source in capture.sources
            if isinstance(source, LlrpSource)
        }
        for peer in self._llrp_peers.values():
            peer.start()
        self._llrp_expected: dict[str, int] = dict.fromkeys(self._llrp_peers, 0)
        self._llrp_held: set[str] = set()
        self.config = replay_config(config, self._ptys, self._namespace, self._llrp_peers)
        self.clock = VirtualClock(capture.start_ms)
        self.factory = EventFactory(config.store_id, EventIdGenerator(capture_seed(capture)))
        offline_after_ms = {c.id: round(c.offline_after_s * 1000) for c in config.cameras}
        self._watches = {
            source.id: RecordedCameraWatch(
                source.camera,
                offline_after_ms[source.camera],
                max((r.t_ms for r in capture.source_records(source.id)), default=0),
            )
            for source in capture.sources
            if isinstance(source, CameraSource)
        }
        self._videos: dict[str, Iterator[Frame]] = {}
        self._serial_expected: dict[str, int] = dict.fromkeys(self._ptys, 0)
        self._mqtt_expected: dict[str, int] = {}
        self._topic_routes: dict[str, str | None] = {}
        self._inputs_expected = 0
        self._wall_start = 0.0
        self._runtime: StoreRuntime | None = None

    @property
    def runtime(self) -> StoreRuntime:
        if self._runtime is None:
            raise ReplayError("the replay has not started")
        return self._runtime

    def close(self) -> None:
        """Release the pseudo-terminals and LLRP peers (after the edge stopped)."""
        for pty in self._ptys.values():
            pty.close()
        for peer in self._llrp_peers.values():
            peer.stop()

    def _check_sources(self, config: StoreConfig) -> None:
        readers = {reader.id: reader for reader in config.readers}
        cameras = {camera.id for camera in config.cameras}
        for source in self.capture.sources:
            if isinstance(source, CameraSource) and source.camera not in cameras:
                raise ReplayError(
                    f"capture source {source.id} was recorded by camera '{source.camera}', "
                    "which the configuration does not define"
                )
            if isinstance(source, LlrpSource) and not isinstance(
                readers.get(source.reader), LlrpReader
            ):
                raise ReplayError(
                    f"capture source {source.id} was received from LLRP reader "
                    f"'{source.reader}', which the configuration does not define as an llrp "
                    "reader"
                )
            if source.kind == "serial":
                reader = readers.get(source.reader)
                if not isinstance(reader, R2000SerialReader):
                    raise ReplayError(
                        f"capture source {source.id} was read from serial reader "
                        f"'{source.reader}', which the configuration does not define as "
                        "an r2000_serial reader"
                    )

    def _route(self, topic: str) -> str | None:
        if topic not in self._topic_routes:
            route = None
            for reader in self.config.readers:
                if isinstance(reader, ZebraMqttReader | ImpinjMqttReader) and any(
                    topic_matches_sub(own, f"{self._namespace}/{topic}") for own in reader.topics()
                ):
                    route = reader.id
                    break
            self._topic_routes[topic] = route
        return self._topic_routes[topic]

    def play(self, runtime: StoreRuntime) -> ReplayStats:
        """Feed the capture to a started edge built from :attr:`config` (returns when every
        record was consumed and every resulting event emitted)."""
        self._runtime = runtime
        self._videos = {
            source.id: iter(
                VideoFileSource(
                    source.camera,
                    self.capture.path(source.video),
                    self.capture.path(source.timestamps),
                    on_status=runtime.owner.submit_camera_status,
                )
            )
            for source in self.capture.sources
            if isinstance(source, CameraSource)
        }
        self._mqtt_expected = dict.fromkeys(runtime.mqtt_drivers, 0)
        manifest = self.capture.manifest
        end_ms = self.capture.start_ms + round(manifest.duration_s * 1000)
        self.stats.capture_s = manifest.duration_s
        self._wait_for_drivers()
        started = self._wall_start = time.monotonic()
        next_tick = self.capture.start_ms + TICK_MS
        for record in self.capture.records():
            next_tick = self._tick_until(record.t_ms, next_tick)
            self._pace(record.t_ms)
            self.clock.set_ms(record.t_ms)
            self._settle_serial(record.t_ms)
            self._feed(record)
        self._tick_until(end_ms, next_tick)
        for camera in runtime.cameras.values():
            self._observed(camera.finish())
        for peer in self._llrp_peers.values():
            peer.release_all()  # the recorded answers to the driver's goodbye
        runtime.owner.sync()
        self.stats.events = runtime.owner.events_emitted
        self.stats.wall_s = time.monotonic() - started
        return self.stats

    def _wait_for_drivers(self) -> None:
        """Feed nothing before every driver listens: pyserial flushes a port's input when it
        opens it, and the broker drops messages published before the subscription."""
        for reader_id, serial_driver in self.runtime.serial_drivers.items():
            _wait_for(
                lambda d=serial_driver: d.connected,  # type: ignore[misc]
                f"serial reader {reader_id} did not open its pseudo-terminal",
            )
        for reader_id, mqtt_driver in self.runtime.mqtt_drivers.items():
            for topic in mqtt_driver.config.topics():
                if not self.runtime.connection.wait_subscribed(topic, CONSUME_TIMEOUT_S):
                    raise ReplayError(f"MQTT reader {reader_id} could not subscribe to {topic}")

    def _tick_until(self, t_ms: int, next_tick: int) -> int:
        owner = self.runtime.owner
        while next_tick <= t_ms:
            self._pace(next_tick)
            self.clock.set_ms(next_tick)
            self._settle_serial(next_tick)
            for watch in self._watches.values():
                status = watch.tick(next_tick)
                if status is not None:
                    owner.submit_camera_status(status)
            for camera in self.runtime.cameras.values():
                self._observed(camera.tick(next_tick))
            owner.submit_tick(next_tick)
            next_tick += TICK_MS
        return next_tick

    def _settle_serial(self, t_ms: int) -> None:
        """Wait until every serial driver has flushed the bytes it held past their idle gap
        by ``t_ms`` (it does so on seeing the clock there), so the flushed reads reach the
        owner before whatever the capture holds next, at any replay speed."""
        for reader_id, driver in self.runtime.serial_drivers.items():
            due = driver.held_due_ms
            if due is None or due > t_ms:
                continue
            _wait_for(
                lambda d=driver: d.held_due_ms is None or d.held_due_ms > t_ms,  # type: ignore[misc]
                f"serial reader {reader_id} did not flush its held bytes by t={t_ms}",
                driver.wait_until,
            )

    def _pace(self, t_ms: int) -> None:
        """At speed s, a record t seconds into the capture is fed t/s seconds into the run."""
        if self.speed == 0:
            return
        due = self._wall_start + (t_ms - self.capture.start_ms) / 1000 / self.speed
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def _feed(self, record: Record) -> None:
        self.stats.records += 1
        if self.progress and self.stats.records % 2000 == 0:
            self.progress(self.stats.records, record.t_ms - self.capture.start_ms)
        if isinstance(record, SerialChunk):
            self._feed_serial(record)
        elif isinstance(record, LlrpRecord):
            self._feed_llrp(record)
        elif isinstance(record, MqttMessage):
            self._feed_mqtt(record)
        else:
            self._feed_frame(record)

    def _feed_frame(self, record: CameraFrame) -> None:
        """Recognise the recorded frame now, synchronously: every frame, in time order."""
        for frame in self._videos[record.source_id]:
            if frame.index == record.frame_index:
                self.stats.camera_frames += 1
                status = self._watches[record.source_id].frame(frame.ts_ms)
                if status is not None:
                    self.runtime.owner.submit_camera_status(status)
                self._observed(self.runtime.cameras[record.camera_id].step(frame))
                return
            if frame.index > record.frame_index:
                break
        self.stats.camera_frames_missing += 1

    def _observed(self, observations: list[Observation]) -> None:
        for observation in observations:
            self.runtime.owner.submit_observation(observation)

    def _feed_serial(self, record: SerialChunk) -> None:
        self.stats.serial_chunks += 1
        driver = self.runtime.serial_drivers[record.reader_id]
        self._serial_expected[record.reader_id] += len(record.data)
        expected = self._serial_expected[record.reader_id]
        self._ptys[record.reader_id].write(record.data)
        _wait_for(
            lambda: driver.bytes_received >= expected,
            f"serial reader {record.reader_id} did not read the chunk at t={record.t_ms}",
            driver.wait_until,
        )

    def _feed_llrp(self, record: LlrpRecord) -> None:
        """Let the reader's peer send this message (after the driver's request, for an
        answer) and wait until the driver has handled it.

        An answer whose request the driver does not send (the recording's goodbye: answers to
        the stop of a recording, which this replay's driver sends only when the edge stops)
        stays with the peer, and so does everything after it."""
        self.stats.llrp_messages += 1
        reader_id = record.reader_id
        if reader_id in self._llrp_held:
            return
        driver = self.runtime.llrp_drivers[reader_id]
        peer = self._llrp_peers[reader_id]
        self._llrp_expected[reader_id] += 1
        expected = self._llrp_expected[reader_id]
        peer.release_through(expected - 1)
        patience = time.monotonic() + REQUEST_PATIENCE_S
        _wait_for(
            lambda: (
                driver.messages_received >= expected
                or (time.monotonic() > patience and peer.awaiting_request(expected - 1))
            ),
            f"LLRP reader {reader_id} did not take the message at t={record.t_ms}",
        )
        if driver.messages_received < expected:
            self._llrp_held.add(reader_id)

    def _feed_mqtt(self, record: MqttMessage) -> None:
        inputs = self.runtime.store_inputs
        if record.topic in (inputs.sales_topic, inputs.ack_topic):
            self._feed_store_input(record)
            return
        reader_id = self._route(record.topic)
        if reader_id is None:
            self.stats.unrouted_messages += 1
            return
        self.stats.mqtt_messages += 1
        driver = self.runtime.mqtt_drivers[reader_id]
        self._mqtt_expected[reader_id] += 1
        expected = self._mqtt_expected[reader_id]
        self.runtime.connection.publish(f"{self._namespace}/{record.topic}", record.payload, qos=1)
        _wait_for(
            lambda: driver.messages_received >= expected,
            f"MQTT reader {reader_id} did not receive the message at t={record.t_ms}",
            driver.wait_until,
        )

    def _feed_store_input(self, record: MqttMessage) -> None:
        """A till's sale or a handheld's acknowledgement, recorded on the store's own topics."""
        inputs = self.runtime.store_inputs
        self.stats.mqtt_messages += 1
        self._inputs_expected += 1
        expected = self._inputs_expected
        self.runtime.connection.publish(record.topic, record.payload, qos=1)
        _wait_for(
            lambda: inputs.handled >= expected,
            f"the store did not take the message on {record.topic} at t={record.t_ms}",
        )


def _wait_for(
    condition: Callable[[], bool],
    failure: str,
    wait_until: Callable[[Callable[[], bool], float], bool] | None = None,
) -> None:
    """Return once ``condition()`` holds: woken by the driver's ``wait_until`` where it has one
    (it signals every change), else by polling; ReplayError after CONSUME_TIMEOUT_S."""
    if condition():
        return
    if wait_until is not None:
        if not wait_until(condition, CONSUME_TIMEOUT_S):
            raise ReplayError(failure)
        return
    deadline = time.monotonic() + CONSUME_TIMEOUT_S
    delay = 0.00005
    while not condition():
        if time.monotonic() > deadline:
            raise ReplayError(failure)
        time.sleep(delay)
        delay = min(delay * 2, 0.002)


def print_progress(records: int, capture_ms: int) -> None:
    print(f"replay: {records} records, {capture_ms / 1000:.0f} s of capture", file=sys.stderr)
