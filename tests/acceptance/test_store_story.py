"""One store's story, told only through the shipped processes' external interfaces.

``o2o-hq run`` on PostgreSQL and ``o2o-edge run`` on a real STORE.yaml run as the user runs
them. Around them, as in a store: an R2000 module on a serial port (a pseudo-terminal the test
writes the module's bytes to), a Zebra reader and an Impinj reader publishing on the real
broker, a till posting sales over HTTP and another on MQTT, a staff handheld on MQTT, a
fitting-room tablet on the REST API and the WebSocket, and the operator's command line.
Nothing of the edge is imported: what is asserted is what those devices see.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
import yaml

from edge.bench.sync import HqProcess, free_port, stored_event_ids
from edge.vision.gallery_file import generate_key
from tests.acceptance.conftest import ADMIN_TOKEN
from tests.acceptance.rig import (
    Broker,
    EdgeRun,
    Tablet,
    impinj_event,
    r2000_tag_frame,
    wait_until,
    zebra_event,
)
from tests.conftest import REPO_ROOT, face_data_dir
from tests.edge_harness import IdleSerialPort

pytestmark = [pytest.mark.network, pytest.mark.slow]

# SGTIN-96 EPCs of the demo catalog (company prefix 0614141): two sweaters and a chino.
SWEATER_NAVY_M = "3034257BF40ABE4000000001"
SWEATER_RED_M = "3034257BF40ABE8000000002"
CHINO_BEIGE_32 = "3034257BF40CB24000000003"
GTIN_NAVY_M = "00614141110018"
GTIN_CHINO_BEIGE_32 = "00614141130016"
MEMBER_PERSON = "Abdullah_Gul"


def store_yaml(
    path: Path,
    *,
    store_id: str,
    serial_port: str,
    broker: tuple[str, int],
    api_port: int,
    hq_url: str,
    key_id: str,
    video: Path,
) -> Path:
    config: dict[str, Any] = {
        "store_id": store_id,
        "name": "Acceptance store",
        "data_dir": str(path.parent / "data"),
        "mqtt": {"host": broker[0], "port": broker[1]},
        "zones": [
            {"id": "entrance", "kind": "entrance", "name": "Entrance"},
            {"id": "shelf-a", "kind": "shelf", "name": "Shelf A"},
            {"id": "fitting-1", "kind": "fitting_room", "name": "Fitting room 1"},
            {"id": "pos", "kind": "pos", "name": "Checkout"},
            {"id": "exit", "kind": "exit", "name": "Exit gate"},
            {"id": "backroom", "kind": "backroom", "name": "Stock room"},
        ],
        "readers": [
            {
                "id": "shelf-reader",
                "kind": "r2000_serial",
                "port": serial_port,
                "antennas": {1: "shelf-a"},
            },
            {
                "id": "room-reader",
                "kind": "zebra_mqtt",
                "topic": f"zebra/{store_id}/data",
                "antennas": {1: "fitting-1", 3: "pos", 4: "backroom"},
            },
            {
                "id": "door-reader",
                "kind": "impinj_mqtt",
                "topic": f"impinj/{store_id}/events",
                "antennas": {1: "entrance", 2: "exit"},
                "offline_after_s": 900,
            },
        ],
        # A camera in the fitting room makes this edge keep a member gallery (synced from HQ).
        "cameras": [
            {"id": "cam-fit1", "zone": "fitting-1", "source": str(video), "offline_after_s": 600}
        ],
        "tracker": {
            "arrival_settle_s": 0,
            "min_reads_for_zone": 1,
            "departed_after_s": {"exit": 2},
        },
        "api": {"host": "127.0.0.1", "port": api_port, "admin_token": ADMIN_TOKEN},
        "sync": {
            "enabled": True,
            "hq_url": hq_url,
            "api_key_id": key_id,
            "api_secret": "${O2O_SYNC_API_SECRET}",
            "max_batch_age_s": 0.2,
            "retry_base_s": 0.2,
            "retry_max_s": 1.0,
            "gallery_poll_s": 1,
            "erasures_poll_s": 1,
            "catalog_poll_s": 2,
            "stock_report_s": 1,
        },
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def blank_video(path: Path) -> Path:
    """A short grey recording for the room's camera (nobody in it)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5.0, (320, 240))
    for _ in range(10):
        writer.write(np.full((240, 320, 3), 128, np.uint8))
    writer.release()
    return path


def upload_catalog(hq: HqProcess) -> None:
    catalog = json.loads((REPO_ROOT / "firmware_configs" / "demo_catalog.json").read_text())
    products = [
        {k: v for k, v in p.items() if k in ("gtin", "name", "category", "size", "colour", "price")}
        for p in catalog["products"]
    ]
    response = hq.admin("PUT", "/api/v1/catalog", json={"products": products})
    assert response.status_code == 204, response.text


def enrol_member_at_hq(hq: HqProcess, faces: Path) -> tuple[str, list[Path]]:
    """A member with face-recognition consent, enrolled at HQ from two photographs; returns
    the member's id and photographs (the third is never enrolled)."""
    photos = sorted((faces / "lfw" / MEMBER_PERSON).glob("*.jpg"))
    created = hq.admin("POST", "/api/v1/members", json={"name": "Abdullah", "tier": "gold"})
    assert created.status_code == 201, created.text
    member_id: str = created.json()["id"]
    consent = hq.admin(
        "POST",
        f"/api/v1/members/{member_id}/consents",
        json={"scope": "face_recognition", "given": True, "source": "store-form-1"},
    )
    assert consent.status_code == 201, consent.text
    for photo in photos[:2]:
        enrolled = hq.admin(
            "POST",
            f"/api/v1/members/{member_id}/photos",
            content=photo.read_bytes(),
        )
        assert enrolled.status_code == 201, enrolled.text
    return member_id, photos


def identify(edge: httpx.Client, photo: Path) -> str | None:
    response = edge.post(
        "/api/v1/members/identify",
        files={"photo": (photo.name, photo.read_bytes(), "image/jpeg")},
    )
    assert response.status_code == 200, response.text
    member: str | None = response.json()["member_id"]
    return member


def test_a_store_day_seen_from_outside(
    hq: HqProcess, tmp_path: Path, mqtt_broker: tuple[str, int]
) -> None:
    store_id = f"acc{uuid.uuid4().hex[:8]}"
    credentials = hq.create_store(store_id)
    upload_catalog(hq)
    faces = face_data_dir()
    member_id, photos = enrol_member_at_hq(hq, faces) if faces is not None else ("", [])

    serial = IdleSerialPort()
    api_port = free_port()
    config = store_yaml(
        tmp_path / "store.yaml",
        store_id=store_id,
        serial_port=serial.path,
        broker=mqtt_broker,
        api_port=api_port,
        hq_url=hq.url,
        key_id=credentials.key_id,
        video=blank_video(tmp_path / "room.mp4"),
    )
    prefix = f"o2o/{store_id}"
    handheld = Broker(*mqtt_broker, [f"{prefix}/events/#", f"{prefix}/alerts/#"])
    env = {"O2O_SYNC_API_SECRET": credentials.secret, "O2O_GALLERY_KEY": generate_key()}
    edge = EdgeRun(config, env)
    base = f"http://127.0.0.1:{api_port}"
    admin = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30
    )
    tablet: Tablet | None = None
    try:
        edge.start()
        # Start-up loads the face models for the camera's worker first: allow for a busy box.
        wait_until(lambda: _healthy(admin), "the edge's /healthz", 120)

        # Devices are paired with the operator's command line.
        def device(*args: str) -> str:
            added = edge.cli("devices", "add", *args, "--json")
            assert added.returncode == 0, added.stdout + added.stderr
            token: str = json.loads(added.stdout)["token"]
            return token

        tablet = Tablet(base, device("tablet-fit1", "--role", "tablet", "--zone", "fitting-1"))
        till = httpx.Client(
            base_url=base,
            headers={"Authorization": f"Bearer {device('till-1', '--role', 'till')}"},
            timeout=10,
        )

        # Items arrive on the shelf (R2000 on the serial port).
        for epc in (SWEATER_NAVY_M, SWEATER_RED_M, CHINO_BEIGE_32):
            serial.write(r2000_tag_frame(0x01, 1, epc, 0x45))  # -60 dBm
        wait_until(
            lambda: len(handheld.events(lambda t, _b: t.endswith("/events/tag.arrived"))) == 3,
            "three items placed on the shelf",
        )

        # An online channel sees them in stock at this store, on the floor, through HQ.
        channel_token = hq.admin(
            "POST", "/api/v1/admin/staff", json={"name": "web shop", "role": "channel"}
        ).json()["token"]

        def availability() -> dict[str, Any]:
            response = httpx.get(
                f"{hq.url}/api/v1/availability",
                params={"gtin": GTIN_NAVY_M, "lat": 48.85, "lon": 2.35, "radius_km": 5},
                headers={"Authorization": f"Bearer {channel_token}"},
                timeout=10,
            )
            assert response.status_code == 200, response.text
            here = [s for s in response.json()["stores"] if s["store_id"] == store_id]
            return here[0] if here else {}

        wait_until(lambda: availability().get("in_stock") is True, "the stock at HQ", 30)
        assert availability()["floor"] == 1 and availability()["backroom"] == 0

        # A shopper takes two sweaters into fitting room 1 (Zebra reader on MQTT).
        # Read strongly in the room for a few seconds, as a reader reads what is next to it.
        for _ in range(6):
            for epc in (SWEATER_NAVY_M, SWEATER_RED_M):
                handheld.publish(f"zebra/{store_id}/data", zebra_event(epc, 1, -35))
            time.sleep(0.4)
        wait_until(lambda: len(tablet.got("tryon.started")) == 2, "two try-ons on the tablet")
        wait_until(lambda: bool(tablet.got("recommendation")), "a recommendation on the tablet")
        room = tablet.http.get("/api/v1/rooms/fitting-1").json()
        assert {item["epc"] for item in room["items"]} == {SWEATER_NAVY_M, SWEATER_RED_M}
        assert room["recommendations"], room

        # Another size the store does not have gets the honest answer at once; "bring me
        # this" for the chino on the shelf reaches the staff handheld, and the handheld's
        # acknowledgement reaches the tablet.
        lacking = tablet.http.post(
            "/api/v1/rooms/fitting-1/size-requests", json={"gtin": GTIN_NAVY_M, "size": "L"}
        )
        assert (lacking.status_code, lacking.json()) == (409, {"detail": "Not in this store"})
        asked = tablet.http.post(
            "/api/v1/rooms/fitting-1/size-requests",
            json={"gtin": GTIN_CHINO_BEIGE_32, "size": "32"},
        )
        assert asked.status_code == 201, asked.text
        alert_id = asked.json()["alert_id"]
        wait_until(
            lambda: handheld.events(lambda t, b: t.endswith("/alerts/size_request")),
            "the size request on the staff handheld",
        )
        handheld.publish(
            f"{prefix}/alerts/ack", json.dumps({"alert_id": alert_id, "staff_id": "maria"}).encode()
        )
        wait_until(lambda: bool(tablet.got("alert.acknowledged")), "the ack on the tablet")
        assert tablet.got("alert.acknowledged")[0]["payload"]["staff_id"] == "maria"

        # One sweater is sold over HTTP, the other on the till's MQTT topic.
        sold = till.post(
            "/api/v1/sales",
            json={
                "sale_id": f"{store_id}-http",
                "till_id": "till-1",
                "total": 89.0,
                "lines": [{"epc": SWEATER_NAVY_M, "amount": 89.0}],
            },
        )
        assert sold.status_code == 201, sold.text
        handheld.publish(
            f"{prefix}/pos/sales",
            json.dumps(
                {
                    "sale_id": f"{store_id}-mqtt",
                    "till_id": "till-2",
                    "total": 89.0,
                    "lines": [{"epc": SWEATER_RED_M, "amount": 89.0}],
                }
            ).encode(),
        )
        wait_until(
            lambda: len(handheld.events(lambda t, _b: t.endswith("/events/sale"))) == 2,
            "both sales recorded",
        )

        # Both sweaters and the unpaid chino leave through the exit (Impinj on MQTT).
        for _ in range(6):
            for epc in (SWEATER_NAVY_M, SWEATER_RED_M, CHINO_BEIGE_32):
                handheld.publish(f"impinj/{store_id}/events", impinj_event(epc, 2, -30))
            time.sleep(0.4)

        def exit_alerts() -> list[dict[str, Any]]:
            return handheld.events(
                lambda t, b: t.endswith("/alerts/exit_unsold") and b["type"] == "alert.raised"
            )

        wait_until(lambda: bool(exit_alerts()), "the exit alarm for the unpaid chino")
        wait_until(
            lambda: len(handheld.events(lambda t, _b: t.endswith("/events/tag.departed"))) == 3,
            "three departures through the exit",
        )
        # The sold sweaters raise nothing; only the chino does.
        assert CHINO_BEIGE_32 in json.dumps(exit_alerts())
        for epc in (SWEATER_NAVY_M, SWEATER_RED_M):
            assert epc not in json.dumps(exit_alerts())

        if faces is not None:
            # HQ's gallery reaches the edge; erasing the member at HQ removes them from it.
            probe = photos[2]
            wait_until(lambda: identify(admin, probe) == member_id, "the member synced", 60)
            erased = hq.admin("DELETE", f"/api/v1/members/{member_id}")
            assert erased.status_code == 200, erased.text
            wait_until(lambda: identify(admin, probe) is None, "the erasure at the edge", 60)
            # And from the gallery file itself (what a restart, or the CLI, would load).
            found = edge.cli("faces", "identify", str(probe))
            assert found.returncode == 0, found.stdout + found.stderr
            assert json.loads(found.stdout)["member_id"] is None, found.stdout

        # Every event the store published reaches headquarters, exactly once.
        published = {
            body["event_id"]
            for body in handheld.events(lambda _t, b: isinstance(b.get("event_id"), str))
        }

        def stored() -> list[str]:
            return stored_event_ids(hq.database_url, store_id)

        wait_until(lambda: published <= set(stored()), "every event at HQ", 60)
        at_hq = stored()
        assert len(at_hq) == len(set(at_hq))
    except BaseException:
        print(f"--- edge log ---\n{edge.log()}\n--- hq log ---\n{hq.log()}")
        raise
    finally:
        if tablet is not None:
            tablet.close()
        admin.close()
        code = edge.stop()
        handheld.close()
        serial.close()
    assert code == 0, edge.log()


def _healthy(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.HTTPError:
        return False
