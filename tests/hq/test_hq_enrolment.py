"""Photo enrolment at HQ with the edge's face backend, on the shared real photographs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from cloud_sync import protocol
from tests.hq.helpers import ADMIN, create_store, signed_get

pytestmark = [pytest.mark.network, pytest.mark.faces]


def photos(faces_dir: Path, category: str, identity: str = "") -> list[Path]:
    with (faces_dir / "INDEX.csv").open() as handle:
        rows = [
            r
            for r in csv.DictReader(handle)
            if r["source"] == "lfw"
            and r["category"] == category
            and (not identity or r["identity"] == identity)
        ]
    return [faces_dir / r["source"] / r["path"] for r in rows]


def test_photo_enrolment_reaches_gallery(
    client: TestClient, faces_dir: Path, store_id: str
) -> None:
    creds = create_store(client, store_id)
    member_id = client.post("/api/v1/members", headers=ADMIN, json={}).json()["id"]
    portrait = photos(faces_dir, "identity")[0]
    url = f"/api/v1/members/{member_id}/photos"
    refused = client.post(url, headers=ADMIN, content=portrait.read_bytes())
    assert (refused.status_code, refused.json()) == (409, {"detail": "No face-recognition consent"})
    client.post(
        f"/api/v1/members/{member_id}/consents",
        headers=ADMIN,
        json={"scope": "face_recognition", "given": True, "source": "counter"},
    )
    enrolled = client.post(
        url, headers={**ADMIN, "X-Photo-Name": portrait.name}, content=portrait.read_bytes()
    )
    assert enrolled.status_code == 201, enrolled.text
    assert enrolled.json()["embeddings"] == 1
    unreadable = client.post(
        url, headers={**ADMIN, "X-Photo-Name": "x.jpg"}, content=b"not an image"
    )
    assert (unreadable.status_code, unreadable.json()) == (
        422,
        {"detail": "x.jpg: not a readable image or video"},
    )

    token = signed_get(client, creds, f"/api/v1/stores/{store_id}/gallery").json()["token"]
    gallery = json.loads(
        Fernet(protocol.derive_key(creds.secret, "gallery")).decrypt(token.encode())
    )
    mine = next(m for m in gallery["members"] if m["member_id"] == member_id)
    assert len(mine["embeddings"]) == 1 and len(mine["embeddings"][0]) == 128


def test_photo_without_a_face_is_refused(client: TestClient, faces_dir: Path) -> None:
    with (faces_dir / "INDEX.csv").open() as handle:
        noface = next(
            faces_dir / r["source"] / r["path"]
            for r in csv.DictReader(handle)
            if r["category"] == "_noface"
        )
    member_id = client.post("/api/v1/members", headers=ADMIN, json={}).json()["id"]
    client.post(
        f"/api/v1/members/{member_id}/consents",
        headers=ADMIN,
        json={"scope": "face_recognition", "given": True, "source": "counter"},
    )
    response = client.post(
        f"/api/v1/members/{member_id}/photos",
        headers={**ADMIN, "X-Photo-Name": "landscape.jpg"},
        content=noface.read_bytes(),
    )
    assert (response.status_code, response.json()) == (
        422,
        {"detail": "landscape.jpg: no face found"},
    )


def test_several_photos_make_one_template_with_a_reason_per_photo(
    client: TestClient, faces_dir: Path
) -> None:
    member_id = client.post("/api/v1/members", headers=ADMIN, json={}).json()["id"]
    client.post(
        f"/api/v1/members/{member_id}/consents",
        headers=ADMIN,
        json={"scope": "face_recognition", "given": True, "source": "counter"},
    )
    gul = photos(faces_dir, "identity", "Abdullah_Gul")[:2]
    noface = faces_dir / "dlib_examples" / "_noface" / "dog.jpg"
    files = [("photos", (p.name, p.read_bytes(), "image/jpeg")) for p in (*gul, noface)]
    url = f"/api/v1/members/{member_id}/photos"
    enrolled = client.post(url, headers=ADMIN, files=files)
    assert enrolled.status_code == 201, enrolled.text
    body = enrolled.json()
    assert body["embeddings"] == 1  # one mean template of the two usable photos
    assert [(p["name"], p["accepted"], p["problem"]) for p in body["photos"]] == [
        (gul[0].name, True, None),
        (gul[1].name, True, None),
        ("dog.jpg", False, "no_face"),
    ]
    assert all(0 < p["quality"] <= 1 for p in body["photos"][:2])

    nothing = client.post(url, headers=ADMIN, files=[("photos", ("dog.jpg", b"", "image/jpeg"))])
    assert (nothing.status_code, nothing.json()) == (
        422,
        {"detail": "dog.jpg: not a readable image or video"},
    )
    empty = client.post(url, headers=ADMIN, files=[("other", ("x.jpg", b"x", "image/jpeg"))])
    assert (empty.status_code, empty.json()) == (
        400,
        {"detail": "No photo uploaded (multipart field photos)"},
    )
