"""The tablet, staff and dashboard API on a real edge core: authentication, zone isolation,
validation, privacy, and the size request -> acknowledgement round trip."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from edge.api.devices import DeviceRole
from edge.events.alerts import AlertKind
from tests.api.conftest import ADMIN_TOKEN, NAVY_M, Edge, auth

ROOM = "/api/v1/rooms/fitting-1"


def test_requests_without_a_valid_token_get_401(edge: Edge) -> None:
    for path in (ROOM, "/api/v1/alerts", "/api/v1/dashboard", "/api/v1/devices/me"):
        response = edge.client.get(path)
        assert response.status_code == 401, path
        assert response.json() == {"detail": "Not authenticated"}
        assert response.headers["WWW-Authenticate"] == "Bearer"
        response = edge.client.get(path, headers=auth("o2o_not-a-token"))
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid token"}
    response = edge.client.get(ROOM, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.json() == {"detail": "Not authenticated"}


def test_a_revoked_token_gets_401(edge: Edge) -> None:
    tablet = edge.add("tablet-1", DeviceRole.TABLET, "fitting-1")
    assert edge.client.get(ROOM, headers=auth(tablet)).status_code == 200
    edge.devices.revoke("tablet-1")
    response = edge.client.get(ROOM, headers=auth(tablet))
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token"}


def test_a_tablet_sees_only_its_own_zone(edge: Edge) -> None:
    tablet = edge.add("tablet-1", DeviceRole.TABLET, "fitting-1")
    other = edge.client.get("/api/v1/rooms/fitting-2", headers=auth(tablet))
    assert other.status_code == 403
    assert other.json() == {"detail": "Not allowed for this zone"}
    request = edge.client.post(
        "/api/v1/rooms/fitting-2/size-requests",
        headers=auth(tablet),
        json={"gtin": NAVY_M, "size": "L"},
    )
    assert request.status_code == 403
    for path in ("/api/v1/alerts", "/api/v1/dashboard"):
        response = edge.client.get(path, headers=auth(tablet))
        assert response.status_code == 403
        assert response.json() == {"detail": "Staff or admin token required"}
    zones = edge.client.get("/api/v1/zones", headers=auth(tablet)).json()
    assert [zone["id"] for zone in zones] == ["fitting-1"]
    assert edge.client.get("/api/v1/rooms/nowhere", headers=auth(tablet)).json() == {
        "detail": "Zone not found"
    }


def test_staff_and_the_admin_token_see_every_zone(edge: Edge) -> None:
    staff = edge.add("maria", DeviceRole.STAFF)
    for headers in (auth(staff), auth(ADMIN_TOKEN)):
        for zone in ("fitting-1", "fitting-2"):
            assert edge.client.get(f"/api/v1/rooms/{zone}", headers=headers).status_code == 200
        assert edge.client.get("/api/v1/dashboard", headers=headers).status_code == 200
    me = edge.client.get("/api/v1/devices/me", headers=auth(staff)).json()
    assert me == {"name": "maria", "role": "staff", "zone": None}


def test_a_pairing_code_gives_a_token_once(edge: Edge) -> None:
    new = edge.add("tablet-2", DeviceRole.TABLET, "fitting-2")
    typed = new.pairing_code.lower().replace("-", " ")
    paired = edge.client.post("/api/v1/devices/pair", json={"code": typed})
    assert paired.status_code == 200
    body = paired.json()
    assert body["device"] == {"name": "tablet-2", "role": "tablet", "zone": "fitting-2"}
    assert body["token"] != new.token
    room = edge.client.get("/api/v1/rooms/fitting-2", headers=auth(body["token"]))
    assert room.status_code == 200
    again = edge.client.post("/api/v1/devices/pair", json={"code": new.pairing_code})
    assert again.status_code == 400
    assert again.json() == {"detail": "Invalid or expired pairing code"}
    # The token printed by `devices add` keeps working beside the paired one.
    assert edge.client.get("/api/v1/rooms/fitting-2", headers=auth(new)).status_code == 200


def test_an_expired_pairing_code_is_refused(edge: Edge) -> None:
    new = edge.add("tablet-2", DeviceRole.TABLET, "fitting-2")
    edge.clock.set_ms(new.code_expires_ms + 1)
    response = edge.client.post("/api/v1/devices/pair", json={"code": new.pairing_code})
    assert response.status_code == 400


def test_guessing_pairing_codes_is_throttled(edge: Edge) -> None:
    new = edge.add("tablet-2", DeviceRole.TABLET, "fitting-2")
    for _ in range(10):
        wrong = edge.client.post("/api/v1/devices/pair", json={"code": "AAAA-AAAA"})
        assert wrong.status_code == 400
    blocked = edge.client.post("/api/v1/devices/pair", json={"code": new.pairing_code})
    assert blocked.status_code == 429
    assert blocked.json() == {"detail": "Too many pairing attempts; try again in a minute"}
    # Someone else's typos do not lock this shop's other tablets out: the throttle is per
    # client address.
    with TestClient(edge.client.app, client=("192.0.2.7", 50123)) as other:
        paired = other.post("/api/v1/devices/pair", json={"code": new.pairing_code})
    assert paired.status_code == 200, paired.text
    assert paired.json()["device"]["name"] == "tablet-2"


def test_the_room_shows_items_member_and_recommendations(stocked: Edge) -> None:
    tablet = stocked.add("tablet-1", DeviceRole.TABLET, "fitting-1")
    stocked.member_seen("m-ana", "fitting-1")
    response = stocked.client.get(ROOM, headers=auth(tablet))
    assert response.status_code == 200
    room = response.json()
    assert room["occupied"] is True
    assert room["zone_name"] == "Fitting room 1"
    assert room["member"] == {"first_name": "Ana", "tier": "gold"}
    names = [(item["name"], item["colour"], item["size"], item["price"]) for item in room["items"]]
    assert names == [
        ("Merino crew sweater", "navy", "M", 89.0),
        ("Merino crew sweater", "red", "M", 89.0),
    ]
    navy = room["items"][0]
    assert navy["sizes"][:4] == ["S", "M", "L", "XL"]
    assert navy["image"] == f"/static/catalog/{NAVY_M}.svg"
    assert room["recommendations"], "stock on the shelves: something to recommend"
    for rec in room["recommendations"]:
        for size in rec["sizes_in_stock"]:
            assert {place["where"] for place in size["places"]} <= {"floor", "backroom"}
    text = response.text
    assert "m-ana" not in text and "embedding" not in text


def test_an_unconsented_member_is_never_shown(stocked: Edge) -> None:
    staff = stocked.add("maria", DeviceRole.STAFF)
    stocked.member_seen("m-bob", "fitting-1")
    response = stocked.client.get(ROOM, headers=auth(staff))
    assert response.json()["member"] is None
    for path in (ROOM, "/api/v1/alerts", "/api/v1/dashboard"):
        text = stocked.client.get(path, headers=auth(staff)).text
        assert "Bob" not in text and "m-bob" not in text and "embedding" not in text, path


def test_size_request_then_acknowledgement(stocked: Edge) -> None:
    tablet = stocked.add("tablet-1", DeviceRole.TABLET, "fitting-1")
    staff = stocked.add("maria", DeviceRole.STAFF)
    created = stocked.client.post(
        f"{ROOM}/size-requests", headers=auth(tablet), json={"gtin": NAVY_M, "size": "L"}
    )
    assert created.status_code == 201
    request = created.json()
    assert request["state"] == "open"
    assert "Stock room" in request["text"]
    again = stocked.client.post(
        f"{ROOM}/size-requests", headers=auth(tablet), json={"gtin": NAVY_M, "size": "L"}
    )
    assert again.status_code == 201
    assert again.json()["alert_id"] == request["alert_id"]

    alerts = stocked.client.get(
        "/api/v1/alerts", params={"kind": "size_request", "zone": "fitting-1"}, headers=auth(staff)
    ).json()
    assert [a["alert_id"] for a in alerts] == [request["alert_id"]]
    assert (
        stocked.client.get(
            "/api/v1/alerts", params={"zone": "fitting-2"}, headers=auth(staff)
        ).json()
        == []
    )

    acked = stocked.client.post(f"/api/v1/alerts/{request['alert_id']}/ack", headers=auth(staff))
    assert acked.status_code == 200
    assert acked.json()["state"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == "maria"
    room = stocked.client.get(ROOM, headers=auth(tablet)).json()
    assert [(r["alert_id"], r["acknowledged_by"]) for r in room["requests"]] == [
        (request["alert_id"], "maria")
    ]
    unknown = stocked.client.post("/api/v1/alerts/nope/ack", headers=auth(staff))
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "Alert not found"}


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"gtin": "123", "size": "L"}, ["body", "gtin"]),
        ({"gtin": NAVY_M, "size": "L", "epc": "x"}, ["body", "epc"]),
        ({"size": "L"}, ["body", "gtin"]),
        ({"gtin": NAVY_M, "size": ""}, ["body", "size"]),
    ],
    ids=["short-gtin", "unknown-field", "no-gtin", "empty-size"],
)
def test_bad_size_requests_get_422_naming_the_field(
    stocked: Edge, body: dict[str, str], where: list[str]
) -> None:
    tablet = stocked.add("tablet-1", DeviceRole.TABLET, "fitting-1")
    response = stocked.client.post(f"{ROOM}/size-requests", headers=auth(tablet), json=body)
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [where]


def test_a_size_request_needs_a_size_or_a_colour_of_a_known_product(stocked: Edge) -> None:
    tablet = stocked.add("tablet-1", DeviceRole.TABLET, "fitting-1")
    neither = stocked.client.post(
        f"{ROOM}/size-requests", headers=auth(tablet), json={"gtin": NAVY_M}
    )
    assert neither.status_code == 422
    assert neither.json() == {"detail": "Ask for a size, a colour or both"}
    unknown = stocked.client.post(
        f"{ROOM}/size-requests", headers=auth(tablet), json={"gtin": "00000000000017", "size": "L"}
    )
    assert unknown.status_code == 409
    assert unknown.json() == {"detail": "Unknown product"}
    bad_kind = stocked.client.get(
        "/api/v1/alerts", params={"kind": "fire"}, headers=auth(ADMIN_TOKEN)
    )
    assert bad_kind.status_code == 422


def test_the_dashboard_shows_zones_readers_and_activity(stocked: Edge) -> None:
    stocked.member_seen("m-ana", "fitting-1")
    board = stocked.client.get("/api/v1/dashboard", headers=auth(ADMIN_TOKEN)).json()
    zones = {zone["id"]: zone for zone in board["zones"]}
    assert zones["fitting-1"]["occupied"] is True
    assert zones["fitting-2"]["occupied"] is False
    assert (zones["shelf-b"]["tags"], zones["shelf-b"]["products"]) == (2, 2)
    assert zones["shelf-a"]["occupied"] is None
    readers = {c["id"]: c for c in board["components"] if c["kind"] == "reader"}
    assert readers["room-reader"]["state"] == "online"
    # Nothing read at the door, but its driver is subscribed on the broker: it says it is up.
    assert readers["door-reader"]["state"] == "online"
    assert readers["door-reader"]["last_data"] is not None
    assert sum(hour["visitors"] for hour in board["hours"]) == 1
    assert sum(hour["tryons"] for hour in board["hours"]) == 2
    types = [event["type"] for event in board["recent_events"]]
    assert "tryon.started" in types and "recommendation" in types
    # Tag events are one line per kind and zone and minute, naming products, not tags.
    arrivals = {
        e["zone"]: e["summary"] for e in board["recent_events"] if e["type"] == "tag.arrived"
    }
    assert arrivals["shelf-b"] == "2 items: Slim chino (beige, 32), Slim chino (navy, 34)"
    assert arrivals["fitting-1"] == (
        "2 items: Merino crew sweater (navy, M), Merino crew sweater (red, M)"
    )
    assert not any("EPC" in e["summary"] for e in board["recent_events"])


def test_live_events_reach_a_tablet_only_for_its_zone(stocked: Edge) -> None:
    tablet = stocked.add("tablet-1", DeviceRole.TABLET, "fitting-1")
    with stocked.client.websocket_connect(f"/api/v1/ws?token={tablet.token}") as ws:
        hello = ws.receive_json()
        assert hello == {
            "type": "hello",
            "device": "tablet-1",
            "role": "tablet",
            "zone": "fitting-1",
        }
        stocked.place("012002", 3002, "fitting-2")  # another room: not for this tablet
        stocked.place("013002", 3010, "fitting-1")
        first = ws.receive_json()
        assert first["type"] == "tag.arrived" and first["payload"]["zone"] == "fitting-1"
        assert all(
            ws.receive_json()["payload"]["zone"] == "fitting-1" for _ in range(2)
        )  # tryon.started, recommendation


def test_the_websocket_takes_the_token_as_first_message(edge: Edge) -> None:
    staff = edge.add("maria", DeviceRole.STAFF)
    with edge.client.websocket_connect("/api/v1/ws") as ws:
        ws.send_text(json.dumps({"token": staff.token}))
        assert ws.receive_json()["role"] == "staff"


@pytest.mark.parametrize(
    ("query", "code"),
    [("token=o2o_wrong", 4401), ("zone=fitting-2&token={tablet}", 4403)],
    ids=["invalid-token", "other-zone"],
)
def test_the_websocket_refuses_bad_tokens_and_zones(edge: Edge, query: str, code: int) -> None:
    from starlette.websockets import WebSocketDisconnect

    tablet = edge.add("tablet-1", DeviceRole.TABLET, "fitting-1")
    url = f"/api/v1/ws?{query.format(tablet=tablet.token)}"
    with edge.client.websocket_connect(url) as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    assert closed.value.code == code


@pytest.mark.parametrize(
    ("first", "code"),
    [
        ("not json", 4400),
        ("[" * 100_000 + "]" * 100_000, 4400),  # once a RecursionError traceback
        ("[" * 3000 + "]" * 3000, 4400),  # deep, under the size limit
        (json.dumps({"token": 42}), 4400),
        (json.dumps(["token"]), 4400),
        (json.dumps({"token": "o2o_wrong"}), 4401),
        (b"\x00binary", 1003),  # once a KeyError
    ],
    ids=["not-json", "huge-nesting", "deep-nesting", "token-not-text", "array", "wrong", "binary"],
)
def test_a_malformed_first_message_closes_with_a_documented_code(
    edge: Edge, first: str | bytes, code: int
) -> None:
    from starlette.websockets import WebSocketDisconnect

    with edge.client.websocket_connect("/api/v1/ws") as ws:
        if isinstance(first, bytes):
            ws.send_bytes(first)
        else:
            ws.send_text(first)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == code


def test_pages_and_catalog_pictures_are_served(edge: Edge) -> None:
    for path in ("/", "/staff", "/tablet/fitting-1"):
        page = edge.client.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "http://" not in page.text and "https://" not in page.text  # no CDN
    assert edge.client.get("/tablet/nowhere").status_code == 404
    for asset in ("/static/common.js", "/static/tablet.js", "/static/app.css"):
        assert edge.client.get(asset).status_code == 200
    picture = edge.client.get(f"/static/catalog/{NAVY_M}.svg")
    assert picture.headers["content-type"] == "image/svg+xml"
    assert picture.text.startswith("<svg") and "#1f2a44" in picture.text  # navy
    assert edge.client.get("/static/catalog/00000000000017.svg").status_code == 404


def test_the_staff_page_filters_and_names_every_alert_kind() -> None:
    static = Path(__file__).resolve().parents[2] / "edge" / "api" / "static"
    staff_js = (static / "staff.js").read_text(encoding="utf-8")
    i18n = (static / "i18n.js").read_text(encoding="utf-8")
    for kind in AlertKind:
        assert f'"{kind.value}"' in staff_js, kind
        assert f"kind_{kind.value}:" in i18n, kind


@pytest.mark.parametrize("busy", [False, True], ids=["quiet", "events-flowing"])
def test_a_revoked_device_is_disconnected_within_a_second(edge: Edge, busy: bool) -> None:
    from starlette.websockets import WebSocketDisconnect

    staff = edge.add("maria", DeviceRole.STAFF)
    stop = threading.Event()

    def flow() -> None:  # a busy store: events keep coming while the device is revoked
        serial = 0
        while not stop.is_set():
            serial += 1
            edge.place("011001", 50_000 + serial, "shelf-a")

    with edge.client.websocket_connect(f"/api/v1/ws?token={staff.token}") as ws:
        assert ws.receive_json()["type"] == "hello"
        feeder = threading.Thread(target=flow, daemon=True)
        if busy:
            feeder.start()
            assert ws.receive_json()["type"].startswith("tag.")
        edge.devices.revoke("maria")
        revoked_at = time.monotonic()
        received = 0
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_json()
                received += 1
        waited = time.monotonic() - revoked_at
        stop.set()
        if busy:
            feeder.join()
    assert closed.value.code == 4401
    assert waited < 1.5, f"still open {waited:.2f} s after revocation ({received} events)"


def test_a_stuck_owner_loop_gives_503_not_a_hang(edge: Edge) -> None:
    gate = threading.Event()
    # The owner thread busy with something else (a slow sink, say) for longer than the API
    # waits: the API says so instead of hanging.
    blocker = threading.Thread(target=lambda: edge.owner.call(lambda _core: gate.wait(10)))
    blocker.start()
    edge.store.timeout_s = 0.2
    try:
        response = edge.client.get("/api/v1/dashboard", headers=auth(ADMIN_TOKEN))
        assert response.status_code == 503
        assert response.json() == {"detail": "The edge is not responding"}
    finally:
        gate.set()
        blocker.join()


def test_the_dashboard_shows_the_sync_backlog(edge: Edge) -> None:
    """Sync to HQ is off in this store: every event waits in the outbox, and the dashboard
    shows the outbox that runs (the composition root hands it the same sync client)."""
    edge.place("012001", 3001, "shelf-a")
    board = edge.client.get("/api/v1/dashboard", headers=auth(ADMIN_TOKEN)).json()
    assert board["sync"]["enabled"] is False
    assert board["sync"]["backlog_events"] == edge.owner.events_emitted > 0
