"""Member notifications through a real local HTTP endpoint: consent, retries, delivery log,
signed generic webhook and the WeChat template-message shape."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloud_sync import protocol
from cloud_sync.hq.app import create_app
from cloud_sync.hq.notify import WeChatAdapter
from tests.hq.helpers import ADMIN, create_store, event, make_settings, post_events

pytestmark = pytest.mark.network


class Receiver:
    """A tiny HTTP server that fails the first ``fail_first`` requests with 500."""

    def __init__(self, fail_first: int, answer: dict[str, Any]) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((self.path, dict(self.headers), body))
                failing = len(receiver.requests) <= fail_first
                payload = json.dumps(answer).encode()
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(fail_first=1, answer={"errcode": 0, "errmsg": "ok"})
    yield server
    server.close()


def purchase(store_id: str, member_id: str) -> dict[str, Any]:
    return event(
        store_id,
        "sale",
        {
            "sale_id": f"S-{uuid.uuid4().hex[:8]}",
            "till_id": "t1",
            "currency": "CNY",
            "total": 88.0,
            "member_id": member_id,
            "lines": [{"gtin": "04000000000017", "quantity": 1, "amount": 88.0}],
        },
    )


def wait_for(
    client: TestClient, member_id: str, statuses: set[str], count: int
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        rows = client.get(
            "/api/v1/reports/notifications", headers=ADMIN, params={"member_id": member_id}
        ).json()["notifications"]
        if len(rows) == count and all(r["status"] in statuses for r in rows):
            return list(rows)
        time.sleep(0.1)
    raise AssertionError(f"notifications not settled: {rows}")


def member(client: TestClient, marketing: bool, openid: str | None = None) -> str:
    identities = [{"channel": "wechat_openid", "value": openid}] if openid else []
    member_id = str(
        client.post("/api/v1/members", headers=ADMIN, json={"identities": identities}).json()["id"]
    )
    if marketing:
        client.post(
            f"/api/v1/members/{member_id}/consents",
            headers=ADMIN,
            json={"scope": "marketing", "given": True, "source": "app"},
        )
    return member_id


def test_webhook_signed_retried_and_logged(
    hq_database_url: str, receiver: Receiver, store_id: str
) -> None:
    settings = make_settings(
        hq_database_url,
        notify_channel="webhook",
        webhook_url=receiver.url + "/hooks/o2o",
        webhook_secret="hook-secret",
    )
    with TestClient(create_app(settings)) as client:
        creds = create_store(client, store_id)
        consented, silent = member(client, True), member(client, False)
        result = post_events(
            client, creds, [purchase(store_id, consented), purchase(store_id, silent)]
        )
        assert result.json()["stored"] == 2
        wait_for(client, consented, {"delivered"}, 2)
        # A manual points change notifies too.
        client.post(
            f"/api/v1/members/{consented}/points",
            headers=ADMIN,
            json={"delta": 10, "cause": "campaign", "ref": "spring"},
        )
        rows = wait_for(client, consented, {"delivered"}, 3)
    assert sorted(r["kind"] for r in rows) == ["points", "points", "purchase"]
    retried = [r for r in rows if r["attempts"] == 2]
    assert len(retried) == 1  # the receiver failed exactly one request
    assert [(a["ok"], a["status_code"]) for a in retried[0]["log"]] == [(False, 500), (True, 200)]
    assert (
        client.get(
            "/api/v1/reports/notifications", headers=ADMIN, params={"member_id": silent}
        ).json()["notifications"]
        == []
    )
    path, headers, body = receiver.requests[-1]
    assert path == "/hooks/o2o"
    ts = int(headers[protocol.HEADER_TIMESTAMP])
    assert protocol.signature_valid(
        "hook-secret", ts, "POST", "/hooks/o2o", body, headers[protocol.HEADER_SIGNATURE]
    )
    assert json.loads(body)["member_id"] == consented


def test_wechat_template_message(hq_database_url: str, receiver: Receiver, store_id: str) -> None:
    openid = f"oWx{uuid.uuid4().hex[:12]}"
    settings = make_settings(
        hq_database_url,
        notify_channel="wechat",
        wechat_api_base=receiver.url,
        wechat_access_token="AT123",
        wechat_template_purchase="tpl-buy",
        wechat_template_points="tpl-pts",
    )
    with TestClient(create_app(settings)) as client:
        creds = create_store(client, store_id)
        with_openid, without = member(client, True, openid), member(client, True)
        post_events(client, creds, [purchase(store_id, with_openid), purchase(store_id, without)])
        delivered = wait_for(client, with_openid, {"delivered"}, 2)
        failed = wait_for(client, without, {"failed"}, 2)
    assert all(r["status"] == "delivered" for r in delivered)
    assert failed[0]["last_error"] == "no wechat_openid or template id"
    sent = [
        json.loads(body)
        for path, _, body in receiver.requests
        if path == "/cgi-bin/message/template/send?access_token=AT123"
    ]
    buy = next(m for m in sent if m["template_id"] == "tpl-buy")
    assert buy["touser"] == openid
    assert buy["data"]["keyword2"] == {"value": "88.0 CNY"}
    assert set(buy["data"]) == {"first", "keyword1", "keyword2", "keyword3", "remark"}


def test_wechat_fields_for_points() -> None:
    fields = WeChatAdapter.fields("points", {"delta": -12, "cause": "sale_return", "sale_id": "S1"})
    assert fields["keyword1"] == {"value": "-12"}
    assert all(set(v) == {"value"} for v in fields.values())
