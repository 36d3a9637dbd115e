"""The staff page's exit alarm card in headless Chromium against a live demo store: the items
with names and prices, "Checking" (which turns the gate light off), then an outcome that
closes the alarm."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

from edge.clock import SystemClock
from edge.rfid.epc import encode_sgtin96
from edge.rfid.reads import TagRead
from tests.browser.conftest import LiveStore
from tests.conftest import REPO_ROOT

TIMEOUT_MS = 20_000


def test_exit_alarm_card_with_items_checking_and_outcome(
    browser: Any, live_store: LiveStore, artifacts_dir: Path
) -> None:
    owner = live_store.edge.runtime.owner
    sweater = encode_sgtin96("0614141", "011002", random.randrange(10**6, 10**7))
    now = SystemClock().now_ms()
    # As the drivers hand reads over: on shelf A, then twice at the exit antenna.
    owner.submit_read(TagRead("shelf-reader", 1, sweater, -50.0, now))
    owner.submit_read(TagRead("door-reader", 2, sweater, -48.0, now + 300))
    owner.submit_read(TagRead("door-reader", 2, sweater, -47.0, now + 500))

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_store.url}/staff#token={live_store.staff.token}")
    card = page.locator('[data-testid="alert"][data-kind="exit_unsold"][data-gate-state="on"]')
    card.wait_for()
    [item] = card.get_by_test_id("gate-item").all()
    assert item.get_attribute("data-epc") == sweater
    assert item.inner_text() == "Merino crew sweater (red, M) · €89.00"
    assert card.get_by_test_id("gate-total").inner_text() == "Total €89.00"
    page.screenshot(path=str(artifacts_dir / "staff-gate-alarm.png"))

    card.get_by_test_id("gate-checking").click()
    card.get_by_test_id("gate-outcome-recovered").wait_for()
    alarm_id = card.get_attribute("data-alert-id")
    [gate] = live_store.edge.store.gate_alarms()
    assert gate.alarm_id == alarm_id and gate.state == "off"  # the light went off at "Checking"
    card.get_by_test_id("gate-outcome-recovered").click()
    closed = page.locator(f'[data-alert-id="{alarm_id}"]')
    closed.get_by_test_id("acknowledged-by").wait_for()
    assert live_store.edge.store.gate_alarms() == []
    page.screenshot(path=str(artifacts_dir / "staff-gate-closed.png"))
    context.close()


def test_exit_alarm_at_a_phones_width_names_the_product_and_fits(
    browser: Any, live_store: LiveStore, artifacts_dir: Path
) -> None:
    owner = live_store.edge.runtime.owner
    dress = encode_sgtin96("0614141", "026102", random.randrange(10**6, 10**7))  # wrap dress S
    now = SystemClock().now_ms()
    owner.submit_read(TagRead("shelf-reader", 1, dress, -50.0, now))
    owner.submit_read(TagRead("door-reader", 2, dress, -48.0, now + 300))
    owner.submit_read(TagRead("door-reader", 2, dress, -47.0, now + 500))

    width = 412
    context = browser.new_context(viewport={"width": width, "height": 915})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_store.url}/staff#token={live_store.staff.token}")
    item = page.locator(f'[data-testid="gate-item"][data-epc="{dress}"]')
    item.wait_for()
    card = page.locator('[data-testid="alert"]', has=item)
    assert item.inner_text() == "Wrap dress (navy, S) · €139.00"
    text = card.locator(".text").inner_text()
    assert text.startswith("Wrap dress (navy, S) · 139.00 left through Exit gate unsold"), text
    button = card.get_by_test_id("gate-checking")
    assert button.inner_text() == "Checking"
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert not page.get_by_test_id("picks").is_visible()  # no reservation: no empty list
    page.screenshot(path=str(artifacts_dir / "staff-exit-alarm-412.png"))
    docs = REPO_ROOT / "docs" / "screenshots"
    shutil.copyfile(artifacts_dir / "staff-exit-alarm-412.png", docs / "staff-exit-alarm-412.png")
    context.close()
