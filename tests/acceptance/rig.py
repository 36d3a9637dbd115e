"""What a store looks like from outside: the shipped processes (``o2o-edge run``, ``o2o-hq
run``) and the devices around them, talking only through the edge's external interfaces — a
serial port, the MQTT broker, HTTP, the WebSocket, the command line."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
from websockets.sync.client import ClientConnection, connect

from tests.conftest import REPO_ROOT, cli_env

TIMEOUT_S = 20.0


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- reader bytes and payloads, built from the vendors' formats -------------------------


def r2000_tag_frame(address: int, antenna: int, epc_hex: str, rssi_raw: int) -> bytes:
    """A real-time inventory (cmd 0x89) tag reply of the UHF RFID reader serial interface
    protocol (R2000 modules): Head 0xA0, Len (bytes after Len), Address, Cmd, FreqAnt (high
    six bits: frequency point, low two: antenna - 1), PC (2 bytes: EPC length in words in
    bits 15..11), EPC, RSSI, Check = two's complement of the sum of every byte before it."""
    epc = bytes.fromhex(epc_hex)
    pc = (len(epc) // 2) << 11
    body = bytes([address, 0x89, (7 << 2) | (antenna - 1)]) + pc.to_bytes(2, "big")
    body += epc + bytes([rssi_raw])
    frame = bytes([0xA0, len(body) + 1]) + body
    return frame + bytes([(-sum(frame)) & 0xFF])


def zebra_event(epc_hex: str, antenna: int, rssi_dbm: int) -> bytes:
    """A Zebra IoT Connector tag data event in SIMPLE mode (antenna and peakRssi metadata on)."""
    return json.dumps(
        {
            "data": {"antenna": antenna, "format": "epc", "idHex": epc_hex, "peakRssi": rssi_dbm},
            "timestamp": now_iso(),
            "type": "SIMPLE",
        }
    ).encode()


def impinj_event(epc_hex: str, antenna: int, rssi_dbm: int) -> bytes:
    """An Impinj R700 IoT device interface tagInventory event (RSSI in centi-dBm)."""
    return json.dumps(
        {
            "timestamp": now_iso(),
            "hostname": "impinj-acceptance",
            "eventType": "tagInventory",
            "tagInventoryEvent": {
                "epcHex": epc_hex,
                "antennaPort": antenna,
                "peakRssiCdbm": rssi_dbm * 100,
            },
        }
    ).encode()


# --- the processes --------------------------------------------------------------------------


class EdgeRun:
    """``o2o-edge run --config STORE.yaml`` in a process group of its own."""

    def __init__(self, config_path: Path, env: dict[str, str]) -> None:
        self.config_path = config_path
        self.env = {**cli_env(), **env}
        self.log_path = config_path.parent / "edge.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "edge.cli", "run", "--config", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=REPO_ROOT,
                start_new_session=True,
            )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Another ``o2o-edge`` command against the same store (the operator's shell)."""
        return subprocess.run(
            [sys.executable, "-m", "edge.cli", *args, "--config", str(self.config_path)],
            capture_output=True,
            text=True,
            timeout=120,
            env=self.env,
            cwd=REPO_ROOT,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self) -> int | None:
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.terminate()  # as `kill PID` or systemd's stop: the edge stops its workers
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything left behind must not outlive us
        return process.returncode


# --- the devices ----------------------------------------------------------------------------


class Broker:
    """A client of the store's broker: the readers and tills publish, a handheld listens."""

    def __init__(self, host: str, port: int, subscriptions: list[str]) -> None:
        self.messages: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        self._client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in subscriptions])
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_message = self._on_message
        self._client.connect(host, port)
        self._client.loop_start()
        assert self._subscribed.wait(10), "subscription to the store's topics failed"

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        try:
            body = json.loads(message.payload)
        except ValueError:
            return
        with self._lock:
            self.seen.append((message.topic, body))

    def publish(self, topic: str, payload: bytes) -> None:
        self._client.publish(topic, payload, qos=1).wait_for_publish(10)

    def events(self, predicate: Callable[[str, dict[str, Any]], bool]) -> list[dict[str, Any]]:
        with self._lock:
            return [body for topic, body in self.seen if predicate(topic, body)]

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


class Tablet:
    """A fitting-room tablet: the REST API with its token, live events on the WebSocket."""

    def __init__(self, base_url: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        ws_url = base_url.replace("http://", "ws://") + f"/api/v1/ws?token={token}"
        self._ws: ClientConnection = connect(ws_url, open_timeout=10)
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        hello = json.loads(self._ws.recv(10))
        assert hello["type"] == "hello", hello
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        try:
            for message in self._ws:
                with self._lock:
                    self.received.append(json.loads(message))
        except Exception:  # closed at the end of the test
            return

    def got(self, event_type: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.received if m.get("type") == event_type]

    def close(self) -> None:
        self._ws.close()
        self.http.close()
