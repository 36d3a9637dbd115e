"""Reserve online, try in store, through the shipped processes only: a member reserves two
items online (an online channel on HQ's API), staff pick them from the pick list, RFID reads
them in the fitting room (ready), the member checks in with their QR code at the room's
tablet, tries them and buys one at the till; when the window ends the other is to go back to
the floor, and RFID sees it there. Asserted at the store (the events on MQTT, in order) and at
HQ (the reservation's rows and the reserve-to-buy report)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from cloud_sync import protocol
from edge.bench.sync import HqProcess, StoreCredentials, free_port
from edge.vision.gallery_file import generate_key
from tests.acceptance.rig import Broker, EdgeRun, Tablet, r2000_tag_frame, wait_until, zebra_event
from tests.acceptance.test_store_story import (
    GTIN_NAVY_M,
    SWEATER_NAVY_M,
    SWEATER_RED_M,
    blank_video,
    store_yaml,
    upload_catalog,
)
from tests.edge_harness import IdleSerialPort

pytestmark = [pytest.mark.network, pytest.mark.slow]

GTIN_RED_M = "00614141110025"
WINDOW_S = 25


def test_reserve_online_pick_ready_check_in_buy_one_return_one(
    hq: HqProcess, tmp_path: Path, mqtt_broker: tuple[str, int]
) -> None:
    store_id = f"res{uuid.uuid4().hex[:8]}"
    credentials = hq.create_store(store_id)
    upload_catalog(hq)
    member = hq.admin("POST", "/api/v1/members", json={"name": "Ana"}).json()["id"]
    channel = hq.admin(
        "POST", "/api/v1/admin/staff", json={"name": "web shop", "role": "channel"}
    ).json()["token"]
    web_shop = httpx.Client(
        base_url=hq.url, headers={"Authorization": f"Bearer {channel}"}, timeout=10
    )

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
    settings = yaml_settings(config)
    settings["sync"] |= {"reservations_poll_s": 1, "stock_report_s": 1}
    config.write_text(yaml.safe_dump(settings, sort_keys=False))
    prefix = f"o2o/{store_id}"
    handheld = Broker(*mqtt_broker, [f"{prefix}/events/#"])
    edge = EdgeRun(
        config, {"O2O_SYNC_API_SECRET": credentials.secret, "O2O_GALLERY_KEY": generate_key()}
    )
    base = f"http://127.0.0.1:{api_port}"
    tablet: Tablet | None = None

    def events(kind: str) -> list[dict[str, Any]]:
        return [b for b in handheld.events(lambda t, _b: t.endswith(f"/events/{kind}"))]

    try:
        edge.start()
        wait_until(lambda: _healthy(base), "the edge's /healthz", 120)

        def device(*args: str) -> str:
            added = edge.cli("devices", "add", *args, "--json")
            assert added.returncode == 0, added.stdout + added.stderr
            return str(json.loads(added.stdout)["token"])

        staff = httpx.Client(
            base_url=base,
            headers={"Authorization": f"Bearer {device('maria', '--role', 'staff')}"},
            timeout=10,
        )
        till = httpx.Client(
            base_url=base,
            headers={"Authorization": f"Bearer {device('till-1', '--role', 'till')}"},
            timeout=10,
        )
        tablet = Tablet(base, device("tablet-fit1", "--role", "tablet", "--zone", "fitting-1"))

        # Two sweaters on the shelf; HQ learns the store has them.
        for epc in (SWEATER_NAVY_M, SWEATER_RED_M):
            serial.write(r2000_tag_frame(0x01, 1, epc, 0x45))
        wait_until(lambda: len(events("tag.arrived")) == 2, "two sweaters on the shelf")

        def in_stock() -> bool:
            found = web_shop.get("/api/v1/availability", params={"gtin": GTIN_RED_M}).json()
            return any(s["store_id"] == store_id and s["in_stock"] for s in found["stores"])

        wait_until(in_stock, "the stock at HQ", 30)

        # The member reserves both online.
        start = datetime.now(UTC) - timedelta(minutes=1)
        made = web_shop.post(
            "/api/v1/reservations",
            json={
                "member_id": member,
                "store_id": store_id,
                "items": [{"gtin": GTIN_NAVY_M}, {"gtin": GTIN_RED_M}],
                "window_start": start.isoformat(),
                "window_end": (datetime.now(UTC) + timedelta(seconds=WINDOW_S)).isoformat(),
            },
        )
        assert made.status_code == 201, made.text
        rid = made.json()["id"]

        # Staff see the pick list (where each item is) and pick both.
        def board() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = staff.get("/api/v1/reservations").json()["reservations"]
            return [r for r in found if r["id"] == rid]

        wait_until(lambda: bool(board()), "the reservation at the store", 20)
        (open_,) = board()
        assert [item["where"] for item in open_["items"]] == [
            [{"epc": SWEATER_NAVY_M, "zone": "shelf-a"}],
            [{"epc": SWEATER_RED_M, "zone": "shelf-a"}],
        ]
        for index, epc in enumerate((SWEATER_NAVY_M, SWEATER_RED_M)):
            picked = staff.post(
                f"/api/v1/reservations/{rid}/items/{index}/picked", json={"epc": epc}
            )
            assert picked.status_code == 200, picked.text
        assert board()[0]["status"] == "picking"  # a tap alone does not make it ready

        # RFID reads both in the fitting room: ready, at the store and at HQ.
        for _ in range(5):
            for epc in (SWEATER_NAVY_M, SWEATER_RED_M):
                handheld.publish(f"zebra/{store_id}/data", zebra_event(epc, 1, -35))
            time.sleep(0.3)
        wait_until(lambda: bool(events("reservation.ready")), "the reservation ready")
        wait_until(
            lambda: web_shop.get(f"/api/v1/reservations/{rid}").json()["status"] == "ready",
            "HQ knows it is ready",
            20,
        )

        # The member checks in with the code on their phone; the room's tablet greets them.
        code = _checkin_code(hq, credentials, store_id, rid)
        wrong = tablet.http.post("/api/v1/rooms/fitting-1/check-in", json={"code": "ZZZZ9999"})
        assert wrong.status_code == 404
        checked = tablet.http.post("/api/v1/rooms/fitting-1/check-in", json={"code": code})
        assert checked.status_code == 201, checked.text
        wait_until(lambda: bool(events("reservation.arrived")), "the arrival")
        room = tablet.http.get("/api/v1/rooms/fitting-1").json()
        assert {item["epc"] for item in room["items"]} == {SWEATER_NAVY_M, SWEATER_RED_M}

        # The navy one is bought at the till; the window ends; the red one goes back.
        sale = {
            "sale_id": f"S-{uuid.uuid4().hex[:6]}",
            "till_id": "till-1",
            "lines": [{"epc": SWEATER_NAVY_M, "amount": 59.0}],
            "total": 59.0,
            "member_id": member,
        }
        assert till.post("/api/v1/sales", json=sale).status_code == 201
        wait_until(lambda: bool(events("reservation.closed")), "the window's end", WINDOW_S + 20)
        (closed,) = events("reservation.closed")
        assert closed["payload"]["outcomes"] == ["bought", "tried_not_bought"]
        assert closed["payload"]["to_return"] == [SWEATER_RED_M]
        assert staff.get("/api/v1/reservations").json()["to_return"] == [
            {"epc": SWEATER_RED_M, "reservation_id": rid}
        ]
        # Back on the shelf: read there, close to the antenna (the room no longer reads it).
        for _ in range(12):
            serial.write(r2000_tag_frame(0x01, 1, SWEATER_RED_M, 0x63))  # -30 dBm
            if events("reservation.returned"):
                break
            time.sleep(0.5)
        wait_until(lambda: bool(events("reservation.returned")), "the red one back on the shelf")

        # The store's story, in order, and HQ's rows.
        kinds = [b["type"] for b in handheld.events(lambda t, _b: "/events/reservation." in t)]
        assert kinds == [
            "reservation.picked",
            "reservation.picked",
            "reservation.ready",
            "reservation.arrived",
            "reservation.closed",
            "reservation.returned",
        ]
        wait_until(
            lambda: web_shop.get(f"/api/v1/reservations/{rid}").json()["status"] == "closed",
            "HQ closes it",
            20,
        )
        at_hq = web_shop.get(f"/api/v1/reservations/{rid}").json()
        assert at_hq["came"] is True
        assert at_hq["items"] == [
            {"gtin": GTIN_NAVY_M, "outcome": "bought"},
            {"gtin": GTIN_RED_M, "outcome": "tried_not_bought"},
        ]
        report = hq.admin("GET", "/api/v1/reports/reservations", params={"store_id": store_id})
        assert report.json()["rows"][0]["reserve_to_buy"] == 0.5
    except BaseException:
        print(f"--- edge log ---\n{edge.log()}\n--- hq log ---\n{hq.log()}")
        raise
    finally:
        if tablet is not None:
            tablet.close()
        code_ = edge.stop()
        handheld.close()
        serial.close()
        web_shop.close()
    assert code_ == 0, edge.log()


def yaml_settings(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _checkin_code(hq: HqProcess, credentials: StoreCredentials, store_id: str, rid: str) -> str:
    """The code on the member's phone (what the store's downlink also carries)."""
    path = f"/api/v1/stores/{store_id}/reservations"
    ts = int(time.time())
    headers = {
        protocol.HEADER_KEY_ID: credentials.key_id,
        protocol.HEADER_TIMESTAMP: str(ts),
        protocol.HEADER_SIGNATURE: protocol.sign(credentials.secret, ts, "GET", path, b""),
    }
    found = httpx.get(hq.url + path, headers=headers, timeout=10).json()["reservations"]
    return str(next(r["checkin_code"] for r in found if r["id"] == rid))
