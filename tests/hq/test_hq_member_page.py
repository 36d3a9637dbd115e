"""The members' own page, through HQ's HTTP app on PostgreSQL: one-time codes delivered by the
configured channel (a real local webhook receiver), sessions and CSRF, consents, the stores'
confirmations of a withdrawal, the data export and erasure."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

import edge.events.reservations
import edge.events.stock  # noqa: F401  (register the event types `event` checks)
from cloud_sync import protocol
from cloud_sync.hq.app import create_app
from tests.hq.helpers import (
    ADMIN,
    StoreCreds,
    create_store,
    event,
    make_settings,
    post_events,
    signed,
)
from tests.hq.test_hq_notify import Receiver

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def hooks() -> Iterator[Receiver]:
    server = Receiver(fail_first=0, answer={"ok": True})
    yield server
    server.close()


@pytest.fixture(scope="module")
def app(hq_database_url: str, hooks: Receiver) -> Iterator[TestClient]:
    settings = make_settings(
        hq_database_url,
        notify_channel="webhook",
        webhook_url=hooks.url + "/hooks/o2o",
        webhook_secret="hook-secret",
        personal_data_retention_days=0,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def new_member(app: TestClient, store: StoreCreds, phone: str) -> str:
    made = app.post(
        "/api/v1/members",
        headers=ADMIN,
        json={
            "name": "Lin Wei",
            "identities": [{"channel": "phone", "value": phone}],
            "home_store_id": store.store_id,
        },
    )
    assert made.status_code == 201, made.text
    member_id = str(made.json()["id"])
    consent = {"scope": "face_recognition", "given": True, "source": "store:tablet"}
    assert app.post(f"/api/v1/members/{member_id}/consents", headers=ADMIN, json=consent).is_success
    points = {"delta": 120, "cause": "welcome", "ref": "w1"}
    added = app.post(f"/api/v1/members/{member_id}/points", headers=ADMIN, json=points)
    assert added.status_code == 201, added.text
    return member_id


def code_for(hooks: Receiver, member_id: str, after: int) -> str:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for _path, _headers, body in hooks.requests[after:]:
            sent = json.loads(body)
            if sent["member_id"] == member_id and sent["kind"] == "login_code":
                return str(sent["data"]["code"])
        time.sleep(0.05)
    raise AssertionError("no login code was delivered")


def log_in(app: TestClient, hooks: Receiver, member_id: str, phone: str) -> dict[str, Any]:
    before = len(hooks.requests)
    asked = app.post("/api/v1/me/code", json={"channel": "phone", "value": phone})
    assert asked.status_code == 202, asked.text
    code = code_for(hooks, member_id, before)
    logged = app.post("/api/v1/me/login", json={"channel": "phone", "value": phone, "code": code})
    assert logged.status_code == 204, logged.text
    me = app.get("/api/v1/me")
    assert me.status_code == 200, me.text
    body: dict[str, Any] = me.json()
    return body


def test_a_member_logs_in_sees_and_changes_what_they_allow(
    app: TestClient, hooks: Receiver, store_id: str
) -> None:
    store = create_store(app, store_id)
    phone = f"+86138{uuid.uuid4().int % 10**8:08d}"
    member_id = new_member(app, store, phone)

    # A stranger's number gets the same answer, and nothing is sent.
    before = len(hooks.requests)
    stranger = app.post("/api/v1/me/code", json={"channel": "phone", "value": "+8613900000000"})
    assert (
        stranger.status_code == 202
        and stranger.json()
        == app.post("/api/v1/me/code", json={"channel": "phone", "value": "+8613900000001"}).json()
    )

    # Wrong codes are refused and counted; the right one, once.
    asked = app.post("/api/v1/me/code", json={"channel": "phone", "value": phone})
    assert asked.status_code == 202
    code = code_for(hooks, member_id, before)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    creds = {"channel": "phone", "value": phone}
    assert app.post("/api/v1/me/login", json=creds | {"code": wrong}).status_code == 401
    assert app.get("/api/v1/me").status_code == 401
    assert app.post("/api/v1/me/login", json=creds | {"code": code}).status_code == 204
    assert app.post("/api/v1/me/login", json=creds | {"code": code}).status_code == 401  # used
    me = app.get("/api/v1/me").json()
    assert (me["member_id"], me["name"], me["points"], me["tier"]) == (
        member_id,
        "Lin Wei",
        120,
        "standard",
    )
    assert me["home_store"] == {"id": store.store_id, "name": f"Store {store.store_id}"}
    assert (
        me["consents"]["face_recognition"]["given"] is True and me["consents"]["marketing"] is None
    )
    csrf = {"X-CSRF-Token": me["csrf_token"]}

    # Changes need the CSRF token.
    assert app.put("/api/v1/me/consents/marketing", json={"given": True}).status_code == 403
    given = app.put("/api/v1/me/consents/marketing", json={"given": True}, headers=csrf)
    assert given.status_code == 200 and given.json()["consents"]["marketing"]["given"] is True

    # Withdrawing face recognition: deleted at HQ now; each store confirms its next gallery.
    withdrawn = app.put("/api/v1/me/consents/face_recognition", json={"given": False}, headers=csrf)
    assert withdrawn.status_code == 200, withdrawn.text
    pending = {s["store_id"]: s for s in withdrawn.json()["face_withdrawal"]["stores"]}
    assert pending[store.store_id]["confirmed_at"] is None
    gallery = f"/api/v1/stores/{store.store_id}/gallery"
    version = app.get(gallery, headers=signed(store, "GET", gallery)).json()["version"]
    path = protocol.CONFIRMATIONS_PATH.format(store_id=store.store_id)
    body = json.dumps({"resource": "gallery", "version": int(version)}).encode()
    confirmed = app.post(path, content=body, headers=signed(store, "POST", path, body))
    assert confirmed.status_code == 204, confirmed.text
    stores = {s["store_id"]: s for s in app.get("/api/v1/me").json()["face_withdrawal"]["stores"]}
    assert stores[store.store_id]["confirmed_at"] is not None
    # A selfie needs the consent back first.
    refused = app.post("/api/v1/me/photos", content=b"\xff\xd8jpeg", headers=csrf)
    assert refused.status_code == 409

    # Everything HQ holds, as a download.
    export = app.get("/api/v1/me/export")
    assert export.status_code == 200
    assert "attachment" in export.headers["content-disposition"]
    data = export.json()
    assert [c["scope"] for c in data["consent_history"]] == [
        "face_recognition",
        "marketing",
        "face_recognition",
    ]
    assert data["points_ledger"][0]["delta"] == 120
    assert data["member"]["identities"] == [{"channel": "phone", "value": phone}]
    assert "login_code" not in json.dumps(data["notifications"])

    # Erasure on request ends the session.
    assert app.post("/api/v1/me/erase").status_code == 403  # no CSRF token
    erased = app.post("/api/v1/me/erase", headers=csrf)
    assert erased.status_code == 200, erased.text
    assert app.get("/api/v1/me").status_code == 401
    gone = app.post("/api/v1/me/code", json={"channel": "phone", "value": phone})
    assert gone.status_code == 202  # the number is no member's any more (purged)


def test_codes_expire_after_too_many_tries_and_are_throttled(
    app: TestClient, hooks: Receiver, store_id: str
) -> None:
    store = create_store(app, store_id)
    phone = f"+86137{uuid.uuid4().int % 10**8:08d}"
    member_id = new_member(app, store, phone)
    creds = {"channel": "phone", "value": phone}
    before = len(hooks.requests)
    app.post("/api/v1/me/code", json=creds)
    code = code_for(hooks, member_id, before)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        assert app.post("/api/v1/me/login", json=creds | {"code": wrong}).status_code == 401
    assert app.post("/api/v1/me/login", json=creds | {"code": code}).status_code == 401  # burnt
    # Three codes per quarter hour at most: the fourth request sends nothing.
    app.post("/api/v1/me/code", json=creds)
    app.post("/api/v1/me/code", json=creds)
    time.sleep(1.0)  # the delivery loop runs every 0.2 s
    sent = len(
        [b for _p, _h, b in hooks.requests[before:] if json.loads(b)["member_id"] == member_id]
    )
    app.post("/api/v1/me/code", json=creds)
    time.sleep(1.0)
    assert (
        len([b for _p, _h, b in hooks.requests[before:] if json.loads(b)["member_id"] == member_id])
        == sent
        == 3
    )
    for bad in ({"channel": "fax", "value": phone}, {"channel": "phone", "value": "+86\x00"}, {}):
        assert app.post("/api/v1/me/code", json=bad).status_code == 422


def test_a_reservation_ready_reaches_the_member_and_their_page_shows_the_check_in_code(
    app: TestClient, hooks: Receiver, store_id: str
) -> None:
    store = create_store(app, store_id)
    shirt = "00614141555012"
    product = {
        "gtin": shirt,
        "name": "Linen shirt",
        "category": "shirts",
        "size": "M",
        "colour": "white",
        "price": 45.0,
    }
    assert (
        app.put("/api/v1/catalog", headers=ADMIN, json={"products": [product]}).status_code == 204
    )
    snapshot = {
        "stream": "s1",
        "seq": 1,
        "part": 1,
        "parts": 1,
        "levels": [{"gtin": shirt, "floor": 1, "backroom": 0}],
    }
    assert post_events(app, store, [event(store.store_id, "stock.snapshot", snapshot)]).is_success
    phone = f"+86135{uuid.uuid4().int % 10**8:08d}"
    member_id = new_member(app, store, phone)
    marketing = {"scope": "marketing", "given": True, "source": "app"}
    app.post(f"/api/v1/members/{member_id}/consents", headers=ADMIN, json=marketing)
    start = datetime.now(UTC)
    made = app.post(
        "/api/v1/reservations",
        headers=ADMIN,
        json={
            "member_id": member_id,
            "store_id": store.store_id,
            "items": [{"gtin": shirt}],
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=2)).isoformat(),
        },
    )
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    before = len(hooks.requests)
    ready = {"reservation_id": rid, "member_id": member_id, "zone": "fitting-1", "epcs": ["E1"]}
    assert post_events(app, store, [event(store.store_id, "reservation.ready", ready)]).is_success
    deadline = time.monotonic() + 15
    told: list[dict[str, Any]] = []
    while not told and time.monotonic() < deadline:
        told = [
            json.loads(b)
            for _p, _h, b in hooks.requests[before:]
            if json.loads(b)["kind"] == "reservation_ready"
        ]
        time.sleep(0.05)
    assert told and told[0]["member_id"] == member_id and told[0]["data"]["reservation_id"] == rid

    me = log_in(app, hooks, member_id, phone)
    (shown,) = me["reservations"]
    assert shown["status"] == "ready" and shown["checkin_code"] == told[0]["data"]["checkin_code"]
    assert shown["qr"].startswith("data:image/svg+xml;base64,")
