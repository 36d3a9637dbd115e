"""The downlink against a scripted HQ at the HTTP seam: ETags, atomic files, the encrypted
gallery, erasures, and the model checksum. (The real o2o-hq is in test_sync_hq.py.)"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cryptography.fernet import Fernet
from dict_gallery import DictGallery
from fake_hq import FakeHq, serve_fake_hq

from cloud_sync import protocol
from cloud_sync.client.downlink import Downlink, Resource
from cloud_sync.client.http import HqClient
from cloud_sync.client.outbox import Outbox
from cloud_sync.client.status import sync_status
from edge.config.sync import SyncConfig

SECRET = "downlink-secret"


@pytest.fixture
def fake() -> Iterator[FakeHq]:
    with serve_fake_hq(SECRET) as fake:
        yield fake


def _downlink(
    fake: FakeHq, store_id: str, data_dir: Path, gallery: DictGallery, **kw: object
) -> Downlink:
    config = SyncConfig(enabled=True, hq_url=fake.url, api_key_id="k", api_secret=SECRET)
    client = HqClient(fake.url, "k", SECRET)
    return Downlink(client, store_id, data_dir, config, secret=SECRET, gallery=gallery, **kw)  # type: ignore[arg-type]


def _gallery_token(members: dict[str, list[list[float]]], erased: list[str], secret: str) -> str:
    plain = {
        "members": [{"member_id": m, "embeddings": e} for m, e in members.items()],
        "erased": erased,
    }
    key = protocol.derive_key(secret, "gallery")
    return Fernet(key).encrypt(json.dumps(plain).encode()).decode()


def test_catalog_is_written_atomically_and_fetched_only_when_changed(
    fake: FakeHq, store_id: str, tmp_data_dir: Path
) -> None:
    catalog = {"version": "3", "products": [{"gtin": "04012345000019", "name": "Tee"}]}
    fake.gets[f"/api/v1/stores/{store_id}/catalog"] = (200, {"ETag": '"c3"'}, catalog)
    seen: list[str] = []
    downlink = _downlink(
        fake, store_id, tmp_data_dir, DictGallery(), on_catalog=lambda p, v: seen.append(v)
    )
    assert downlink.poll(Resource.CATALOG) is True
    assert json.loads((tmp_data_dir / "catalog.json").read_text()) == catalog
    assert downlink.poll(Resource.CATALOG) is False  # 304
    assert fake.get_paths[-1] == (f"/api/v1/stores/{store_id}/catalog", '"c3"')
    assert seen == ["3"]
    assert [p.name for p in tmp_data_dir.iterdir() if p.name.startswith(".")] == []
    # After a restart the ETag is remembered: still a 304.
    again = _downlink(fake, store_id, tmp_data_dir, DictGallery())
    assert again.poll(Resource.CATALOG) is False


def test_gallery_and_erasures_reach_the_gallery_sink(
    fake: FakeHq, store_id: str, tmp_data_dir: Path
) -> None:
    a, b = [[0.1] * 128, [0.2] * 128], [[0.3] * 128]
    token = _gallery_token({"m-a": a, "m-b": b}, ["m-old"], SECRET)
    fake.gets[f"/api/v1/stores/{store_id}/gallery"] = (
        200,
        {"ETag": '"g1"'},
        {"version": "1", "token": token},
    )
    fake.gets[f"/api/v1/stores/{store_id}/erasures?since=0"] = (
        200,
        {"ETag": '"e0-2"'},
        {"erasures": [{"seq": 2, "member_id": "m-b", "erased_at": "2026-11-22T08:00:00Z"}]},
    )
    fake.gets[f"/api/v1/stores/{store_id}/erasures?since=2"] = (
        200,
        {"ETag": '"e2-2"'},
        {"erasures": []},
    )
    gallery = DictGallery()
    gallery.members["m-old"] = np.zeros((1, 128))
    downlink = _downlink(fake, store_id, tmp_data_dir, gallery)
    assert downlink.poll(Resource.GALLERY)
    assert set(gallery.members) == {"m-a", "m-b"}
    assert gallery.members["m-a"].shape == (2, 128)
    assert downlink.poll(Resource.ERASURES)
    assert set(gallery.members) == {"m-a"}
    assert downlink.state.erasures_seq == 2
    assert not downlink.poll(Resource.ERASURES)
    assert fake.get_paths[-1][0].endswith("since=2")
    # What was applied is confirmed to HQ (the member page shows it), once each.
    assert fake.confirmations == [
        {"resource": "gallery", "version": 1},
        {"resource": "erasures", "version": 2},
    ]


def test_gallery_under_the_wrong_key_is_refused_and_the_old_one_kept(
    fake: FakeHq, store_id: str, tmp_data_dir: Path
) -> None:
    token = _gallery_token({"m-x": [[0.5] * 128]}, [], "another-store-secret")
    fake.gets[f"/api/v1/stores/{store_id}/gallery"] = (200, {}, {"version": "9", "token": token})
    gallery = DictGallery()
    gallery.members["m-kept"] = np.ones((1, 128))
    downlink = _downlink(fake, store_id, tmp_data_dir, gallery)
    assert downlink.poll(Resource.GALLERY) is False
    assert set(gallery.members) == {"m-kept"}
    assert "cannot decrypt" in (downlink.state.last_error or "")
    assert downlink.state.errors == 1


def _publish_model(fake: FakeHq, store_id: str, version: str, data: bytes, sha: str) -> None:
    url = f"/api/v1/stores/{store_id}/model/{version}"
    meta = {"version": version, "sha256": sha, "size": len(data), "url": url}
    fake.gets[f"/api/v1/stores/{store_id}/model"] = (200, {"ETag": f'"m-{sha}"'}, meta)
    fake.gets[url] = (200, {}, data)


def test_model_with_a_wrong_checksum_is_refused_and_the_old_one_kept(
    fake: FakeHq, store_id: str, tmp_data_dir: Path
) -> None:
    installed: list[tuple[Path, str]] = []
    downlink = _downlink(
        fake, store_id, tmp_data_dir, DictGallery(), on_model=lambda p, v: installed.append((p, v))
    )
    good = b"onnx-v1" * 1000
    _publish_model(fake, store_id, "v1", good, hashlib.sha256(good).hexdigest())
    assert downlink.poll(Resource.MODEL)
    assert downlink.model_path.read_bytes() == good
    assert installed == [(downlink.model_path, "v1")]

    bad = b"onnx-v2" * 1000
    _publish_model(fake, store_id, "v2", bad, hashlib.sha256(b"something else").hexdigest())
    assert downlink.poll(Resource.MODEL) is False
    assert downlink.model_path.read_bytes() == good
    assert downlink.state.models_refused == 1
    assert "model v2 refused" in (downlink.state.last_error or "")
    assert sorted(p.name for p in downlink.model_path.parent.iterdir()) == ["recommender.onnx"]
    assert len(installed) == 1

    status = sync_status(
        store_id,
        enabled=True,
        outbox=Outbox(tmp_data_dir / "outbox.db"),
        uploader=None,
        downlink=downlink,
        now_ms=1_795_000_000_000,
    )
    assert status.models_refused == 1 and status.downlink_versions["model"] == "v1"
    assert "refused" in (status.last_error or "")


def test_what_lives_in_memory_is_fetched_whole_after_a_restart(
    fake: FakeHq, store_id: str, tmp_data_dir: Path
) -> None:
    # Reservations and nearby stores' stock are kept in memory only: a restarted edge that
    # sent its old ETag would get a 304 and have none until HQ's answer changed.
    reservations = {"version": "7", "reservations": []}
    nearby = {"radius_km": 25.0, "max_age_s": 900.0, "stores": [], "stock": {}}
    fake.gets[f"/api/v1/stores/{store_id}/reservations"] = (200, {"ETag": '"r7"'}, reservations)
    fake.gets[f"/api/v1/stores/{store_id}/nearby-stock"] = (200, {"ETag": '"n1"'}, nearby)
    got: list[object] = []
    callbacks = {"on_reservations": got.append, "on_nearby_stock": got.append}
    first = _downlink(fake, store_id, tmp_data_dir, DictGallery(), **callbacks)
    assert first.poll(Resource.RESERVATIONS) and first.poll(Resource.NEARBY_STOCK)
    assert not first.poll(Resource.RESERVATIONS) and not first.poll(Resource.NEARBY_STOCK)
    again = _downlink(fake, store_id, tmp_data_dir, DictGallery(), **callbacks)
    assert again.poll(Resource.RESERVATIONS) and again.poll(Resource.NEARBY_STOCK)
    assert len(got) == 4
    assert fake.get_paths[-2:] == [
        (f"/api/v1/stores/{store_id}/reservations", None),
        (f"/api/v1/stores/{store_id}/nearby-stock", None),
    ]
    # A state file saved by an older edge, with the reservations' ETag in it, is read the same.
    state = tmp_data_dir / "sync" / "downlink.json"
    saved = json.loads(state.read_text())
    state.write_text(json.dumps(saved | {"etags": saved["etags"] | {"reservations": '"r7"'}}))
    older = _downlink(fake, store_id, tmp_data_dir, DictGallery(), **callbacks)
    assert older.poll(Resource.RESERVATIONS)
