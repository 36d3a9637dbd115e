"""The members' page in headless Chromium at a phone's size, against a real ``o2o-hq run`` on
PostgreSQL whose login codes go out through a webhook (a local receiver stands for the SMS
gateway): log in with the code, see the points, withdraw face recognition, download the data,
switch to Chinese, erase the membership."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.bench.sync import HqProcess, fresh_database
from tests.hq.test_hq_notify import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.network]

PHONE_VIEWPORT = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def hooks() -> Iterator[Receiver]:
    server = Receiver(fail_first=0, answer={"ok": True})
    yield server
    server.close()


@pytest.fixture(scope="module")
def hq(database_url: str, hooks: Receiver) -> Iterator[HqProcess]:
    env = {
        "O2O_HQ_NOTIFY_CHANNEL": "webhook",
        "O2O_HQ_WEBHOOK_URL": hooks.url + "/sms",
        "O2O_HQ_WEBHOOK_SECRET": "gateway-secret",
        "O2O_HQ_BACKGROUND_INTERVAL_S": "0.2",
    }
    with fresh_database(database_url, "o2o_member_page") as url, HqProcess(url, env=env) as process:
        yield process


def code_sent(hooks: Receiver, member_id: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for _path, _headers, body in reversed(hooks.requests):
            sent = json.loads(body)
            if sent["member_id"] == member_id and sent["kind"] == "login_code":
                return str(sent["data"]["code"])
        time.sleep(0.1)
    raise AssertionError("no login code reached the gateway")


def test_a_member_on_their_phone(
    browser: Any, hq: HqProcess, hooks: Receiver, artifacts_dir: Path
) -> None:
    store = f"b{uuid.uuid4().hex[:8]}"
    assert hq.admin(
        "POST",
        "/api/v1/admin/stores",
        json={"id": store, "name": "Nanjing Road", "latitude": 31.23, "longitude": 121.47},
    ).is_success
    phone = f"+86136{uuid.uuid4().int % 10**8:08d}"
    made = hq.admin(
        "POST",
        "/api/v1/members",
        json={
            "name": "Zhang Min",
            "identities": [{"channel": "phone", "value": phone}],
            "home_store_id": store,
        },
    )
    member_id = made.json()["id"]
    hq.admin(
        "POST",
        f"/api/v1/members/{member_id}/consents",
        json={"scope": "face_recognition", "given": True, "source": "store:tablet"},
    )
    hq.admin(
        "POST",
        f"/api/v1/members/{member_id}/points",
        json={"delta": 350, "cause": "purchase", "ref": "r1"},
    )

    context = browser.new_context(
        viewport=PHONE_VIEWPORT, has_touch=True, locale="en-GB", accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{hq.url}/me")
    page.get_by_test_id("login").wait_for()
    page.get_by_test_id("value").fill(phone)
    page.get_by_test_id("send-code").click()
    page.get_by_test_id("code").fill(code_sent(hooks, member_id))
    page.get_by_test_id("log-in").click()
    page.get_by_test_id("account").wait_for()
    assert page.get_by_test_id("hello").inner_text() == "Hello, Zhang Min"
    assert page.get_by_test_id("points").inner_text() == "350"
    assert page.get_by_test_id("home-store").inner_text() == "Nanjing Road"
    # Nothing wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    page.screenshot(path=str(artifacts_dir / "member-page.png"), full_page=True)

    # Withdraw face recognition: the page lists the store, waiting for its next sync.
    page.get_by_test_id("consent-face_recognition").click()
    page.get_by_test_id("withdrawal").wait_for()
    row = page.get_by_test_id("store-confirmation").filter(has_text="Nanjing Road")
    assert row.get_attribute("data-confirmed") == "false"
    assert "waiting for its next sync" in row.inner_text()
    consent = page.locator('[data-testid="consent"][data-scope="face_recognition"]')
    assert consent.get_attribute("data-given") == "false"

    with page.expect_download() as download:
        page.get_by_test_id("export").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported["member"]["id"] == member_id
    assert [c["given"] for c in exported["consent_history"]] == [True, False]

    page.locator('[data-lang="zh"]').click()
    assert page.get_by_test_id("hello").inner_text() == "Zhang Min，您好"

    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("erase").click()
    page.get_by_test_id("message").wait_for()
    assert "注销" in page.get_by_test_id("message").inner_text()
    assert httpx.get(
        f"{hq.url}/api/v1/members/{member_id}",
        headers={"Authorization": f"Bearer {hq.admin_token}"},
    ).json()["erased_at"]
    assert errors == []
    context.close()
