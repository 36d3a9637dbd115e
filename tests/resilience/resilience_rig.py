"""The pieces the resilience tests crash and restart: a private Mosquitto, a real
``o2o-edge run`` process, a Zebra reader publishing tag data, a watcher of the store's status
topics, and the edge's outbox read from outside."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from cloud_sync.client.service import OUTBOX_FILE
from edge.bench.sync import HqProcess, StoreCredentials, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET_ENV = "O2O_TEST_HQ_SECRET"


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.1)


class Mosquitto:
    """A broker of the test's own on a free port; SIGKILL and restart it on the same port
    (the machine's shared broker on 1883 is never touched)."""

    def __init__(self, workdir: Path, *, persistence: bool = False) -> None:
        self.port = free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true"]
        if persistence:
            lines += ["persistence true", f"persistence_location {workdir}/"]
        self.config_path = workdir / "mosquitto.conf"
        self.config_path.write_text("\n".join(lines) + "\n")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 10.0) -> None:
        with (self.workdir / "mosquitto.log").open("ab") as log:
            self._process = subprocess.Popen(
                ["mosquitto", "-c", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._listening, timeout_s, f"mosquitto on port {self.port}")

    def _listening(self) -> bool:
        import socket

        assert self._process is not None
        if self._process.poll() is not None:
            raise RuntimeError(f"mosquitto exited {self._process.returncode}: {self.log()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def log(self) -> str:
        return (self.workdir / "mosquitto.log").read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        """A crash: SIGKILL, no goodbye to any client."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(10)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def store_config(
    path: Path,
    store: StoreCredentials,
    broker_port: int,
    hq_url: str,
    reader_topic: str,
) -> Path:
    """STORE.yaml of a one-zone store with one Zebra reader; every new tag arrives at once,
    and the uploader retries quickly, so that the tests run in seconds."""
    config: dict[str, Any] = {
        "store_id": store.store_id,
        "data_dir": str(path.parent / "data"),
        "log_level": "INFO",
        "mqtt": {"host": "127.0.0.1", "port": broker_port, "keepalive_s": 5},
        "zones": [{"id": "shelf-a", "kind": "shelf", "name": "Shelf A"}],
        "readers": [
            {
                "id": "zebra-1",
                "kind": "zebra_mqtt",
                "topic": reader_topic,
                "antennas": {1: "shelf-a"},
            }
        ],
        "tracker": {"arrival_settle_s": 0, "min_reads_for_zone": 1},
        "sync": {
            "enabled": True,
            "hq_url": hq_url,
            "api_key_id": store.key_id,
            "api_secret": "${" + SECRET_ENV + "}",
            "timeout_s": 5,
            "max_batch_age_s": 0.2,
            "retry_base_s": 0.2,
            "retry_max_s": 1.0,
        },
        "api": {"enabled": False},
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class EdgeProcess:
    """``o2o-edge run --config STORE.yaml`` as a user starts it (new process each ``start``)."""

    def __init__(self, config_path: Path, secret: str) -> None:
        self.config_path = config_path
        self.log_path = config_path.parent / "edge.log"
        self._env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            SECRET_ENV: secret,
        }
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "edge.cli", "run", "--config", str(self.config_path)],
                cwd=REPO_ROOT,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """A crash (power cut, OOM killer): SIGKILL, nothing flushed, no goodbye."""
        if self.alive():
            assert self._process is not None
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(10)

    def stop(self) -> int | None:
        """SIGTERM (systemd's stop) and wait; the exit code, None when it had to be killed."""
        if not self.alive():
            return self._process.returncode if self._process is not None else None
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        try:
            return self._process.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()
            return None


@dataclass(frozen=True, slots=True)
class StatusMessage:
    component: str
    state: str
    payload: dict[str, Any]
    received_s: float
    """``time.monotonic()`` when the watcher got it."""


class StoreWatcher:
    """A reader and an observer on the private broker: publishes Zebra tag data and records
    the store's status, event and alert messages. It reconnects (and re-subscribes) on its own
    after a broker restart, quickly, like a real reader would."""

    def __init__(self, broker_port: int, store_id: str, reader_topic: str) -> None:
        self.store_id = store_id
        self.reader_topic = reader_topic
        self._filters = [f"o2o/{store_id}/{kind}/#" for kind in ("status", "events", "alerts")]
        self._lock = threading.Lock()
        self._statuses: list[StatusMessage] = []
        self._event_ids: set[str] = set()
        self._connected = threading.Event()
        client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"resilience-watcher-{store_id}",
            protocol=paho.MQTTv311,
            clean_session=True,
        )
        client.reconnect_delay_set(min_delay=0.1, max_delay=0.5)  # type: ignore[arg-type]
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client
        client.connect_async("127.0.0.1", broker_port, keepalive=5)
        client.loop_start()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def wait_connected(self, timeout_s: float = 10.0) -> None:
        if not self._connected.wait(timeout_s):
            raise AssertionError("the test's MQTT client could not reach the private broker")

    def _on_connect(self, client: paho.Client, *_args: Any) -> None:
        client.subscribe([(topic_filter, 1) for topic_filter in self._filters])
        self._connected.set()

    def _on_disconnect(self, *_args: Any) -> None:
        self._connected.clear()

    def _on_message(self, _client: paho.Client, _userdata: Any, message: Any) -> None:
        _prefix, _store, kind, leaf = message.topic.split("/", 3)
        try:
            payload = json.loads(message.payload)
        except ValueError:
            return
        if not isinstance(payload, dict):
            return
        with self._lock:
            if kind == "status":
                status = StatusMessage(
                    leaf, str(payload.get("state", "")), payload, time.monotonic()
                )
                self._statuses.append(status)
            elif "event_id" in payload:
                self._event_ids.add(str(payload["event_id"]))

    def event_ids(self) -> set[str]:
        """Every event the edge published on ``events/#`` and ``alerts/#``: each one was
        acknowledged to the world, so each one must reach HQ."""
        with self._lock:
            return set(self._event_ids)

    def statuses(self, component: str, *, since_s: float = 0.0) -> list[StatusMessage]:
        with self._lock:
            return [
                s for s in self._statuses if s.component == component and s.received_s >= since_s
            ]

    def wait_state(self, component: str, state: str, *, since_s: float, timeout_s: float) -> None:
        wait_until(
            lambda: any(s.state == state for s in self.statuses(component, since_s=since_s)),
            timeout_s,
            f"status/{component} = {state!r}",
        )

    def publish_reads(self, epcs: list[str]) -> None:
        """One IoT Connector message per tag, as the reader would send it (QoS 1)."""
        for epc in epcs:
            self._client.publish(self.reader_topic, zebra_message(epc), qos=1)


def zebra_message(epc: str) -> str:
    now = datetime.now(UTC)
    return json.dumps(
        {
            "data": {"antenna": 1, "format": "epc", "idHex": epc, "peakRssi": -52, "reads": 1},
            "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000",
            "type": "INVENTORY",
        }
    )


def epc_at(block: int, n: int) -> str:
    """The ``n``-th 96-bit EPC (hex) of a block: blocks never overlap."""
    return f"3074257BF7194E40{block:02X}{n:06X}"


def epcs(block: int, n: int) -> list[str]:
    return [epc_at(block, i) for i in range(n)]


class ReadStream:
    """Publishes one new tag every ``interval_s`` from a background thread until stopped:
    the store keeps selling while things crash around it."""

    def __init__(self, watcher: StoreWatcher, block: int, interval_s: float = 0.02) -> None:
        self._watcher = watcher
        self._block = block
        self._interval_s = interval_s
        self._stop = threading.Event()
        self.published: list[str] = []
        self._published_s: list[float] = []
        self._thread = threading.Thread(target=self._run, name="read-stream", daemon=True)

    def __enter__(self) -> ReadStream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        n = 0
        while not self._stop.wait(self._interval_s):
            epc = epc_at(self._block, n)
            self._published_s.append(time.monotonic())
            self._watcher.publish_reads([epc])
            self.published.append(epc)
            n += 1

    def published_since(self, since_s: float) -> list[str]:
        """Tags published at or after ``time.monotonic()`` ``since_s``."""
        return [
            epc
            for epc, at_s in zip(self.published, self._published_s, strict=True)
            if at_s >= since_s
        ]


@dataclass(frozen=True, slots=True)
class OutboxRows:
    """What the outbox holds: every committed event id, those not yet delivered, the tags
    whose ``tag.arrived`` is among them, and the events HQ refused for good."""

    event_ids: list[str]
    pending_ids: set[str]
    arrived_epcs: set[str]
    dead_letters: int

    @property
    def pending(self) -> int:
        return len(self.pending_ids)


def read_outbox(config_path: Path) -> OutboxRows:
    """The edge's outbox as a second reader sees it (WAL: never blocks the edge's writes)."""
    path = config_path.parent / "data" / OUTBOX_FILE
    if not path.is_file():
        return OutboxRows([], 0, set(), 0)
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        db.execute("PRAGMA busy_timeout=5000")
        rows = db.execute("SELECT event_id, type, body, state FROM outbox").fetchall()
        (dead,) = db.execute("SELECT count(*) FROM dead_letter").fetchone()
    arrived = {
        json.loads(body)["payload"]["epc"]
        for _id, kind, body, _state in rows
        if kind == "tag.arrived"
    }
    pending = {str(r[0]) for r in rows if r[3] == 0}
    return OutboxRows([str(r[0]) for r in rows], pending, arrived, int(dead))


@dataclass
class Store:
    """One test's whole store: HQ on its own database, broker, edge, reader/watcher."""

    hq: HqProcess
    database_url: str
    credentials: StoreCredentials
    broker: Mosquitto
    edge: EdgeProcess
    watcher: StoreWatcher
    config_path: Path

    @property
    def store_id(self) -> str:
        return self.credentials.store_id
