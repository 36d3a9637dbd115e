"""No event a store sends makes HQ answer 500 (issue: one bad event stopped a store's sync):
each of the inputs that did is now a per-event ``invalid`` naming the field, the events beside
it are stored, and the reports still work (real PostgreSQL)."""

from __future__ import annotations

import copy
import gzip
import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloud_sync import protocol
from tests.hq.helpers import ADMIN, create_store, event, signed, tag_event

pytestmark = pytest.mark.network


VISIT = {"visit_id": "v1", "member_id": "m1", "zone": "entrance", "camera_id": "c1"}
TRYON = {"session_id": "s1", "zone": "fitting-1", "epc": "3034257BF40ABE4000000001"}
VISITORS = {
    "zone": "entrance",
    "camera_id": "c1",
    "minute_start": "2026-12-03T10:00:00Z",
    "visitors": 3,
    "members": 1,
}


def raw_event(store_id: str, type_: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A wire event built by hand (the edge's own models would refuse these)."""
    base = tag_event(store_id, 1)
    return base | {"event_id": str(uuid.uuid4()), "type": type_, "payload": payload}


def sale(store_id: str, **changes: Any) -> dict[str, Any]:
    good = event(
        store_id,
        "sale",
        {
            "sale_id": f"S-{uuid.uuid4().hex[:6]}",
            "till_id": "t1",
            "total": 10.0,
            "currency": "EUR",
            "lines": [{"gtin": "00614141000012", "quantity": 1, "amount": 10.0}],
        },
    )
    bad = copy.deepcopy(good)
    bad["event_id"] = str(uuid.uuid4())
    for path, value in changes.items():
        target = bad["payload"]
        *parents, last = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
    return bad


def post_text(client: TestClient, creds: Any, text: str) -> Any:
    body = gzip.compress(text.encode())
    path = protocol.EVENTS_PATH.format(store_id=creds.store_id)
    headers = {
        **signed(creds, "POST", path, body),
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
    }
    return client.post(path, content=body, headers=headers)


@pytest.mark.parametrize(
    ("what", "make", "field"),
    [
        (
            "NUL in an event",
            lambda s: raw_event(s, "tag.arrived", {"epc": "A\u0000B"}),
            "payload.epc",
        ),
        ("NUL in an invalid event", lambda s: {"type": "x\u0000", "nonsense": True}, "type"),
        ("type of 65 characters", lambda s: raw_event(s, "t" * 65, {}), "type"),
        (
            "member_id of 41",
            lambda s: raw_event(s, "visit.started", VISIT | {"member_id": "m" * 41}),
            "payload.member_id",
        ),
        (
            "gtin of 15",
            lambda s: raw_event(s, "tryon.started", TRYON | {"gtin": "1" * 15}),
            "payload.gtin",
        ),
        (
            "2^31 visitors",
            lambda s: raw_event(s, "zone.visitors", VISITORS | {"visitors": 2**31}),
            "payload.visitors",
        ),
        (
            "quantity of 2^31",
            lambda s: sale(s, lines__0__quantity=2**31),
            "payload.lines.0.quantity",
        ),
        ("amount of 1e308", lambda s: sale(s, lines__0__amount=1e308), "payload.lines.0.amount"),
        ("total of 1.7e308", lambda s: sale(s, total=1.7e308), "payload.total"),
        ("sale_id of 101", lambda s: sale(s, sale_id="x" * 101), "payload.sale_id"),
    ],
)
def test_a_bad_event_is_invalid_by_name_and_the_rest_are_stored(
    client: TestClient, store_id: str, what: str, make: Any, field: str
) -> None:
    creds = create_store(client, store_id)
    good = [tag_event(store_id, 2), tag_event(store_id, 3)]
    bad = make(store_id)
    response = post_text(client, creds, json.dumps({"events": [good[0], bad, good[1]]}))
    assert response.status_code == 200, f"{what}: {response.status_code} {response.text[:300]}"
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["stored", "invalid", "stored"], what
    assert field in results[1]["detail"], results[1]["detail"]


def test_a_member_with_sales_of_every_size_keeps_the_reports_working(
    client: TestClient, store_id: str
) -> None:
    creds = create_store(client, store_id)
    huge = sale(store_id, total=1e308, lines__0__amount=1e308)
    biggest = sale(store_id, total=100_000_000.0, lines__0__amount=10_000_000.0)
    response = post_text(client, creds, json.dumps({"events": [huge, biggest]}))
    assert [r["status"] for r in response.json()["results"]] == ["invalid", "stored"]
    for fmt in ("json", "csv"):
        report = client.get(
            "/api/v1/reports/revenue", headers=ADMIN, params={"store_id": store_id, "format": fmt}
        )
        assert report.status_code == 200, report.text
