"""Member faces over HTTP: bearer token, enrol with consent, identify, forget, and a clear 4xx
body for every kind of bad input (real photographs, real backend, in-process app)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from edge.api.devices import DeviceRole
from edge.app.compose import EdgeOptions
from edge.clock import VirtualClock
from edge.config.loader import parse_store_config
from edge.config.store import StoreConfig
from edge.config.vision import GALLERY_KEY_ENV
from edge.vision.gallery_file import generate_key
from tests.edge_harness import running_edge

TOKEN = "test-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def store(data_dir: Path, token: str | None = TOKEN) -> StoreConfig:
    return parse_store_config(
        {
            "store_id": f"s-api-{data_dir.name[-12:]}",
            "data_dir": str(data_dir),
            "zones": [{"id": "fitting", "kind": "fitting_room"}],
            "api": {"admin_token": token},
        }
    )


@contextmanager
def edge_client(config: StoreConfig) -> Iterator[TestClient]:
    """The edge as `o2o-edge run` builds it, its API in a TestClient."""
    clock = VirtualClock(1_700_000_000_000)
    with (
        running_edge(config, EdgeOptions(clock=clock, wall_clock=clock)) as edge,
        TestClient(edge.http) as client,
    ):
        client.edge = edge  # type: ignore[attr-defined]
        yield client


@pytest.fixture
def client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mqtt_broker: tuple[str, int]
) -> Iterator[TestClient]:
    monkeypatch.setenv(GALLERY_KEY_ENV, generate_key())
    with edge_client(store(tmp_path)) as c:
        yield c


def photo(path: Path) -> tuple[str, bytes, str]:
    return (path.name, path.read_bytes(), "image/jpeg")


def lfw(faces_dir: Path, identity: str, index: int) -> Path:
    return sorted((faces_dir / "lfw" / identity).glob("*.jpg"))[index]


def test_token_is_required(client: TestClient) -> None:
    response = client.delete("/api/v1/members/m-1")
    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}
    assert response.headers["www-authenticate"] == "Bearer"
    wrong = client.delete("/api/v1/members/m-1", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "Invalid token"}


def test_paired_admin_devices_reach_members_and_other_roles_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mqtt_broker: tuple[str, int]
) -> None:
    """No admin token in the configuration: a paired admin device is the admin."""
    monkeypatch.setenv(GALLERY_KEY_ENV, generate_key())
    with edge_client(store(tmp_path, token=None)) as c:
        devices = c.edge.devices  # type: ignore[attr-defined]
        admin = devices.add("office", DeviceRole.ADMIN).token
        staff = devices.add("maria", DeviceRole.STAFF).token
        till = devices.add("till-1", DeviceRole.TILL).token
        for token in (staff, till):
            refused = c.delete("/api/v1/members/m-1", headers={"Authorization": f"Bearer {token}"})
            assert refused.status_code == 403
            assert refused.json() == {"detail": "Admin token required"}
        missing = c.delete("/api/v1/members/m-1", headers={"Authorization": f"Bearer {admin}"})
        assert missing.status_code == 404
        assert missing.json() == {"detail": "Member not found"}


def test_missing_gallery_key_is_a_clear_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mqtt_broker: tuple[str, int]
) -> None:
    monkeypatch.delenv(GALLERY_KEY_ENV, raising=False)
    with edge_client(store(tmp_path)) as c:
        response = c.delete("/api/v1/members/m-1", headers=AUTH)
    assert response.status_code == 503
    assert response.json()["detail"].startswith("Face recognition unavailable: no gallery key")


def test_enrol_identify_forget(client: TestClient, faces_dir: Path) -> None:
    gul = [lfw(faces_dir, "Abdullah_Gul", i) for i in range(3)]
    dog = faces_dir / "dlib_examples" / "_noface" / "dog.jpg"
    couple = faces_dir / "deepface_tests" / "_multi" / "couple.jpg"

    refused = client.post(
        "/api/v1/members/m-1/faces", headers=AUTH, files=[("photos", photo(gul[0]))]
    )
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("member m-1 has no consent record")

    enrolled = client.post(
        "/api/v1/members/m-1/faces",
        headers=AUTH,
        data={"consent_reference": "form-77"},
        files=[("photos", photo(gul[0])), ("photos", photo(gul[1])), ("photos", photo(dog))],
    )
    assert enrolled.status_code == 201, enrolled.text
    body = enrolled.json()
    # Two usable photos, one mean template.
    assert (body["member_id"], body["added"], body["photos_used"], body["embeddings"]) == (
        "m-1",
        1,
        2,
        1,
    )
    assert body["photos"][2] == {
        "name": "dog.jpg",
        "accepted": False,
        "problem": "no_face",
        "message": "no face found",
        "quality": None,
        "notes": [],
    }
    assert all(0 < p["quality"] <= 1 for p in body["photos"][:2])
    assert len(enrolled.text) < 1000  # counts and messages only: no embedding in a response

    found = client.post("/api/v1/members/identify", headers=AUTH, files={"photo": photo(gul[2])})
    assert found.status_code == 200
    assert found.json()["member_id"] == "m-1" and found.json()["distance"] < 0.48
    stranger = lfw(faces_dir, "Adrien_Brody", 0)
    unknown = client.post(
        "/api/v1/members/identify", headers=AUTH, files={"photo": photo(stranger)}
    )
    assert unknown.status_code == 200 and unknown.json()["member_id"] is None

    several = client.post("/api/v1/members/identify", headers=AUTH, files={"photo": photo(couple)})
    assert several.status_code == 422
    assert several.json() == {
        "detail": "several faces found; use a photo of the member alone (2 faces)",
        "problem": "several_faces",
    }

    erased = client.delete("/api/v1/members/m-1", headers=AUTH)
    assert erased.json() == {"member_id": "m-1", "embeddings_removed": 1, "consent_removed": True}
    again = client.delete("/api/v1/members/m-1", headers=AUTH)
    assert again.status_code == 404 and again.json() == {"detail": "Member not found"}
    after = client.post("/api/v1/members/identify", headers=AUTH, files={"photo": photo(gul[2])})
    assert after.json()["member_id"] is None


def test_bad_input_bodies(client: TestClient, faces_dir: Path) -> None:
    no_file = client.post("/api/v1/members/identify", headers=AUTH)
    assert no_file.status_code == 422
    assert [(e["loc"], e["type"]) for e in no_file.json()["detail"]] == [
        (["body", "photo"], "missing")
    ]
    no_files = client.post(
        "/api/v1/members/m-2/faces", headers=AUTH, data={"consent_reference": "form-1"}
    )
    assert no_files.status_code == 422
    assert no_files.json()["detail"][0]["loc"] == ["body", "photos"]
    # A huge refused value comes back as a short excerpt, not echoed whole.
    huge = client.post("/api/v1/devices/pair", json={"code": "x" * 900_000})
    assert huge.status_code == 422 and len(huge.content) < 2_000, huge.content[:300]
    assert huge.json()["detail"][0]["input"] == "x" * 80 + "…"

    garbage = ("scan.jpg", b"\xff\xd8 this is not a jpeg", "image/jpeg")
    unreadable = client.post("/api/v1/members/identify", headers=AUTH, files={"photo": garbage})
    assert unreadable.status_code == 422
    assert unreadable.json() == {"detail": "not a readable image", "problem": "unreadable"}

    dog = faces_dir / "dlib_examples" / "_noface" / "dog.jpg"
    useless = client.post(
        "/api/v1/members/m-2/faces",
        headers=AUTH,
        data={"consent_reference": "form-2"},
        files=[("photos", garbage), ("photos", photo(dog))],
    )
    assert useless.status_code == 422
    body = useless.json()
    assert body["detail"] == "No usable photo" and body["added"] == 0
    assert [p["problem"] for p in body["photos"]] == ["unreadable", "no_face"]

    blank = client.post(
        "/api/v1/members/m-2/faces",
        headers=AUTH,
        data={"consent_reference": "  "},
        files=[("photos", photo(dog))],
    )
    assert blank.status_code == 400 and blank.json() == {"detail": "consent_reference is empty"}

    bad_id = client.post(
        "/api/v1/members/%20bad%20id/faces", headers=AUTH, files=[("photos", photo(dog))]
    )
    assert bad_id.status_code == 400
    assert json.loads(bad_id.text)["detail"].startswith("invalid member id ' bad id'")
