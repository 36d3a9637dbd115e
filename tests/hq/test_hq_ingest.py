"""Ingestion through real ``o2o-hq run`` processes on PostgreSQL."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from cloud_sync import protocol
from cloud_sync.hq.models import StoredEvent
from tests.hq.helpers import (
    ADMIN,
    create_store,
    event,
    post_events,
    signed,
    tag_event,
)

pytestmark = pytest.mark.network


def stored_count(url: str, event_ids: list[str]) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.scalar(
                    select(func.count())
                    .select_from(StoredEvent)
                    .where(StoredEvent.event_id.in_(event_ids))
                )
                or 0
            )
    finally:
        engine.dispose()


def test_batch_stored_once_then_duplicate(
    hq_http: httpx.Client, hq_database_url: str, store_id: str
) -> None:
    creds = create_store(hq_http, store_id)
    events = [tag_event(store_id, n) for n in range(5)]
    first = post_events(hq_http, creds, events)
    assert first.status_code == 200, first.text
    assert first.json()["stored"] == 5
    assert [r["status"] for r in first.json()["results"]] == ["stored"] * 5
    again = post_events(hq_http, creds, events)
    assert again.status_code == 200
    assert again.json() | {"results": None} == {
        "results": None,
        "stored": 0,
        "duplicates": 5,
        "rejected": 0,
    }
    assert {r["event_id"] for r in again.json()["results"]} == {e["event_id"] for e in events}
    assert stored_count(hq_database_url, [e["event_id"] for e in events]) == 5


def test_conflict_and_invalid_are_per_event(hq_http: httpx.Client, store_id: str) -> None:
    creds = create_store(hq_http, store_id)
    original = tag_event(store_id, 1)
    assert post_events(hq_http, creds, [original]).json()["stored"] == 1
    changed = {**original, "payload": {**original["payload"], "zone": "fitting-2"}}
    missing_zone = tag_event(store_id, 2)
    del missing_zone["payload"]["zone"]
    other_store = tag_event("someone-else", 3)
    good = tag_event(store_id, 4)
    response = post_events(hq_http, creds, [changed, missing_zone, other_store, good])
    assert response.status_code == 200
    body = response.json()
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["conflict", "invalid", "invalid", "stored"]
    assert body["stored"] == 1 and body["rejected"] == 3
    assert body["results"][0]["detail"] == (
        f"events[0] ({original['event_id']}): event_id already stored with a different body"
    )
    assert body["results"][1]["detail"] == (
        f"events[1] ({missing_zone['event_id']}): payload.zone: Field required"
    )
    assert body["results"][2]["detail"].startswith(
        f"events[2] ({other_store['event_id']}): store_id"
    )


def test_same_id_twice_in_one_batch(hq_http: httpx.Client, store_id: str) -> None:
    creds = create_store(hq_http, store_id)
    one = tag_event(store_id, 1)
    clash = {**one, "source": "elsewhere"}
    body = post_events(hq_http, creds, [one, one, clash]).json()
    assert [r["status"] for r in body["results"]] == ["stored", "duplicate", "conflict"]


def test_unknown_type_stored_with_its_payload(hq_http: httpx.Client, store_id: str) -> None:
    creds = create_store(hq_http, store_id)
    body = post_events(hq_http, creds, [event(store_id, "future.thing", {"x": 1})]).json()
    assert body["stored"] == 1


@pytest.mark.parametrize(
    ("raw", "encoding", "detail"),
    [
        (b"not gzip", "gzip", "Body is not valid gzip"),
        (gzip.compress(b"{not json"), "gzip", "Body is not JSON"),
        (gzip.compress(b'{"events": []}')[:-6], "gzip", "Body is not valid gzip: truncated"),
        (b'{"events": 3}', "identity", 'Body must be a JSON object {"events": [...]}'),
        (b"[]", None, 'Body must be a JSON object {"events": [...]}'),
    ],
    ids=["bad-gzip", "bad-json", "truncated-gzip", "events-not-list", "not-object"],
)
def test_unusable_body_is_422(
    hq_http: httpx.Client, store_id: str, raw: bytes, encoding: str | None, detail: str
) -> None:
    creds = create_store(hq_http, store_id)
    path = protocol.EVENTS_PATH.format(store_id=store_id)
    headers = signed(creds, "POST", path, raw)
    if encoding:
        headers["Content-Encoding"] = encoding
    response = hq_http.post(path, content=raw, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(detail)


def test_identity_encoding_accepted(hq_http: httpx.Client, store_id: str) -> None:
    creds = create_store(hq_http, store_id)
    raw = json.dumps({"events": [tag_event(store_id, 7)]}).encode()
    path = protocol.EVENTS_PATH.format(store_id=store_id)
    response = hq_http.post(path, content=raw, headers=signed(creds, "POST", path, raw))
    assert response.json()["stored"] == 1


def test_auth_rejections(hq_http: httpx.Client, store_id: str) -> None:
    creds = create_store(hq_http, store_id)
    events = [tag_event(store_id, 1)]
    bad_sig = post_events(hq_http, creds, events, secret="wrong-secret")
    assert (bad_sig.status_code, bad_sig.json()) == (401, {"detail": "Bad signature"})
    stale = post_events(hq_http, creds, events, ts=int(time.time()) - protocol.MAX_SKEW_S - 5)
    assert (stale.status_code, stale.json()) == (401, {"detail": "Stale timestamp"})
    future = post_events(hq_http, creds, events, ts=int(time.time()) + protocol.MAX_SKEW_S + 5)
    assert future.json() == {"detail": "Stale timestamp"}
    unknown = post_events(hq_http, type(creds)(store_id, "k_nobody", creds.secret), events)
    assert (unknown.status_code, unknown.json()) == (401, {"detail": "Unknown key"})
    other = create_store(hq_http, f"{store_id}x")
    wrong_store = post_events(hq_http, type(creds)(store_id, other.key_id, other.secret), events)
    assert wrong_store.status_code == 403
    # The signature covers the body: a body changed in transit is refused.
    path = protocol.EVENTS_PATH.format(store_id=store_id)
    raw = json.dumps({"events": events}).encode()
    tampered = hq_http.post(path, content=raw + b" ", headers=signed(creds, "POST", path, raw))
    assert tampered.json() == {"detail": "Bad signature"}
    # Refusals are counted, summed over the process's two workers.
    assert hq_http.get("/metrics").status_code == 401
    exposition = hq_http.get("/metrics", headers=ADMIN).text
    counts = dict(
        line.rsplit(" ", 1)
        for line in exposition.splitlines()
        if line.startswith("o2o_hq_store_requests_refused_total")
    )
    for reason in ("Bad signature", "Stale timestamp", "Unknown key"):
        assert float(counts[f'o2o_hq_store_requests_refused_total{{reason="{reason}"}}']) >= 1


def test_two_processes_ingesting_the_same_batches(
    hq_servers: tuple[str, str], hq_database_url: str, store_id: str
) -> None:
    with (
        httpx.Client(base_url=hq_servers[0], timeout=30) as a,
        httpx.Client(base_url=hq_servers[1], timeout=30) as b,
    ):
        creds = create_store(a, store_id)
        batches = [
            [tag_event(store_id, n) for _ in range(1) for n in range(k, k + 50)] for k in (0, 25)
        ]
        # Overlapping batches, each sent 4 times to each of the two processes at once.
        jobs = [(http, batch) for batch in batches for http in (a, b) for _ in range(4)]
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            responses = list(pool.map(lambda job: post_events(job[0], creds, job[1]), jobs))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    stored: dict[str, int] = {}
    for response in responses:
        for result in response.json()["results"]:
            assert result["status"] in ("stored", "duplicate"), result
            stored[result["event_id"]] = stored.get(result["event_id"], 0) + (
                result["status"] == "stored"
            )
    all_ids = {e["event_id"] for batch in batches for e in batch}
    assert stored == dict.fromkeys(all_ids, 1)
    assert stored_count(hq_database_url, list(all_ids)) == len(all_ids) == 100
    assert uuid.UUID(next(iter(all_ids))).version == 7
