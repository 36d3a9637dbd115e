"""The tablet, staff and dashboard pages in headless Chromium against a live demo store.

The tests share one store and run in file order: pair, see the room, ask for another size,
get the acknowledgement, survive an API restart, lose the device's pairing.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import TABLET_VIEWPORT, AlertSubscriber, LiveStore

pytestmark = [pytest.mark.browser, pytest.mark.network]

REPO_ROOT = Path(__file__).resolve().parents[2]
NAVY_M = "00614141110018"
RED_M = "00614141110025"
TIMEOUT_MS = 20_000


def wait_until(condition: Callable[[], Any], what: str, timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def tablet(browser: Any, live_store: LiveStore) -> Iterator[Any]:
    """The fitting-room tablet: one page for the whole module, like the real one."""
    context = browser.new_context(viewport=TABLET_VIEWPORT, has_touch=True, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.console_errors = []
    page.on(
        "console",
        lambda message: (
            page.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    context.close()


def size_requests(handheld: AlertSubscriber) -> list[dict[str, Any]]:
    raised = [json.loads(payload) for _topic, payload in handheld.messages]
    return [e for e in raised if e["type"] == "alert.raised"]


def test_pairing_with_the_code_then_the_room_appears(
    tablet: Any, live_store: LiveStore, artifacts_dir: Path
) -> None:
    tablet.goto(f"{live_store.url}/tablet/fitting-1")
    # The edge is up; this tablet just has no token yet: "Not paired", not "offline".
    pill = tablet.get_by_test_id("connection")
    tablet.wait_for_function(
        "() => document.querySelector('[data-testid=connection]')?.dataset.state === 'unpaired'"
    )
    assert pill.inner_text() == "Not paired"
    tablet.wait_for_timeout(500)  # the health probe answered: still not "offline"
    assert pill.get_attribute("data-state") == "unpaired"
    tablet.screenshot(path=str(artifacts_dir / "pairing.png"))
    docs = REPO_ROOT / "docs" / "screenshots"
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(artifacts_dir / "pairing.png", docs / "pairing.png")
    tablet.get_by_test_id("pair-code").fill(live_store.tablet.pairing_code)
    tablet.get_by_test_id("pair-form").get_by_role("button").click()
    items = tablet.get_by_test_id("room-item")
    items.nth(1).wait_for()
    assert items.count() == 2
    assert sorted(items.evaluate_all("els => els.map(e => e.dataset.gtin)")) == [NAVY_M, RED_M]
    assert tablet.get_by_test_id("greeting").inner_text() == "Hello, Ana · gold member"
    recommendation = tablet.get_by_test_id("recommendation").first
    recommendation.wait_for()
    in_stock = '[data-availability="floor"], [data-availability="backroom"]'
    assert recommendation.locator(in_stock).count() >= 1
    assert tablet.get_by_test_id("connection").get_attribute("data-state") == "live"
    assert tablet.console_errors == []  # no script error, nothing blocked by the CSP
    tablet.screenshot(path=str(artifacts_dir / "tablet-room.png"))


def test_controls_are_big_enough_to_touch(tablet: Any) -> None:
    buttons = tablet.locator("button:visible")
    sizes = buttons.evaluate_all(
        "els => els.map(e => [e.getBoundingClientRect().width, e.getBoundingClientRect().height])"
    )
    assert sizes and all(width >= 48 and height >= 48 for width, height in sizes), sizes


def test_the_language_switch_translates_the_page(tablet: Any) -> None:
    untranslated = tablet.evaluate(
        "() => Object.entries(O2O_I18N.strings)"
        ".filter(([, v]) => !(v.en && v.es && v.zh)).map(([k]) => k)"
    )
    assert untranslated == []
    tablet.get_by_role("button", name="Español").click()
    assert tablet.get_by_test_id("another-size").first.inner_text() == "Otra talla o color"
    tablet.get_by_role("button", name="中文").click()
    assert tablet.get_by_test_id("another-size").first.inner_text() == "换尺码或颜色"
    tablet.get_by_role("button", name="English").click()
    assert tablet.get_by_test_id("another-size").first.inner_text() == "Another size or colour"


def test_another_size_reaches_staff_and_their_ack_reaches_the_tablet(
    tablet: Any, live_store: LiveStore, handheld: AlertSubscriber, artifacts_dir: Path
) -> None:
    navy = tablet.locator(f'[data-testid="room-item"][data-gtin="{NAVY_M}"]')
    navy.get_by_test_id("another-size").tap()
    navy.locator('[data-testid="size-option"][data-value="L"]').tap()
    navy.get_by_test_id("ask-staff").tap()
    status = navy.get_by_test_id("request-status")
    status.wait_for()
    assert status.inner_text() == "Requested — staff are on it"

    raised = wait_until(lambda: size_requests(handheld), "the size_request alert on the broker")
    alert = raised[0]["payload"]
    assert alert["kind"] == "size_request" and alert["zone"] == "fitting-1"
    assert "navy, L" in alert["text"] and "Stock room" in alert["text"]

    handheld.publish(
        f"{live_store.alerts_prefix}/ack",
        json.dumps({"alert_id": alert["alert_id"], "staff_id": "Maria"}),
    )
    tablet.wait_for_function(
        "() => document.querySelector('[data-testid=request-status]')"
        "?.textContent === 'On its way — Maria'"
    )
    tablet.screenshot(path=str(artifacts_dir / "tablet.png"))
    docs = REPO_ROOT / "docs" / "screenshots"
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(artifacts_dir / "tablet.png", docs / "tablet.png")


def test_staff_page_and_dashboard(browser: Any, live_store: LiveStore, artifacts_dir: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_store.url}/staff#token={live_store.staff.token}")
    acked = page.locator('[data-testid="alert"][data-kind="size_request"]').first
    acked.wait_for()
    assert acked.get_by_test_id("acknowledged-by").inner_text() == "Acknowledged by Maria"
    # A new request from the tablet arrives live, newest first; one tap acknowledges it.
    asked = page.request.post(
        f"{live_store.url}/api/v1/rooms/fitting-1/size-requests",
        headers={"Authorization": f"Bearer {live_store.tablet.token}"},
        data={"gtin": NAVY_M, "size": "S"},
    )
    assert asked.status == 201
    alert = page.locator(f'[data-alert-id="{asked.json()["alert_id"]}"]')
    alert.get_by_test_id("acknowledge").wait_for()
    assert (
        page.get_by_test_id("alert").first.get_attribute("data-alert-id")
        == asked.json()["alert_id"]
    )
    page.screenshot(path=str(artifacts_dir / "staff-open-alert.png"))
    alert.get_by_test_id("acknowledge").click()
    assert alert.get_by_test_id("acknowledged-by").inner_text() == "Acknowledged by maria"
    page.get_by_test_id("filter-kind").select_option("shelf_empty")
    page.get_by_test_id("no-alerts").wait_for()
    page.get_by_test_id("filter-kind").select_option("")
    acked.wait_for()
    page.screenshot(path=str(artifacts_dir / "staff.png"))

    page.goto(f"{live_store.url}/")
    row = page.locator('[data-testid="zone-row"][data-zone="fitting-1"]')
    row.wait_for()
    assert "Occupied" in row.inner_text()
    page.locator(
        '[data-testid="component-row"][data-component="room-reader"] .state-online'
    ).wait_for()
    assert page.locator("#chart svg rect.tryons").count() >= 1
    assert "m-ana" not in page.content()  # events on the dashboard name no member
    assert page.get_by_test_id("event").count() >= 1
    page.screenshot(path=str(artifacts_dir / "dashboard.png"), full_page=True)
    context.close()


def test_the_tablet_catches_up_after_the_edge_restarts(
    tablet: Any, live_store: LiveStore, handheld: AlertSubscriber, artifacts_dir: Path
) -> None:
    red = tablet.locator(f'[data-testid="room-item"][data-gtin="{RED_M}"]')
    red.get_by_test_id("another-size").tap()
    red.locator('[data-testid="size-option"][data-value="L"]').tap()
    red.get_by_test_id("ask-staff").tap()
    red.get_by_test_id("request-status").wait_for()
    alert = wait_until(lambda: size_requests(handheld), "the second size_request")[0]["payload"]

    live_store.stop_api()
    connection = tablet.get_by_test_id("connection")
    tablet.wait_for_function(
        "() => document.querySelector('[data-testid=connection]').dataset.state !== 'live'"
    )
    # Acknowledged while the tablet cannot hear it: it must catch up after the restart.
    handheld.publish(
        f"{live_store.alerts_prefix}/ack",
        json.dumps({"alert_id": alert["alert_id"], "staff_id": "Luis"}),
    )
    time.sleep(1.0)
    live_store.start_api()
    tablet.wait_for_function(
        "() => document.querySelector('[data-testid=connection]').dataset.state === 'live'",
        timeout=TIMEOUT_MS,
    )
    red.get_by_text("On its way — Luis").wait_for()
    assert connection.get_attribute("data-state") == "live"
    tablet.screenshot(path=str(artifacts_dir / "tablet-after-restart.png"))


def test_a_revoked_tablet_gets_401_and_must_pair_again(
    tablet: Any, live_store: LiveStore, artifacts_dir: Path
) -> None:
    token = tablet.evaluate("() => localStorage.getItem('o2o.token')")
    live_store.edge.devices.revoke(live_store.tablet.device.name)
    response = tablet.request.get(
        f"{live_store.url}/api/v1/rooms/fitting-1", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status == 401
    assert response.json() == {"detail": "Invalid token"}
    tablet.reload()
    tablet.get_by_test_id("signed-out").wait_for()
    tablet.get_by_test_id("pair-form").wait_for()
    assert tablet.evaluate("() => localStorage.getItem('o2o.token')") is None
    tablet.screenshot(path=str(artifacts_dir / "tablet-revoked.png"))


def test_the_pairing_page_tells_an_edge_that_is_down_from_a_device_not_paired(
    tablet: Any, live_store: LiveStore
) -> None:
    tablet.get_by_test_id("pair-form").wait_for()  # signed out by the test before
    state = "() => document.querySelector('[data-testid=connection]').dataset.state"
    tablet.wait_for_function(f"{state} === 'unpaired'")
    live_store.stop_api()
    try:
        tablet.wait_for_function(f"{state} === 'offline'", timeout=TIMEOUT_MS)
        assert tablet.get_by_test_id("connection").inner_text() == "Edge offline — retrying"
    finally:
        live_store.start_api()
    tablet.wait_for_function(f"{state} === 'unpaired'", timeout=TIMEOUT_MS)
