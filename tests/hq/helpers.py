"""Builders shared by the HQ tests: signed store requests, wire events, o2o-hq processes."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

# Registers the event classes that `event` validates against (visits, try-ons, sales, tags).
import edge.events.fusion
import edge.events.rfid
import edge.events.vision  # noqa: F401
from cloud_sync import protocol
from cloud_sync.hq.core.config import Settings
from edge.events.base import EventIdGenerator, parse_event
from tests.conftest import REPO_ROOT, cli_env

ADMIN_TOKEN = "test-admin-token"
SECRET_KEY = Fernet.generate_key().decode()
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "admin_token": ADMIN_TOKEN,
        "secret_key": SECRET_KEY,
        "rate_limit_requests": 100_000,
        "background_interval_s": 0.2,
        "notify_retry_base_s": 0.2,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass(frozen=True)
class StoreCreds:
    store_id: str
    key_id: str
    secret: str


def create_store(
    http: TestClient | httpx.Client, store_id: str, lat: float = 31.23, lon: float = 121.47
) -> StoreCreds:
    response = http.post(
        "/api/v1/admin/stores",
        headers=ADMIN,
        json={"id": store_id, "name": f"Store {store_id}", "latitude": lat, "longitude": lon},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return StoreCreds(store_id, body["key_id"], body["secret"])


def signed(
    creds: StoreCreds,
    method: str,
    path: str,
    body: bytes = b"",
    ts: int | None = None,
    secret: str | None = None,
) -> dict[str, str]:
    timestamp = int(time.time()) if ts is None else ts
    return {
        protocol.HEADER_KEY_ID: creds.key_id,
        protocol.HEADER_TIMESTAMP: str(timestamp),
        protocol.HEADER_SIGNATURE: protocol.sign(
            secret or creds.secret, timestamp, method, path, body
        ),
    }


def post_events(
    http: TestClient | httpx.Client, creds: StoreCreds, events: list[dict[str, Any]], **kw: Any
) -> httpx.Response:
    body = gzip.compress(json.dumps({"events": events}).encode())
    path = protocol.EVENTS_PATH.format(store_id=creds.store_id)
    headers = {
        **signed(creds, "POST", path, body, **kw),
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
    }
    return http.post(path, content=body, headers=headers)


def signed_get(
    http: TestClient | httpx.Client, creds: StoreCreds, path: str, **headers: str
) -> httpx.Response:
    return http.get(path, headers={**signed(creds, "GET", path), **headers})


_ids = EventIdGenerator()


def event(
    store_id: str, type_: str, payload: dict[str, Any], ts_ms: int | None = None
) -> dict[str, Any]:
    """A wire event, checked against its registered class (the edge's own schema)."""
    ts_ms = ts_ms if ts_ms is not None else int(time.time() * 1000)
    ts = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    wire = {
        "schema_version": 1,
        "type": type_,
        "event_id": _ids.new_id(ts_ms),
        "store_id": store_id,
        "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_ms % 1000:03d}Z",
        "source": "test",
        "payload": payload,
    }
    return parse_event(wire).model_dump(mode="json")


def tag_event(store_id: str, n: int, type_: str = "tag.arrived", **extra: Any) -> dict[str, Any]:
    return event(
        store_id,
        type_,
        {
            "epc": f"30340242201D8840000000{n:02X}"[-24:],
            "gtin": "00614141000012",
            "zone": "shelf-1",
            "zone_kind": "shelf",
            "reader_id": "dock-1",
            "antenna": 1,
            "rssi_dbm": -52.5,
            **extra,
        },
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class HqProcess:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path


def start_hq(
    database_url: str | None,
    log_path: Path,
    *extra: str,
    cwd: Path = REPO_ROOT,
    with_secrets: bool = True,
    extra_env: dict[str, str] | None = None,
) -> HqProcess:
    """``o2o-hq run`` as a user starts it; without a URL or secrets, the zero-setup demo."""
    port = free_port()
    run_env = {k: v for k, v in cli_env().items() if not k.startswith("O2O_HQ_")}
    if with_secrets:
        run_env |= {"O2O_HQ_ADMIN_TOKEN": ADMIN_TOKEN, "O2O_HQ_SECRET_KEY": SECRET_KEY}
    run_env |= extra_env or {}
    url_args = ["--database-url", database_url] if database_url else []
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cloud_sync.hq.cli",
            "run",
            *url_args,
            "--port",
            str(port),
            "--log-level",
            "warning",
            *extra,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=run_env,
        cwd=cwd,
    )
    return HqProcess(f"http://127.0.0.1:{port}", process, log_path)


def wait_ready(hq: HqProcess, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if hq.process.poll() is not None:
            raise AssertionError(f"o2o-hq exited: {hq.log_path.read_text()}")
        try:
            if httpx.get(hq.base_url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"o2o-hq not ready: {hq.log_path.read_text()}")


def stop_hq(hq: HqProcess) -> None:
    hq.process.terminate()
    try:
        hq.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        hq.process.kill()
        hq.process.wait()
