"""Membership: identities, tags, home store, consent, points from sales, merge; staff roles."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests.hq.helpers import ADMIN, create_store, event, post_events

pytestmark = pytest.mark.network


def uniq() -> str:
    return uuid.uuid4().hex[:10]


def sale(
    store_id: str, sale_id: str, member_id: str | None, total: float, returned: bool = False
) -> dict[str, object]:
    payload: dict[str, object] = {
        "sale_id": sale_id,
        "till_id": "till-1",
        "currency": "CNY",
        "total": total,
        "lines": [{"gtin": "04012345678901", "quantity": 1, "amount": total}],
    }
    if member_id is not None:
        payload["member_id"] = member_id
    if returned:
        payload["returned"] = True
    return event(store_id, "sale", payload)


def test_identities_unique_across_members_and_lookup(client: TestClient) -> None:
    phone, openid = f"+86139{uniq()}", f"o{uniq()}"
    created = client.post(
        "/api/v1/members",
        headers=ADMIN,
        json={
            "name": "Li",
            "tier": "gold",
            "tags": {"style": "casual"},
            "identities": [
                {"channel": "phone", "value": phone},
                {"channel": "wechat_openid", "value": openid},
            ],
        },
    )
    assert created.status_code == 201, created.text
    member = created.json()
    assert member["tags"] == {"style": "casual"} and member["tier"] == "gold"
    dup = client.post(
        "/api/v1/members",
        headers=ADMIN,
        json={"identities": [{"channel": "phone", "value": phone}]},
    )
    assert (dup.status_code, dup.json()) == (
        409,
        {"detail": "phone already belongs to another member"},
    )
    found = client.get(
        "/api/v1/members/lookup",
        params={"channel": "wechat_openid", "value": openid},
        headers=ADMIN,
    )
    assert found.json()["id"] == member["id"]
    updated = client.patch(
        f"/api/v1/members/{member['id']}",
        headers=ADMIN,
        json={
            "tags": {"style": None, "size": "M"},
            "identities": [{"channel": "email", "value": f"{uniq()}@x.cn"}],
        },
    ).json()
    assert updated["tags"] == {"size": "M"}
    assert {i["channel"] for i in updated["identities"]} == {"phone", "wechat_openid", "email"}
    missing = client.get("/api/v1/members/m_nobody", headers=ADMIN)
    assert (missing.status_code, missing.json()) == (404, {"detail": "Member not found"})


def test_home_store_is_nearest_at_sign_up(client: TestClient, store_id: str) -> None:
    create_store(client, f"{store_id}-sh", lat=31.2304, lon=121.4737)  # Shanghai
    create_store(client, f"{store_id}-bj", lat=39.9042, lon=116.4074)  # Beijing
    # Tianjin is nearer Beijing; other tests' stores are all at Shanghai's coordinates.
    member = client.post(
        "/api/v1/members", headers=ADMIN, json={"latitude": 39.3434, "longitude": 117.3616}
    ).json()
    assert member["home_store_id"] == f"{store_id}-bj"


def test_sale_credits_points_and_return_reverses(client: TestClient, store_id: str) -> None:
    creds = create_store(client, store_id)
    member_id = client.post("/api/v1/members", headers=ADMIN, json={"tier": "standard"}).json()[
        "id"
    ]
    sale_id = f"S-{uniq()}"
    assert (
        post_events(client, creds, [sale(store_id, sale_id, member_id, 120.5)]).json()["stored"]
        == 1
    )
    points = client.get(f"/api/v1/members/{member_id}/points", headers=ADMIN).json()
    assert points["balance"] == 120
    assert [(e["delta"], e["cause"], e["ref"]) for e in points["entries"]] == [
        (120, "sale", sale_id)
    ]
    # Half of it comes back: half of the points are reversed.
    back = sale(store_id, sale_id, member_id, 60.25, returned=True)
    assert post_events(client, creds, [back]).json()["stored"] == 1
    assert post_events(client, creds, [back]).json()["duplicates"] == 1
    points = client.get(f"/api/v1/members/{member_id}/points", headers=ADMIN).json()
    assert points["balance"] == 60
    assert points["entries"][-1]["cause"] == "sale_return"


def test_tier_multiplier_and_unknown_member(hq_database_url: str, store_id: str) -> None:
    from cloud_sync.hq.app import create_app
    from tests.hq.helpers import make_settings

    settings = make_settings(
        hq_database_url, tier_points_multiplier={"gold": 2.0}, points_per_currency_unit=0.5
    )
    with TestClient(create_app(settings)) as client:
        creds = create_store(client, store_id)
        gold = client.post("/api/v1/members", headers=ADMIN, json={"tier": "gold"}).json()["id"]
        result = post_events(
            client,
            creds,
            [
                sale(store_id, f"S-{uniq()}", gold, 100),
                sale(store_id, f"S-{uniq()}", "m_unknown", 100),
            ],
        )
        assert result.json()["stored"] == 2
        assert client.get(f"/api/v1/members/{gold}/points", headers=ADMIN).json()["balance"] == 100


def test_manual_points_idempotent_and_not_negative(client: TestClient) -> None:
    member_id = client.post("/api/v1/members", headers=ADMIN, json={}).json()["id"]
    url = f"/api/v1/members/{member_id}/points"
    grant = {"delta": 50, "cause": "campaign", "ref": "welcome"}
    assert client.post(url, headers=ADMIN, json=grant).json() == {"applied": True, "balance": 50}
    assert client.post(url, headers=ADMIN, json=grant).json() == {"applied": False, "balance": 50}
    overdraw = client.post(url, headers=ADMIN, json={"delta": -80, "ref": "redeem-1"})
    assert (overdraw.status_code, overdraw.json()) == (409, {"detail": "Insufficient points"})


def test_merge_duplicates(client: TestClient) -> None:
    keep = client.post(
        "/api/v1/members",
        headers=ADMIN,
        json={"identities": [{"channel": "phone", "value": f"+1{uniq()}"}], "tags": {"a": "1"}},
    ).json()["id"]
    card = f"LC{uniq()}"
    dup = client.post(
        "/api/v1/members",
        headers=ADMIN,
        json={
            "identities": [{"channel": "loyalty_card", "value": card}],
            "tags": {"a": "2", "b": "3"},
        },
    ).json()["id"]
    client.post(f"/api/v1/members/{dup}/points", headers=ADMIN, json={"delta": 30, "ref": "x"})
    merged = client.post(f"/api/v1/members/{keep}/merge", headers=ADMIN, json={"duplicate_id": dup})
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["points_balance"] == 30
    assert body["tags"] == {"a": "1", "b": "3"}
    assert {i["channel"] for i in body["identities"]} == {"phone", "loyalty_card"}
    assert client.get(f"/api/v1/members/{dup}", headers=ADMIN).json()["merged_into"] == keep
    found = client.get(
        "/api/v1/members/lookup", params={"channel": "loyalty_card", "value": card}, headers=ADMIN
    )
    assert found.json()["id"] == keep
    again = client.post(f"/api/v1/members/{keep}/merge", headers=ADMIN, json={"duplicate_id": dup})
    assert again.status_code == 409


def test_staff_roles(client: TestClient) -> None:
    assert client.get("/api/v1/members/lookup?channel=phone&value=1").status_code == 401
    bad = client.get("/api/v1/admin/stores", headers={"Authorization": "Bearer nope"})
    assert (bad.status_code, bad.json()) == (401, {"detail": "Invalid token"})
    made = client.post(
        "/api/v1/admin/staff", headers=ADMIN, json={"name": "ana", "role": "analyst"}
    )
    assert made.status_code == 201
    analyst = {"Authorization": f"Bearer {made.json()['token']}"}
    assert client.get("/api/v1/admin/stores", headers=analyst).status_code == 200
    assert client.get("/api/v1/reports/hourly", headers=analyst).status_code == 200
    denied = client.post("/api/v1/members", headers=analyst, json={})
    assert (denied.status_code, denied.json()) == (403, {"detail": "Admin role required"})
    admin_made = client.post(
        "/api/v1/admin/staff", headers=ADMIN, json={"name": "boss", "role": "admin"}
    )
    admin2 = {"Authorization": f"Bearer {admin_made.json()['token']}"}
    assert client.post("/api/v1/members", headers=admin2, json={}).status_code == 201
    # Every route but the health check and the store-signed ones needs a bearer token.
    open_routes = {"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
    for route in client.app.routes:  # type: ignore[attr-defined]
        path = getattr(route, "path", "")
        if path in open_routes or path.startswith("/api/v1/stores/"):
            continue
        for method in getattr(route, "methods", set()) - {"HEAD", "OPTIONS"}:
            url = path.replace("{member_id}", "m_x").replace("{gtin}", "1")
            assert client.request(method, url).status_code == 401, (method, path)


def test_a_member_can_be_created_with_the_loyalty_programmes_own_id(client: TestClient) -> None:
    wanted = f"card-{uuid.uuid4().hex[:8]}"
    made = client.post("/api/v1/members", headers=ADMIN, json={"id": wanted, "tier": "gold"})
    assert made.status_code == 201 and made.json()["id"] == wanted
    again = client.post("/api/v1/members", headers=ADMIN, json={"id": wanted})
    assert (again.status_code, again.json()) == (409, {"detail": f"Member {wanted} already exists"})
    bad = client.post("/api/v1/members", headers=ADMIN, json={"id": "has space"})
    assert bad.status_code == 422
