"""The staff pick list of an online reservation in headless Chromium at a phone's width,
against a live demo store: each item named as on the shelf with where its tags are now (RFID
zones), "Picked" taps that do not make the reservation ready, and RFID reading the picked tags
in the hold zone that does (issue 17, "Reserve online, try in store")."""

from __future__ import annotations

import random
import shutil
import threading
from pathlib import Path
from typing import Any

import httpx

from edge.clock import SystemClock
from edge.events.reservations import Reservation, ReservedItem
from edge.rfid.epc import encode_sgtin96, gtin_of
from edge.rfid.reads import TagRead
from tests.browser.conftest import LiveStore
from tests.conftest import REPO_ROOT

TIMEOUT_MS = 20_000
PHONE = {"width": 412, "height": 915}


def tag(reference: str) -> str:
    return encode_sgtin96("0614141", reference, random.randrange(10**7, 10**8))


def reading(owner: Any, clock: SystemClock, reads: list[tuple[str, int, str]]) -> threading.Event:
    """Antennas reading tags every 0.3 s, as readers do, until the returned event is set."""
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            ts = clock.now_ms()
            for reader, antenna, epc in reads:
                owner.submit_read(TagRead(reader, antenna, epc, -48.0, ts))
            stop.wait(0.3)

    threading.Thread(target=run, daemon=True).start()
    return stop


def test_pick_list_at_phone_width_ready_only_when_rfid_reads_the_hold_zone(
    browser: Any, live_store: LiveStore, artifacts_dir: Path
) -> None:
    owner = live_store.edge.runtime.owner
    clock = SystemClock()
    dress, belt = tag("026102"), tag("021109")  # wrap dress navy S; canvas belt navy 85
    missing_gtin = "00614141261055"  # wrap dress red XS: not in this store
    now = clock.now_ms()
    reservation = Reservation(
        id=f"r-{random.randrange(10**6)}",
        member_id="m-ana",
        items=[ReservedItem(gtin=g) for g in (gtin_of(dress), gtin_of(belt))],
        window_start=now - 60_000,
        window_end=now + 3_600_000,
        checkin_code="AB12CD34",
    )
    sold_out = reservation.model_copy(
        update={
            "id": f"{reservation.id}-x",
            "items": [ReservedItem(gtin=missing_gtin)],
            "checkin_code": "XY98ZW76",
        }
    )
    # As the HQ downlink hands reservations over (edge.app.compose on_reservations).
    owner.call(lambda core: core.receive_reservations([reservation, sold_out]))

    # The dress hangs on shelf A, the belt lies in the stock room: their antennas read them.
    shelved = reading(owner, clock, [("shelf-reader", 1, dress), ("room-reader", 4, belt)])
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_store.url}/staff#token={live_store.staff.token}")
    card = page.locator(f'[data-testid="reservation"][data-reservation-id="{reservation.id}"]')
    card.wait_for()
    items = card.get_by_test_id("pick-item")
    dress_row, belt_row = items.nth(0), items.nth(1)
    missing_row = page.locator(f'[data-reservation-id="{sold_out.id}"] [data-testid="pick-item"]')
    assert dress_row.locator(".pick-name").inner_text() == "Wrap dress (navy, S)"
    assert belt_row.locator(".pick-name").inner_text() == "Canvas belt (navy, 85)"
    dress_row.get_by_test_id("pick").wait_for()
    shelf_a = "Picked from Shelf A (knitwear) (1 there)"
    assert dress_row.get_by_test_id("pick").inner_text() == shelf_a
    belt_row.get_by_test_id("pick").wait_for()
    assert belt_row.get_by_test_id("pick").inner_text() == "Picked from Stock room (1 there)"
    missing = missing_row.get_by_test_id("pick-state")
    assert missing.get_attribute("data-state") == "missing"
    assert missing.inner_text() == "None in the store now"
    # Staff confirm it is not there: HQ tells the member and offers alternatives.
    missing_row.get_by_test_id("unavailable").click()
    reported = missing_row.locator('[data-testid="pick-state"][data-state="unavailable"]')
    reported.wait_for()
    assert reported.inner_text() == "Reported: the member is offered another size or store"
    board = httpx.get(
        f"{live_store.url}/api/v1/reservations",
        headers={"Authorization": f"Bearer {live_store.staff.token}"},
    ).json()["reservations"]
    (told,) = [r for r in board if r["id"] == sold_out.id]
    assert told["status"] == "unavailable" and told["items"][0]["unavailable"] is True
    # Phone-first: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    dress_row.get_by_test_id("pick").click()
    picked = dress_row.locator('[data-testid="pick-state"][data-state="picked"]')
    picked.wait_for()
    assert picked.inner_text() == "Picked: bring it to Fitting room 1"
    belt_row.get_by_test_id("pick").click()
    belt_row.locator('[data-testid="pick-state"][data-state="picked"]').wait_for()
    # Both tapped: still not ready, the tags have not been read in the hold zone.
    assert card.get_attribute("data-status") == "picking"
    page.screenshot(path=str(artifacts_dir / "staff-pick-list.png"))

    # Staff carry both items into fitting room 1: the room's antenna reads them there.
    shelved.set()
    carried = reading(owner, clock, [("room-reader", 1, dress), ("room-reader", 1, belt)])
    try:
        page.locator(
            f'[data-testid="reservation"][data-reservation-id="{reservation.id}"]'
            '[data-status="ready"]'
        ).wait_for()
    finally:
        carried.set()
    held = card.locator('[data-testid="pick-state"][data-state="held"]')
    assert held.count() == 2
    assert held.first.inner_text() == "In Fitting room 1 (read by RFID)"
    assert card.get_by_test_id("reservation-status").inner_text() == (
        "Ready: every item is in the hold zone"
    )
    page.screenshot(path=str(artifacts_dir / "staff-pick-list-ready.png"))
    docs = REPO_ROOT / "docs" / "screenshots"
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(artifacts_dir / "staff-pick-list.png", docs / "staff-pick-list.png")
    context.close()


def test_dashboard_at_tablet_width_names_products_and_fits(
    browser: Any, live_store: LiveStore, artifacts_dir: Path
) -> None:
    width = 768
    context = browser.new_context(viewport={"width": width, "height": 1024})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_store.url}/#token={live_store.staff.token}")
    lines = page.get_by_test_id("event")
    lines.first.wait_for()
    texts = lines.all_inner_texts()
    arrivals = [t for t in texts if "tag.arrived" in t]
    assert arrivals and all("EPC" not in t for t in arrivals), texts
    tryons = [t for t in texts if "tryon.started" in t]
    assert tryons and all("epc=" not in t for t in tryons), texts  # products, not tags
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(artifacts_dir / "dashboard-768.png"), full_page=True)
    context.close()
