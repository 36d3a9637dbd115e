"""Signed ingestion under Hypothesis (real PostgreSQL): batches of events mutated from the
edge's own wire events (any field replaced by any JSON: NULs and control characters, huge
numbers, deep nesting, wrong types), duplicates and replays, signed right or wrong. HQ never
answers 5xx; a well-signed batch gets one result per event, each stored, duplicate or invalid
with a reason naming the field, and a re-sent batch stores nothing twice."""

from __future__ import annotations

import copy
import gzip
import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud_sync import protocol
from tests.contract_counts import count
from tests.hq.helpers import StoreCreds, create_store, event, signed

pytestmark = pytest.mark.network
EXAMPLES = 400

STRINGS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80
) | st.sampled_from(["", "\x00", "A\x00B", "x" * 500, "M\u0000", "\x1b[31m"])
NUMBERS = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([2**31, 2**31 - 1, -(2**31) - 1, 1e308, 1.7e308, -0.0])
)
SCALARS = st.none() | st.booleans() | NUMBERS | STRINGS
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(STRINGS, inner, max_size=4),
    max_leaves=12,
)


def templates(store_id: str) -> list[dict[str, Any]]:
    """Valid wire events of several types, built with the edge's own models."""
    tag = {
        "epc": "3074257BF7194E4000001A85",
        "gtin": "80614141123458",
        "zone": "shelf-a",
        "zone_kind": "shelf",
        "reader_id": "r1",
        "antenna": 1,
        "rssi_dbm": -50.0,
    }
    sale = {
        "sale_id": "S-1",
        "till_id": "t1",
        "total": 10.0,
        "currency": "EUR",
        "lines": [{"gtin": "00614141000012", "quantity": 1, "amount": 10.0}],
    }
    visit = {"visit_id": "v1", "member_id": "m1", "zone": "entrance", "camera_id": "c1"}
    return [
        event(store_id, "tag.arrived", tag),
        event(store_id, "sale", sale),
        event(store_id, "visit.started", visit),
    ]


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    found = copy.deepcopy(base)
    # The template's time-ordered id with a drawn tail: new ids, and repeats within a batch.
    found["event_id"] = base["event_id"][:-12] + f"{draw(st.integers(0, 2**48 - 1)):012x}"
    for _ in range(draw(st.integers(0, 3))):
        target: Any = found
        path = draw(st.lists(st.sampled_from(["payload", "lines", 0, "type", "ts"]), max_size=3))
        for part in path:
            if isinstance(target, dict) and part in target:
                target = target[part]
            elif isinstance(target, list) and isinstance(part, int) and target:
                target = target[0]
        if isinstance(target, dict) and target:
            key = draw(st.sampled_from(sorted(target, key=str)) | STRINGS)
            target[key] = draw(JSON)
    return found


def post(client: TestClient, creds: StoreCreds, batch: Any, good_signature: bool) -> Any:
    body = gzip.compress(json.dumps({"events": batch}).encode())
    path = protocol.EVENTS_PATH.format(store_id=creds.store_id)
    secret = None if good_signature else creds.secret[::-1]
    headers = {
        **signed(creds, "POST", path, body, secret=secret),
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
    }
    return client.post(path, content=body, headers=headers)


@pytest.fixture(scope="module")
def creds(client: TestClient) -> StoreCreds:
    return create_store(client, f"fuzz-{uuid.uuid4().hex[:8]}")


def test_signed_batches_never_5xx_and_every_event_gets_a_named_result(
    client: TestClient, creds: StoreCreds
) -> None:
    bases = templates(creds.store_id)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        batch=st.lists(st.sampled_from(bases).flatmap(mutated), min_size=1, max_size=6),
        good_signature=st.booleans(),
        replay=st.booleans(),
    )
    def check(batch: list[dict[str, Any]], good_signature: bool, replay: bool) -> None:
        count("signed ingestion batches")
        response = post(client, creds, batch, good_signature)
        assert response.status_code < 500, response.text[:500]
        if not good_signature:
            assert response.status_code == 401
            return
        assert response.status_code == 200, response.text[:500]
        results = response.json()["results"]
        assert len(results) == len(batch)
        for result in results:
            assert result["status"] in {"stored", "duplicate", "invalid", "conflict"}, result
            if result["status"] == "invalid":
                assert result["detail"], result
        if replay:
            again = post(client, creds, batch, True).json()["results"]
            assert not any(r["status"] == "stored" for r in again), again

    check()
