"""One member, two stores and the online shop against one HQ (two real o2o-hq processes on
PostgreSQL): each sale or return, wherever it happens and however often it is sent, moves the
member's points once and the EPC's sold state chain-wide, which is what every store's exit
gate downloads (issue 17, "Chain-wide coherence")."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from edge.alerts.sold_set import SoldSet
from tests.hq.helpers import ADMIN, StoreCreds, create_store, event, post_events, signed_get

GTIN = "80614141123458"
BASE = 0x3074257BF7194E4000000000


def fresh_epcs(n: int) -> list[str]:
    start = uuid.uuid4().int % (1 << 30) << 6
    return [f"{BASE + start + k:024X}" for k in range(n)]


def sale(
    store: str, sale_id: str, member: str, lines: dict[str, float], ts_ms: int, returned: bool
) -> dict[str, Any]:
    payload = {
        "sale_id": sale_id,
        "till_id": "till-1",
        "member_id": member,
        "lines": [{"epc": e, "gtin": GTIN, "amount": a} for e, a in lines.items()],
        "total": sum(lines.values()),
        "currency": "EUR",
        "returned": returned,
    }
    return event(store, "sale", payload, ts_ms)


def sold_set(http: httpx.Client, creds: StoreCreds) -> SoldSet:
    got = signed_get(http, creds, f"/api/v1/stores/{creds.store_id}/sold-epcs")
    assert got.status_code == 200, got.text
    return SoldSet.from_bytes(got.content)


def ledger(http: httpx.Client, member: str) -> list[tuple[int, str, str]]:
    got = http.get(f"/api/v1/members/{member}/points", headers=ADMIN)
    assert got.status_code == 200, got.text
    return [(e["delta"], e["cause"], e["ref"].split(":")[0]) for e in got.json()["entries"]]


def test_sales_and_returns_anywhere_count_once_chain_wide(
    hq_servers: tuple[str, str], store_id: str
) -> None:
    with (
        httpx.Client(base_url=hq_servers[0], timeout=30) as one,
        httpx.Client(base_url=hq_servers[1], timeout=30) as two,
    ):
        a = create_store(one, f"{store_id}-coh-a")
        b = create_store(one, f"{store_id}-coh-b")
        made = one.post(
            "/api/v1/admin/staff", headers=ADMIN, json={"name": "web", "role": "channel"}
        )
        assert made.status_code == 201, made.text
        web = {"Authorization": f"Bearer {made.json()['token']}"}
        member = one.post("/api/v1/members", headers=ADMIN, json={"tier": "standard"}).json()["id"]
        coat, online, scarf, belt = fresh_epcs(4)
        t = int(time.time() * 1000) - 60_000
        sale_a, sale_b, belt_sale = (f"{k}-{uuid.uuid4().hex[:8]}" for k in ("SA", "SB", "SC"))
        order = f"WEB-{uuid.uuid4().hex[:8]}"

        # Store A sells the coat; the edge retries the same batch through the other process.
        bought = [sale(a.store_id, sale_a, member, {coat: 100.0}, t, returned=False)]
        assert post_events(one, a, bought).json()["stored"] == 1
        assert post_events(two, a, bought).json()["duplicates"] == 1

        # The online shop sells a second item to the same member, and posts the order twice.
        web_order = {
            "order_id": order,
            "member_id": member,
            "epcs": [online],
            "lines": [{"gtin": GTIN, "amount": 50.0}],
            "ts": _iso(t + 1_000),
        }
        first = one.post("/api/v1/channel/orders", headers=web, json=web_order)
        again = two.post("/api/v1/channel/orders", headers=web, json=web_order)
        assert first.status_code == again.status_code == 200, (first.text, again.text)
        assert (first.json()["recorded"], again.json()["recorded"]) == (True, False)

        # Store B sells a scarf and a belt.
        bought_b = [
            sale(b.store_id, sale_b, member, {scarf: 30.0}, t + 2_000, returned=False),
            sale(b.store_id, belt_sale, member, {belt: 20.0}, t + 2_500, returned=False),
        ]
        assert post_events(two, b, bought_b).json()["stored"] == 2
        both = [sold_set(one, a), sold_set(two, b)]
        assert all(e in s for s in both for e in (coat, online, scarf, belt))

        # The coat comes back at store B, the online item at store A, and the scarf through
        # the online shop's returns desk; each return is sent twice.
        coat_back = [sale(b.store_id, sale_a, member, {coat: 100.0}, t + 3_000, returned=True)]
        online_back = [sale(a.store_id, order, member, {online: 50.0}, t + 4_000, returned=True)]
        for batch, creds in ((coat_back, b), (online_back, a)):
            assert post_events(one, creds, batch).json()["stored"] == 1
            assert post_events(two, creds, batch).json()["duplicates"] == 1
        scarf_back = {
            "order_id": sale_b,
            "member_id": member,
            "epcs": [scarf],
            "lines": [{"gtin": GTIN, "amount": 30.0}],
            "returned": True,
            "ts": _iso(t + 5_000),
        }
        for http in (one, two):
            assert http.post("/api/v1/channel/orders", headers=web, json=scarf_back).is_success

        assert sorted(ledger(one, member)) == sorted(
            [
                (100, "sale", sale_a),
                (50, "sale", order),
                (30, "sale", sale_b),
                (20, "sale", belt_sale),
                (-100, "sale_return", sale_a),
                (-50, "sale_return", order),
                (-30, "sale_return", sale_b),
            ]
        )
        balance = two.get(f"/api/v1/members/{member}/points", headers=ADMIN).json()["balance"]
        assert balance == 20
        for gate in (sold_set(two, a), sold_set(one, b)):
            assert belt in gate
            assert not any(e in gate for e in (coat, online, scarf))


def test_orders_for_unknown_members_or_without_lines_are_refused(
    hq_servers: tuple[str, str],
) -> None:
    with httpx.Client(base_url=hq_servers[0], timeout=30) as http:
        made = http.post(
            "/api/v1/admin/staff", headers=ADMIN, json={"name": "w", "role": "channel"}
        )
        web = {"Authorization": f"Bearer {made.json()['token']}"}
        line = [{"gtin": GTIN, "amount": 5.0}]
        unknown = {"order_id": "W-x", "member_id": "m-nobody", "lines": line}
        got = http.post("/api/v1/channel/orders", headers=web, json=unknown)
        assert (got.status_code, got.json()) == (404, {"detail": "Member not found"})
        no_lines = {"order_id": "W-y", "member_id": "m-1", "epcs": fresh_epcs(1)}
        got = http.post("/api/v1/channel/orders", headers=web, json=no_lines)
        assert got.status_code == 422 and "needs its lines" in got.text
        huge = {"order_id": "W-z", "lines": [{"gtin": GTIN, "amount": 1e308}]}
        assert http.post("/api/v1/channel/orders", headers=web, json=huge).status_code == 422


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"
