"""A small chain for the console tests (in-process and in Chromium): two stores, a day of
try-ons, visits and sales through the signed ingestion API, a member at each store, and one
console user per role."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi.testclient import TestClient

from cloud_sync.hq.console import accounts
from cloud_sync.hq.core.db import make_engine, make_sessionmaker
from tests.hq.helpers import ADMIN, create_store, event, post_events

DAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
T0 = int(DAY.timestamp() * 1000)
COAT, SCARF = "04000000000017", "04000000000024"
PASSWORD = "correct horse battery"


def add_user(url: str, username: str, role: accounts.ConsoleRole, stores: list[str]) -> None:
    engine = make_engine(url, pool_size=1)
    with make_sessionmaker(engine)() as session:
        accounts.add_user(
            session,
            username=username,
            password=PASSWORD,
            role=role,
            stores=stores,
            actor="test",
            now=datetime.now(UTC),
        )
    engine.dispose()


def seed_chain(client: TestClient | httpx.Client, url: str) -> dict[str, Any]:
    """Two stores with a day of try-ons, visits and sales; a member at each; three users."""
    north, south = (
        create_store(client, "north", 31.2, 121.4),
        create_store(client, "south", 22.5, 114.0),
    )
    client.put(
        "/api/v1/catalog",
        headers=ADMIN,
        json={
            "products": [
                {
                    "gtin": COAT,
                    "name": "Wool coat",
                    "category": "coats",
                    "size": "M",
                    "colour": "navy",
                    "price": 300,
                },
                {"gtin": SCARF, "name": "Scarf", "category": "accessories", "price": 30},
            ]
        },
    )
    members = {}
    for store, phone in ((north, "+8613800000001"), (south, "+8613800000002")):
        members[store.store_id] = client.post(
            "/api/v1/members",
            headers=ADMIN,
            json={
                "name": f"Member of {store.store_id}",
                "home_store_id": store.store_id,
                "identities": [{"channel": "phone", "value": phone}],
            },
        ).json()["id"]

    def outcome(store: str, gtin: str, result: str, i: int) -> dict[str, Any]:
        return event(
            store,
            "tryon.outcome",
            {
                "session_id": f"s{i}",
                "epc": f"3034{i:04X}",
                "gtin": gtin,
                "zone": "fit-1",
                "outcome": result,
            },
            T0 + i,
        )

    batch_n = [outcome("north", COAT, "returned_to_floor", i) for i in range(9)]
    batch_n += [outcome("north", COAT, "purchased", 9), outcome("north", SCARF, "purchased", 10)]
    batch_n += [
        event(
            "north",
            "visit.started",
            {
                "visit_id": "v1",
                "member_id": members["north"],
                "zone": "entrance",
                "camera_id": "cam-1",
            },
            T0 + 11,
        ),
        event(
            "north",
            "zone.visitors",
            {
                "zone": "entrance",
                "camera_id": "cam-1",
                "minute_start": "2026-03-02T10:00:00.000Z",
                "visitors": 12,
                "members": 1,
            },
            T0 + 60_000,
        ),
        event(
            "north",
            "sale",
            {
                "sale_id": "n-1",
                "till_id": "t",
                "currency": "CNY",
                "total": 330.0,
                "member_id": members["north"],
                "lines": [
                    {"gtin": COAT, "quantity": 1, "amount": 300.0},
                    {"gtin": SCARF, "quantity": 1, "amount": 30.0},
                ],
            },
            T0 + 20,
        ),
    ]
    batch_s = [outcome("south", SCARF, "returned_to_floor", 100 + i) for i in range(4)]
    batch_s += [
        event(
            "south",
            "sale",
            {
                "sale_id": "s-1",
                "till_id": "t",
                "currency": "CNY",
                "total": 60.0,
                "member_id": members["south"],
                "lines": [{"gtin": SCARF, "quantity": 2, "amount": 60.0}],
            },
            T0 + 30,
        ),
    ]
    assert post_events(client, north, batch_n).json()["stored"] == len(batch_n)
    assert post_events(client, south, batch_s).json()["stored"] == len(batch_s)
    add_user(url, "ada", accounts.ConsoleRole.ADMIN, [])
    add_user(url, "ana", accounts.ConsoleRole.ANALYST, [])
    add_user(url, "nora", accounts.ConsoleRole.STORE_MANAGER, ["north"])
    return {"members": members}
