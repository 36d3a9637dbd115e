"""Downlink: catalog, gallery, model, erasures; versions with ETag/304; rate limit."""

from __future__ import annotations

import hashlib
import json

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from cloud_sync import protocol
from cloud_sync.hq.app import create_app
from cloud_sync.hq.core.config import Settings
from tests.hq.helpers import ADMIN, create_store, make_settings, post_events, signed_get, tag_event

pytestmark = pytest.mark.network


def new_member(client: TestClient, **extra: object) -> str:
    response = client.post("/api/v1/members", headers=ADMIN, json=extra)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def consent(client: TestClient, member_id: str, scope: str, given: bool) -> None:
    response = client.post(
        f"/api/v1/members/{member_id}/consents",
        headers=ADMIN,
        json={"scope": scope, "given": given, "source": "test"},
    )
    assert response.status_code == 201, response.text


def open_gallery(secret: str, token: str) -> dict[str, object]:
    plain = Fernet(protocol.derive_key(secret, "gallery")).decrypt(token.encode())
    return dict(json.loads(plain))


def test_catalog_etag_and_304(client: TestClient, store_id: str) -> None:
    creds = create_store(client, store_id)
    path = f"/api/v1/stores/{store_id}/catalog"
    first = signed_get(client, creds, path)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert signed_get(client, creds, path, **{"If-None-Match": etag}).status_code == 304
    product = {
        "gtin": "04012345678901",
        "name": "Linen shirt",
        "category": "shirts",
        "size": "M",
        "colour": "white",
        "price": 49.9,
        "image": "https://img/1.jpg",
    }
    assert (
        client.put("/api/v1/catalog", headers=ADMIN, json={"products": [product]}).status_code
        == 204
    )
    changed = signed_get(client, creds, path, **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert changed.json()["version"] != first.json()["version"]
    assert product in changed.json()["products"]


def test_downlink_requires_signature(client: TestClient, store_id: str) -> None:
    create_store(client, store_id)
    response = client.get(f"/api/v1/stores/{store_id}/catalog")
    assert (response.status_code, response.json()) == (401, {"detail": "Missing signature headers"})


def test_gallery_only_consented_and_erasure_reaches_it(client: TestClient, store_id: str) -> None:
    creds = create_store(client, store_id)
    consented = new_member(client, name="Ann")
    consent(client, consented, "face_recognition", True)
    vectors = [[0.1] * 128, [0.2] * 128]
    added = client.post(
        f"/api/v1/members/{consented}/embeddings", headers=ADMIN, json={"embeddings": vectors}
    )
    assert added.status_code == 201 and added.json()["embeddings"] == 2

    never = new_member(client, name="Bob")
    refused = client.post(
        f"/api/v1/members/{never}/embeddings", headers=ADMIN, json={"embeddings": vectors}
    )
    assert (refused.status_code, refused.json()) == (409, {"detail": "No face-recognition consent"})

    withdrawn = new_member(client, name="Cy")
    consent(client, withdrawn, "face_recognition", True)
    client.post(
        f"/api/v1/members/{withdrawn}/embeddings", headers=ADMIN, json={"embeddings": vectors}
    )
    consent(client, withdrawn, "face_recognition", False)

    path = f"/api/v1/stores/{store_id}/gallery"
    response = signed_get(client, creds, path)
    gallery = open_gallery(creds.secret, response.json()["token"])
    members = {m["member_id"]: m["embeddings"] for m in gallery["members"]}  # type: ignore[attr-defined]
    assert members[consented] == vectors
    assert never not in members and withdrawn not in members
    etag = response.headers["ETag"]
    assert signed_get(client, creds, path, **{"If-None-Match": etag}).status_code == 304

    erasures_before = signed_get(client, creds, f"/api/v1/stores/{store_id}/erasures?since=0")
    since = max([e["seq"] for e in erasures_before.json()["erasures"]], default=0)
    erased = client.delete(f"/api/v1/members/{consented}", headers=ADMIN)
    assert erased.status_code == 200 and erased.json()["personal_data_purged"] is True

    after = signed_get(client, creds, path, **{"If-None-Match": etag})
    assert after.status_code == 200
    gallery = open_gallery(creds.secret, after.json()["token"])
    assert consented not in {m["member_id"] for m in gallery["members"]}  # type: ignore[attr-defined]
    assert consented in gallery["erased"]  # type: ignore[operator]
    listed = signed_get(client, creds, f"/api/v1/stores/{store_id}/erasures?since={since}").json()
    assert [e["member_id"] for e in listed["erasures"]] == [consented]
    assert listed["erasures"][0]["seq"] > since
    member = client.get(f"/api/v1/members/{consented}", headers=ADMIN).json()
    assert member["embeddings"] == 0 and member["name"] is None and member["identities"] == []
    actions = [
        a["action"] for a in client.get(f"/api/v1/members/{consented}/audit", headers=ADMIN).json()
    ]
    assert actions[-2:] == ["member.erase", "member.purge"]


def test_model_upload_and_download(client: TestClient, store_id: str) -> None:
    creds = create_store(client, store_id)
    blob = b"\x08\x07fake-onnx-bytes" * 100
    version = f"v-{store_id}"
    up = client.post(
        f"/api/v1/models?version={version}",
        headers={**ADMIN, "Content-Type": "application/octet-stream"},
        content=blob,
    )
    assert up.status_code == 201, up.text
    meta = signed_get(client, creds, f"/api/v1/stores/{store_id}/model")
    assert meta.json() == {
        "version": version,
        "sha256": hashlib.sha256(blob).hexdigest(),
        "size": len(blob),
        "url": f"/api/v1/stores/{store_id}/model/{version}",
    }
    etag = meta.headers["ETag"]
    assert (
        signed_get(
            client, creds, f"/api/v1/stores/{store_id}/model", **{"If-None-Match": etag}
        ).status_code
        == 304
    )
    data = signed_get(client, creds, meta.json()["url"])
    assert data.headers["content-type"] == "application/octet-stream"
    assert data.content == blob


def test_rate_limit_429_with_retry_after(hq_database_url: str, store_id: str) -> None:
    settings: Settings = make_settings(
        hq_database_url, rate_limit_requests=3, rate_limit_window_s=3600
    )
    with TestClient(create_app(settings)) as limited:
        creds = create_store(limited, store_id)
        codes = [
            post_events(limited, creds, [tag_event(store_id, n)]).status_code for n in range(3)
        ]
        assert codes == [200, 200, 200]
        refused = post_events(limited, creds, [tag_event(store_id, 9)])
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 3600
        # The limit is per store.
        other = create_store(limited, f"{store_id}b")
        assert post_events(limited, other, [tag_event(other.store_id, 1)]).status_code == 200


def test_store_key_rotation_and_deactivation(client: TestClient, store_id: str) -> None:
    old = create_store(client, store_id)
    assert post_events(client, old, [tag_event(store_id, 1)]).status_code == 200
    rotated = client.post(f"/api/v1/admin/stores/{store_id}/rotate-key", headers=ADMIN)
    assert rotated.status_code == 200
    new = type(old)(store_id, rotated.json()["key_id"], rotated.json()["secret"])
    assert new.key_id != old.key_id
    assert post_events(client, old, [tag_event(store_id, 2)]).json() == {"detail": "Unknown key"}
    assert post_events(client, new, [tag_event(store_id, 3)]).status_code == 200
    off = client.patch(f"/api/v1/admin/stores/{store_id}", headers=ADMIN, json={"active": False})
    assert off.json()["active"] is False
    assert post_events(client, new, [tag_event(store_id, 4)]).status_code == 401
    missing = client.patch("/api/v1/admin/stores/nope", headers=ADMIN, json={"active": False})
    assert (missing.status_code, missing.json()) == (404, {"detail": "Store not found"})


def test_the_store_catalog_file_is_what_hq_takes_and_sends(
    client: TestClient, store_id: str
) -> None:
    """One product definition at both ends: the demo catalog file goes to HQ as it is, style
    included, and comes back to the store the same (edge.recommend.catalog.Catalog reads it)."""
    from edge.recommend.catalog import Product
    from tests.conftest import REPO_ROOT

    creds = create_store(client, store_id)
    products = json.loads((REPO_ROOT / "firmware_configs" / "demo_catalog.json").read_text())[
        "products"
    ][:20]
    put = client.put("/api/v1/catalog", headers=ADMIN, json={"products": products})
    assert put.status_code == 204, put.text
    sent = signed_get(client, creds, f"/api/v1/stores/{store_id}/catalog").json()["products"]
    by_gtin = {p["gtin"]: p for p in sent}
    for product in products:
        assert Product.model_validate(by_gtin[product["gtin"]]) == Product.model_validate(product)
    unknown = dict(products[0], colour_code="NV")
    refused = client.put("/api/v1/catalog", headers=ADMIN, json={"products": [unknown]})
    assert refused.status_code == 422 and "colour_code" in refused.text
