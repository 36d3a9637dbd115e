"""The edge bounds request bodies before buffering them (issue 11, area 3), through a real
``o2o-edge run`` process: a 500 MB chunked body to ``/api/v1/devices/pair`` (no token needed)
and a huge Content-Length are refused with 413, memory barely grows, and the refusals are
counted in /metrics."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.body_probe import rss_bytes, send_chunked, send_declared
from tests.conftest import MQTT_HOST, MQTT_PORT, REPO_ROOT, cli_env
from tests.hq.helpers import free_port

LIMIT = 256 * 1024
UPLOAD_LIMIT = 8 * 1024 * 1024
HUGE = 500 * 1024 * 1024


@dataclass
class EdgeProcess:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeProcess]:
    root = tmp_path_factory.mktemp("edge-body")
    port = free_port()
    config = {
        "store_id": f"body-{uuid.uuid4().hex[:8]}",
        "data_dir": str(root / "data"),
        "mqtt": {"host": MQTT_HOST, "port": MQTT_PORT},
        "zones": [{"id": "shelf-a", "kind": "shelf"}],
        "api": {
            "host": "127.0.0.1",
            "port": port,
            "max_body_bytes": LIMIT,
            "max_upload_bytes": UPLOAD_LIMIT,
        },
    }
    path = root / "STORE.yaml"
    path.write_text(yaml.safe_dump(config))
    log_path = root / "edge.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "run", "--config", str(path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=cli_env(),
            cwd=REPO_ROOT,
        )
    server = EdgeProcess(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(server.base_url + "/healthz", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _refused_413(server: EdgeProcess) -> float:
    text = httpx.get(server.base_url + "/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.labels.get("source") == "http"
        and "413" in sample.labels.values()
        and not sample.name.endswith("_created")
    )


def test_a_chunked_500_mb_body_is_refused_without_buffering(edge: EdgeProcess) -> None:
    counted_before = _refused_413(edge)
    before = rss_bytes(edge.process.pid)

    status, sent = send_chunked(edge.base_url, "/api/v1/devices/pair", HUGE)

    grown = rss_bytes(edge.process.pid) - before
    assert status == 413
    assert sent < HUGE // 2, f"the edge read {sent} bytes before answering"
    assert grown < 20 * 1024 * 1024, f"RSS grew by {grown / 1e6:.0f} MB"
    assert _refused_413(edge) == counted_before + 1


def test_a_content_length_over_the_limit_is_refused_at_once(edge: EdgeProcess) -> None:
    counted_before = _refused_413(edge)
    before = rss_bytes(edge.process.pid)
    status, elapsed_s = send_declared(edge.base_url, "/api/v1/devices/pair", HUGE)
    assert status == 413
    assert elapsed_s < 5
    assert rss_bytes(edge.process.pid) - before < 20 * 1024 * 1024
    assert _refused_413(edge) == counted_before + 1


def test_photo_uploads_have_their_own_larger_limit(edge: EdgeProcess) -> None:
    # Over the general limit but under the upload limit: the route answers (401, no token);
    # over the upload limit: 413.
    status, _ = send_declared(edge.base_url, "/api/v1/members/m-1/faces", LIMIT * 4)
    assert status != 413
    status, _ = send_declared(edge.base_url, "/api/v1/members/m-1/faces", UPLOAD_LIMIT * 2)
    assert status == 413


def test_a_small_body_still_reaches_the_route(edge: EdgeProcess) -> None:
    response = httpx.post(edge.base_url + "/api/v1/devices/pair", json={}, timeout=10)
    assert response.status_code not in (413, 500), response.text


@pytest.mark.parametrize("token", [None, "not-a-token"], ids=["no-token", "wrong-token"])
def test_a_route_that_needs_a_token_answers_401_before_reading_the_body(
    edge: EdgeProcess, token: str | None
) -> None:
    # 6 MB, within the upload limit: without authentication first, all of it would be read.
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = 6 * 1024 * 1024
    multipart = "multipart/form-data; boundary=o2o"  # what a photo upload sends
    status, sent = send_chunked(
        edge.base_url, "/api/v1/members/m-1/faces", body, headers, content_type=multipart
    )
    assert status == 401
    # Read first, the answer could only come after the last byte: it came before.
    assert sent < body, "the edge answered 401 only after the whole body"
