"""Reserve online, try in store, at HQ on PostgreSQL: the channel's API with its refusals and
alternatives, the store's downlink, the store's reservation.* events, and the reserve-to-buy
report."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

import edge.events.reservations
import edge.events.stock  # noqa: F401  (register the event types `event` checks against)
from cloud_sync.hq.app import create_app
from cloud_sync.hq.console.accounts import ConsoleRole
from cloud_sync.hq.core.config import Settings
from tests.hq.console_data import PASSWORD, add_user
from tests.hq.helpers import (
    ADMIN,
    StoreCreds,
    create_store,
    event,
    make_settings,
    post_events,
    signed_get,
)

pytestmark = pytest.mark.network

SHIRT_S, SHIRT_M, SHIRT_L = "00614141777011", "00614141777028", "00614141777035"


@pytest.fixture(scope="module")
def shirts(client: TestClient) -> None:
    products = [
        {
            "gtin": g,
            "name": "Oxford shirt",
            "category": "shirts",
            "size": size,
            "colour": "blue",
            "price": 59.0,
        }
        for g, size in ((SHIRT_S, "S"), (SHIRT_M, "M"), (SHIRT_L, "L"))
    ]
    assert (
        client.put("/api/v1/catalog", headers=ADMIN, json={"products": products}).status_code == 204
    )


@pytest.fixture(scope="module")
def web_shop(client: TestClient) -> dict[str, str]:
    made = client.post(
        "/api/v1/admin/staff", headers=ADMIN, json={"name": "web shop", "role": "channel"}
    )
    return {"Authorization": f"Bearer {made.json()['token']}"}


def stocked(client: TestClient, store: StoreCreds, levels: dict[str, int]) -> None:
    payload = {
        "stream": "s1",
        "seq": 1,
        "part": 1,
        "parts": 1,
        "levels": [{"gtin": g, "floor": n, "backroom": 0} for g, n in levels.items()],
    }
    answer = post_events(client, store, [event(store.store_id, "stock.snapshot", payload)])
    assert answer.status_code == 200, answer.text


def member(client: TestClient) -> str:
    made = client.post("/api/v1/members", headers=ADMIN, json={"name": "Ana"})
    member_id = str(made.json()["id"])
    consent = {"scope": "marketing", "given": True, "source": "app"}
    client.post(f"/api/v1/members/{member_id}/consents", headers=ADMIN, json=consent)
    return member_id


def window(hours_from_now: float = 1, length_h: float = 4) -> dict[str, str]:
    start = datetime.now(UTC) + timedelta(hours=hours_from_now)
    return {
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=length_h)).isoformat(),
    }


def reserve(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post("/api/v1/reservations", headers=headers, json=window() | body)


def test_a_reservation_from_the_web_shop_to_the_fitting_room_and_back(
    client: TestClient,
    shirts: None,
    web_shop: dict[str, str],
    store_id: str,
    hq_settings: Settings,
) -> None:
    here = create_store(client, f"{store_id}h", lat=59.3293, lon=18.0686)
    near = create_store(client, f"{store_id}n", lat=59.3400, lon=18.0700)
    stocked(client, here, {SHIRT_M: 2, SHIRT_L: 1})
    stocked(client, near, {SHIRT_S: 3})
    ana = member(client)

    # Refusals name the problem; sold out comes with what could be had instead.
    items = [{"gtin": SHIRT_M}, {"gtin": SHIRT_M, "size": "L"}]
    unknown = reserve(client, web_shop, member_id="m_nobody", store_id=here.store_id, items=items)
    assert unknown.status_code == 404 and "Member" in unknown.json()["detail"]
    no_size = reserve(
        client,
        web_shop,
        member_id=ana,
        store_id=here.store_id,
        items=[{"gtin": SHIRT_M, "size": "XXL"}],
    )
    assert no_size.status_code == 404 and "no size 'XXL'" in no_size.json()["detail"]
    sold_out = reserve(
        client, web_shop, member_id=ana, store_id=here.store_id, items=[{"gtin": SHIRT_S}]
    )
    assert sold_out.status_code == 409, sold_out.text
    assert "Oxford shirt (blue, S) is sold out" in sold_out.json()["detail"]
    options = sold_out.json()["alternatives"]
    assert {"store_id": near.store_id, "gtin": SHIRT_S} in [
        {"store_id": o["store_id"], "gtin": o["gtin"]} for o in options
    ]
    assert {o.get("size") for o in options if o["store_id"] == here.store_id} == {"M", "L"}
    past = client.post(
        "/api/v1/reservations",
        headers=web_shop,
        json={
            "member_id": ana,
            "store_id": here.store_id,
            "items": items,
            **window(hours_from_now=-6, length_h=1),
        },
    )
    assert past.status_code == 422 and "past" in past.json()["detail"]

    made = reserve(client, web_shop, member_id=ana, store_id=here.store_id, items=items)
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    assert [i["gtin"] for i in made.json()["items"]] == [SHIRT_M, SHIRT_L]

    # The store's downlink carries it, with the check-in code; unchanged -> 304.
    path = f"/api/v1/stores/{here.store_id}/reservations"
    down = signed_get(client, here, path)
    assert down.status_code == 200, down.text
    (sent,) = [r for r in down.json()["reservations"] if r["id"] == rid]
    assert sent["member_id"] == ana and len(sent["checkin_code"]) == 8
    assert (
        signed_get(client, here, path, **{"If-None-Match": down.headers["ETag"]}).status_code == 304
    )
    assert (
        signed_get(client, near, f"/api/v1/stores/{near.store_id}/reservations").json()[
            "reservations"
        ]
        == []
    )

    # The store reports; another store cannot touch it.
    def report(store: StoreCreds, kind: str, **payload: Any) -> None:
        answer = post_events(
            client, store, [event(store.store_id, kind, {"reservation_id": rid, **payload})]
        )
        assert answer.status_code == 200 and answer.json()["rejected"] == 0, answer.text

    report(near, "reservation.ready", member_id=ana, zone="fitting-1", epcs=["X"])
    assert (
        client.get(f"/api/v1/reservations/{rid}", headers=web_shop).json()["status"] == "requested"
    )
    report(
        here,
        "reservation.picked",
        item=0,
        gtin=SHIRT_M,
        epc="3034257BF40ABE4000000001",
        staff_id="maria",
    )
    report(
        here,
        "reservation.ready",
        member_id=ana,
        zone="fitting-1",
        epcs=["3034257BF40ABE4000000001"],
    )
    assert client.get(f"/api/v1/reservations/{rid}", headers=web_shop).json()["status"] == "ready"
    report(here, "reservation.arrived", member_id=ana, zone="fitting-1", how="qr")
    report(
        here,
        "reservation.closed",
        member_id=ana,
        came=True,
        outcomes=["bought", "tried_not_bought"],
        to_return=["X"],
    )
    closed = client.get(f"/api/v1/reservations/{rid}", headers=web_shop).json()
    assert closed["status"] == "closed" and closed["came"] is True
    assert [i["outcome"] for i in closed["items"]] == ["bought", "tried_not_bought"]
    assert signed_get(client, here, path).json()["reservations"] == []  # no longer open

    rows = client.get(
        "/api/v1/reports/reservations", headers=ADMIN, params={"store_id": here.store_id}
    ).json()["rows"]
    assert rows == [
        {
            "store_id": here.store_id,
            "reservations": 1,
            "came": 1,
            "never_came": 0,
            "items": 2,
            "items_bought": 1,
            "items_tried_not_bought": 1,
            "reserve_to_buy": 0.5,
        }
    ]
    # The console's stores page shows the same, for the period the window started in.
    manager = f"mgr-{store_id}"
    add_user(hq_settings.database_url, manager, ConsoleRole.STORE_MANAGER, [here.store_id])
    client.cookies.clear()
    client.post("/console/login", data={"username": manager, "password": PASSWORD})
    today = datetime.now(UTC).date().isoformat()
    page = client.get("/console/stores", params={"from": today, "to": today}).text
    client.cookies.clear()
    row = re.search(rf'<tr data-store="{here.store_id}"><td>{here.store_id}</td>(.*?)</tr>', page)
    assert row, page
    assert re.findall(r"<td>([^<]*)</td>", row.group(1)) == ["1", "1", "0", "2", "1", "1", "50.0%"]


def test_closed_stores_and_stale_counts_are_refused(
    client: TestClient, shirts: None, web_shop: dict[str, str], store_id: str
) -> None:
    store = create_store(client, store_id, lat=10.0, lon=10.0)
    ana = member(client)
    unknown = reserve(
        client, web_shop, member_id=ana, store_id=store.store_id, items=[{"gtin": SHIRT_M}]
    )
    assert unknown.status_code == 409 and "no current stock count" in unknown.json()["detail"]
    stocked(client, store, {SHIRT_M: 1})
    assert (
        client.patch(
            f"/api/v1/admin/stores/{store.store_id}", headers=ADMIN, json={"active": False}
        ).status_code
        == 200
    )
    closed = reserve(
        client, web_shop, member_id=ana, store_id=store.store_id, items=[{"gtin": SHIRT_M}]
    )
    assert closed.status_code == 409 and "closed" in closed.json()["detail"]
    analyst = client.post(
        "/api/v1/admin/staff",
        headers=ADMIN,
        json={"name": f"a{uuid.uuid4().hex[:4]}", "role": "analyst"},
    )
    refused = reserve(
        client,
        {"Authorization": f"Bearer {analyst.json()['token']}"},
        member_id=ana,
        store_id=store.store_id,
        items=[{"gtin": SHIRT_M}],
    )
    assert refused.status_code == 403


@pytest.fixture(scope="module")
def notifying(hq_database_url: str) -> Iterator[TestClient]:
    """HQ with a member notification channel (deliveries fail: only the queue is checked)."""
    settings = make_settings(
        hq_database_url,
        notify_channel="webhook",
        webhook_url="http://127.0.0.1:9/hooks",
        webhook_secret="hook-secret",
    )
    with TestClient(create_app(settings)) as app:
        yield app


def test_an_item_the_store_cannot_find_is_told_to_the_member_with_alternatives(
    notifying: TestClient, shirts: None, store_id: str
) -> None:
    client = notifying
    made_shop = client.post(
        "/api/v1/admin/staff", headers=ADMIN, json={"name": "web shop 2", "role": "channel"}
    )
    shop = {"Authorization": f"Bearer {made_shop.json()['token']}"}
    here = create_store(client, f"{store_id}u", lat=48.8566, lon=2.3522)
    near = create_store(client, f"{store_id}v", lat=48.8600, lon=2.3400)
    stocked(client, here, {SHIRT_M: 1, SHIRT_L: 2})
    stocked(client, near, {SHIRT_M: 4})
    ana = member(client)  # marketing consent given
    silent = str(client.post("/api/v1/members", headers=ADMIN, json={"name": "Bo"}).json()["id"])
    rids = []
    for who in (ana, silent):
        made = reserve(
            client, shop, member_id=who, store_id=here.store_id, items=[{"gtin": SHIRT_M}]
        )
        assert made.status_code == 201, made.text
        rids.append(made.json()["id"])
    for rid, who in zip(rids, (ana, silent), strict=True):
        payload = {"reservation_id": rid, "member_id": who, "item": 0, "gtin": SHIRT_M}
        sent = [event(here.store_id, "reservation.unavailable", payload | {"staff_id": "maria"})]
        answer = post_events(client, here, sent)
        assert answer.status_code == 200 and answer.json()["rejected"] == 0, answer.text

    def told(member_id: str) -> list[dict[str, Any]]:
        log = client.get(
            "/api/v1/reports/notifications", headers=ADMIN, params={"member_id": member_id}
        ).json()
        return [n["data"] for n in log["notifications"] if n["kind"] == "reservation_missing"]

    (data,) = told(ana)
    assert data["reservation_id"] == rids[0] and data["item"] == "Oxford shirt (blue, M)"
    options = {(o["store_id"], o["gtin"], o.get("size")) for o in data["alternatives"]}
    assert (near.store_id, SHIRT_M, None) in options  # the same shirt nearby
    assert (here.store_id, SHIRT_L, "L") in options  # another size here
    assert told(silent) == []  # no marketing consent: not told
    # The rest of the reservation stands: still open at HQ and on the store's downlink.
    assert client.get(f"/api/v1/reservations/{rids[0]}", headers=shop).json()["status"] == (
        "requested"
    )
