"""Reports over ingested events, EPCIS export, and the SQLite (demo) database."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from cloud_sync.hq.app import create_app
from cloud_sync.hq.core.db import upgrade
from tests.hq.helpers import (
    ADMIN,
    StoreCreds,
    create_store,
    event,
    make_settings,
    post_events,
    start_hq,
    stop_hq,
    tag_event,
    wait_ready,
)

pytestmark = pytest.mark.network

T0 = int(datetime(2026, 3, 2, 10, 15, tzinfo=UTC).timestamp() * 1000)
HOUR_MS = 3_600_000
GTIN_X, GTIN_Y = "04000000000017", "04000000000024"


def outcome(store_id: str, gtin: str, result: str, ts_ms: int) -> dict[str, object]:
    return event(
        store_id,
        "tryon.outcome",
        {"session_id": "fs-1", "epc": "3034AA", "gtin": gtin, "zone": "fit-1", "outcome": result},
        ts_ms,
    )


def test_conversion_hourly_rfm_revenue(client: TestClient, store_id: str) -> None:
    a, b = create_store(client, f"{store_id}a"), create_store(client, f"{store_id}b")
    client.put(
        "/api/v1/catalog",
        headers=ADMIN,
        json={
            "products": [
                {
                    "gtin": GTIN_X,
                    "name": "Wool coat",
                    "category": f"coats-{store_id}",
                    "price": 300,
                },
                {"gtin": GTIN_Y, "name": "Scarf", "category": f"acc-{store_id}", "price": 30},
            ]
        },
    )
    bound_b = client.post(
        "/api/v1/members", headers=ADMIN, json={"home_store_id": b.store_id}
    ).json()["id"]
    events = [outcome(a.store_id, GTIN_X, "returned_to_floor", T0 + i) for i in range(9)]
    events += [outcome(a.store_id, GTIN_X, "purchased", T0 + 10)]
    events += [outcome(a.store_id, GTIN_Y, "purchased", T0 + HOUR_MS + i) for i in range(2)]
    events += [
        event(
            a.store_id,
            "visit.started",
            {"visit_id": f"v{i}", "member_id": bound_b, "zone": "entrance", "camera_id": "cam-1"},
            T0 + i,
        )
        for i in range(3)
    ]
    events += [
        event(
            a.store_id,
            "tryon.started",
            {"session_id": "fs-2", "epc": "3034AB", "gtin": GTIN_X, "zone": "fit-1"},
            T0 + HOUR_MS,
        )
    ]
    events += [
        event(
            a.store_id,
            "zone.visitors",
            {
                "zone": "entrance",
                "camera_id": "cam-1",
                "minute_start": "2026-03-02T10:15:00.000Z",
                "visitors": 7,
                "members": 1,
            },
            T0 + 60_000,
        ),
        event(
            a.store_id,
            "sale",
            {
                "sale_id": f"{store_id}-1",
                "till_id": "t",
                "currency": "CNY",
                "total": 200.0,
                "member_id": bound_b,
                "lines": [{"gtin": GTIN_X, "quantity": 1, "amount": 200.0}],
            },
            T0 + 20,
        ),
    ]
    assert post_events(client, a, events).json()["stored"] == len(events)

    window = {"store_id": a.store_id, "from": "2026-03-02", "to": "2026-03-02"}
    by_product = client.get(
        "/api/v1/reports/conversion", headers=ADMIN, params={**window, "group_by": "product"}
    ).json()["rows"]
    assert by_product == [
        {"product": GTIN_X, "tries": 10, "purchases": 1, "conversion": 0.1},
        {"product": GTIN_Y, "tries": 2, "purchases": 2, "conversion": 1.0},
    ]
    by_category = client.get(
        "/api/v1/reports/conversion", headers=ADMIN, params={**window, "group_by": "category"}
    ).json()["rows"]
    assert {r["category"]: r["tries"] for r in by_category} == {
        f"coats-{store_id}": 10,
        f"acc-{store_id}": 2,
    }
    by_day = client.get(
        "/api/v1/reports/conversion", headers=ADMIN, params={**window, "group_by": "day"}
    ).json()["rows"]
    assert by_day == [{"day": "2026-03-02", "tries": 12, "purchases": 3, "conversion": 0.25}]
    flagged = client.get(
        "/api/v1/reports/tried-not-bought",
        headers=ADMIN,
        params={**window, "min_tries": 5, "max_conversion": 0.2},
    ).json()["rows"]
    assert [(r["product"], r["name"]) for r in flagged] == [(GTIN_X, "Wool coat")]

    hourly = client.get("/api/v1/reports/hourly", headers=ADMIN, params=window).json()["rows"]
    assert [(r["hour"], r["visits"], r["visitors"], r["tryons"]) for r in hourly] == [
        (10, 3, 7, 0),
        (11, 0, 0, 1),
    ]

    csv_text = client.get(
        "/api/v1/reports/hourly", headers=ADMIN, params={**window, "format": "csv"}
    ).text
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert rows[0] == {
        "store_id": a.store_id,
        "day": "2026-03-02",
        "hour": "10",
        "visits": "3",
        "visitors": "7",
        "tryons": "0",
    }

    rfm = client.get("/api/v1/reports/rfm", headers=ADMIN, params={"store_id": a.store_id}).json()[
        "rows"
    ]
    assert [(r["member_id"], r["frequency"], r["monetary"]) for r in rfm] == [(bound_b, 1, 200.0)]
    assert rfm[0]["segment"] in {
        "champions",
        "loyal",
        "new",
        "at_risk",
        "hibernating",
        "needs_attention",
        "promising",
    }

    revenue = {
        r["store_id"]: r
        for r in client.get(
            "/api/v1/reports/revenue",
            headers=ADMIN,
            params={"from": "2026-03-02", "to": "2026-03-02"},
        ).json()["rows"]
    }
    assert revenue[a.store_id] | {} == {
        "store_id": a.store_id,
        "sales": 200.0,
        "share_paid": 20.0,
        "share_received": 0.0,
        "attributed": 180.0,
    }
    assert revenue[b.store_id]["share_received"] == 20.0
    assert revenue[b.store_id]["attributed"] == 20.0


def test_rfm_segments_rank_members() -> None:
    from cloud_sync.hq.reports import _quintile_scores, segment

    assert _quintile_scores([1.0, 2.0, 3.0, 4.0, 5.0], higher_is_better=True) == [1, 2, 3, 4, 5]
    assert _quintile_scores([1.0, 2.0, 3.0, 4.0, 5.0], higher_is_better=False) == [5, 4, 3, 2, 1]
    assert _quintile_scores([7.0, 7.0], higher_is_better=True) == [1, 1]
    assert segment(5, 5, 5) == "champions"
    assert segment(1, 4, 4) == "loyal"
    assert segment(5, 1, 1) == "new"
    assert segment(1, 3, 3) == "at_risk"
    assert segment(1, 1, 1) == "hibernating"


def test_epcis_export(client: TestClient, store_id: str) -> None:
    creds = create_store(client, store_id)
    arrived = tag_event(store_id, 4)
    moved = tag_event(store_id, 5, "tag.moved", from_zone="shelf-2")
    post_events(client, creds, [moved, arrived, event(store_id, "future.kind", {"a": 1})])
    doc = client.get("/api/v1/exports/epcis", headers=ADMIN, params={"store_id": store_id}).json()
    assert doc["type"] == "EPCISDocument" and doc["schemaVersion"] == "2.0"
    events = doc["epcisBody"]["eventList"]
    assert [e["bizStep"] for e in events] == ["arriving", "stocking"]
    first = events[0]
    assert first["type"] == "ObjectEvent" and first["action"] == "OBSERVE"
    assert first["epcList"] == [f"urn:epc:raw:96.x{tag_event(store_id, 4)['payload']['epc']}"]
    assert first["readPoint"] == {"id": f"urn:o2o:store:{store_id}:reader:dock-1:1"}
    assert first["bizLocation"] == {"id": f"urn:o2o:store:{store_id}:zone:shelf-1"}
    assert first["eventTime"].endswith("Z")


def test_sqlite_demo_database(tmp_path: Path, store_id: str) -> None:
    url = f"sqlite:///{tmp_path / 'hq.sqlite3'}"
    upgrade(url)
    with TestClient(create_app(make_settings(url))) as client:
        creds = create_store(client, store_id)
        batch = [tag_event(store_id, n) for n in range(3)]
        batch.append(
            event(
                store_id,
                "sale",
                {
                    "sale_id": "s",
                    "till_id": "t",
                    "currency": "EUR",
                    "total": 5.0,
                    "lines": [{"gtin": GTIN_X, "quantity": 1, "amount": 5.0}],
                },
            )
        )
        assert post_events(client, creds, batch).json()["stored"] == 4
        again = post_events(client, creds, batch).json()
        assert again["duplicates"] == 4
        assert {r["event_id"] for r in again["results"]} == {e["event_id"] for e in batch}
        revenue = client.get("/api/v1/reports/revenue", headers=ADMIN).json()["rows"]
        assert revenue == [
            {
                "store_id": store_id,
                "sales": 5.0,
                "share_paid": 0.0,
                "share_received": 0.0,
                "attributed": 5.0,
            }
        ]


def test_zero_setup_demo_run(tmp_path: Path, store_id: str) -> None:
    """`o2o-hq run` with nothing configured: SQLite and secrets under ./var, then serves."""
    hq = start_hq(None, tmp_path / "hq.log", cwd=tmp_path, with_secrets=False)
    try:
        wait_ready(hq)
        token = (tmp_path / "var" / "hq-admin-token").read_text().strip()
        assert (tmp_path / "var" / "hq.sqlite3").is_file()
        assert (tmp_path / "var" / "hq-secret.key").stat().st_mode & 0o077 == 0
        with httpx.Client(base_url=hq.base_url, timeout=30) as http:
            response = http.post(
                "/api/v1/admin/stores",
                headers={"Authorization": f"Bearer {token}"},
                json={"id": store_id, "name": "Demo", "latitude": 1.0, "longitude": 2.0},
            )
            assert response.status_code == 201
            creds = StoreCreds(store_id, response.json()["key_id"], response.json()["secret"])
            assert post_events(http, creds, [tag_event(store_id, 1)]).json()["stored"] == 1
    finally:
        stop_hq(hq)


def test_empty_reports_say_why(client: TestClient, store_id: str) -> None:
    """No rows is never left to look like "no sales": the answer says what kept them out."""
    a = create_store(client, f"{store_id}w")
    events = [outcome(a.store_id, GTIN_X, "returned_to_floor", T0 + i) for i in range(3)]
    events += [outcome(a.store_id, GTIN_X, "purchased", T0 + 3)]
    assert post_events(client, a, events).json()["stored"] == len(events)
    mine = {"store_id": a.store_id}

    strict = client.get(
        "/api/v1/reports/tried-not-bought", headers=ADMIN, params={**mine, "min_tries": 5}
    ).json()
    assert strict["rows"] == []
    assert strict["why_empty"] == (
        "No product was tried 5 times or more (the most tried: 4); lower min_tries to see products."
    )
    converting = client.get(
        "/api/v1/reports/tried-not-bought",
        headers=ADMIN,
        params={**mine, "min_tries": 2, "max_conversion": 0.2},
    ).json()
    assert "converted above 20%" in converting["why_empty"]
    flagged = client.get(
        "/api/v1/reports/tried-not-bought",
        headers=ADMIN,
        params={**mine, "min_tries": 2, "max_conversion": 0.25},
    ).json()
    assert [r["product"] for r in flagged["rows"]] == [GTIN_X] and "why_empty" not in flagged

    before = {**mine, "from": "2026-01-01", "to": "2026-01-31"}
    for report in ("conversion", "hourly", "rfm", "revenue", "shrink", "gate-false-alarms"):
        body = client.get(f"/api/v1/reports/{report}", headers=ADMIN, params=before).json()
        assert body["rows"] == [], report
        assert body["why_empty"].endswith(
            f"in store {a.store_id} from 2026-01-01 to 2026-01-31. "
            "The newest data is from 2026-03-02 (UTC)."
        ), body
    nobody = create_store(client, f"{store_id}z")
    body = client.get(
        "/api/v1/reports/conversion", headers=ADMIN, params={"store_id": nobody.store_id}
    ).json()
    assert "no try-ons, visits or sales have been uploaded yet" in body["why_empty"]
