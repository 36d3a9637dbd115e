"""HQ bounds request bodies before buffering them (issue 11, area 3), through a real
``o2o-hq run`` process: a 500 MB chunked body and a huge Content-Length are refused with 413,
and the server's memory grows by far less than the body."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cloud_sync import protocol
from tests.body_probe import rss_bytes, send_chunked, send_declared
from tests.hq.helpers import (
    ADMIN,
    HqProcess,
    StoreCreds,
    create_store,
    signed,
    start_hq,
    stop_hq,
    wait_ready,
)

LIMIT = 4 * 1024 * 1024
HUGE = 500 * 1024 * 1024


@pytest.fixture(scope="module")
def small_hq(hq_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HqProcess]:
    log = tmp_path_factory.mktemp("hq-body") / "hq.log"
    server = start_hq(hq_database_url, log, extra_env={"O2O_HQ_MAX_BODY_BYTES": str(LIMIT)})
    try:
        wait_ready(server)
        yield server
    finally:
        stop_hq(server)


@pytest.fixture(scope="module")
def creds(small_hq: HqProcess) -> StoreCreds:
    with httpx.Client(base_url=small_hq.base_url, timeout=30) as http:
        return create_store(http, f"body-{uuid.uuid4().hex[:8]}")


def _events_headers(creds: StoreCreds) -> tuple[str, dict[str, str]]:
    path = protocol.EVENTS_PATH.format(store_id=creds.store_id)
    # A valid key id and a fresh timestamp, so that HQ gets as far as reading the body; the
    # signature cannot match a body that is never complete.
    return path, signed(creds, "POST", path, b"{}")


def test_a_chunked_500_mb_batch_is_refused_without_buffering(
    small_hq: HqProcess, creds: StoreCreds
) -> None:
    path, headers = _events_headers(creds)
    before = rss_bytes(small_hq.process.pid)

    status, sent = send_chunked(small_hq.base_url, path, HUGE, headers)

    grown = rss_bytes(small_hq.process.pid) - before
    assert status == 413
    assert sent < HUGE // 2, f"the server read {sent} bytes before answering"
    assert grown < LIMIT + 50 * 1024 * 1024, f"RSS grew by {grown / 1e6:.0f} MB"


def test_a_content_length_over_the_limit_is_refused_at_once(
    small_hq: HqProcess, creds: StoreCreds
) -> None:
    path, headers = _events_headers(creds)
    counted = _refused(small_hq, "413")
    status, elapsed_s = send_declared(small_hq.base_url, path, HUGE, headers)
    assert status == 413
    assert elapsed_s < 5
    assert _refused(small_hq, "413") == counted + 1  # visible in /metrics


def _refused(server: HqProcess, status: str) -> float:
    """o2o_hq_requests_refused for ``status``, summed over routes, from /metrics."""
    text = httpx.get(server.base_url + "/metrics", headers=ADMIN, timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "o2o_hq_requests_refused_total" and sample.labels["status"] == status
    )


def test_an_unknown_key_is_refused_before_the_body_is_read(small_hq: HqProcess) -> None:
    path = protocol.EVENTS_PATH.format(store_id="nobody")
    headers = {
        protocol.HEADER_KEY_ID: "no-such-key",
        protocol.HEADER_TIMESTAMP: "0",
        protocol.HEADER_SIGNATURE: "0" * 64,
    }
    status, sent = send_chunked(small_hq.base_url, path, HUGE, headers)
    assert status == 401
    assert sent < HUGE // 2


def test_a_body_within_the_limit_still_goes_through(small_hq: HqProcess, creds: StoreCreds) -> None:
    with httpx.Client(base_url=small_hq.base_url, timeout=30) as http:
        body = b'{"events": []}'
        path = protocol.EVENTS_PATH.format(store_id=creds.store_id)
        response = http.post(
            path,
            content=body,
            headers={**signed(creds, "POST", path, body), "Content-Type": "application/json"},
        )
    assert response.status_code < 300, response.text


def test_the_model_upload_route_keeps_its_larger_limit(small_hq: HqProcess) -> None:
    # Over the general limit, under the model limit: not refused by the body limit (401: no
    # token), while the same size elsewhere is.
    status, _elapsed = send_declared(small_hq.base_url, "/api/v1/models", LIMIT * 2)
    assert status != 413
    status, _elapsed = send_declared(small_hq.base_url, "/api/v1/admin/stores", LIMIT * 2)
    assert status == 413


@pytest.mark.parametrize("token", [None, "not-a-token"], ids=["no-token", "wrong-token"])
def test_a_route_that_needs_a_token_answers_401_before_reading_the_body(
    small_hq: HqProcess, token: str | None
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = LIMIT - 256 * 1024  # within the limit: without authentication first, all read
    status, sent = send_chunked(small_hq.base_url, "/api/v1/members", body, headers)
    assert status == 401
    # Read first, the answer could only come after the last byte: it came before.
    assert sent < body, "HQ answered 401 only after the whole body"
