"""The headquarters console in headless Chromium against a real ``o2o-hq run`` on PostgreSQL,
as people use it: log in, read the overview, filter products and export the CSV (checked
against the reports API), find a member and erase them; an analyst cannot erase, a store
manager sees only their store. Each page is saved to docs/screenshots/."""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cloud_sync.hq.console import accounts
from edge.bench.sync import HqProcess, fresh_database
from tests.conftest import REPO_ROOT
from tests.hq.console_data import COAT, PASSWORD, SCARF, seed_chain
from tests.hq.helpers import ADMIN, ADMIN_TOKEN, SECRET_KEY

pytestmark = [pytest.mark.browser, pytest.mark.network]

LAPTOP = {"width": 1366, "height": 900}
TABLET = {"width": 820, "height": 1180}
WINDOW = "from=2026-02-24&to=2026-03-02"


@pytest.fixture(scope="module")
def hq(database_url: str) -> Iterator[tuple[HqProcess, dict[str, Any]]]:
    with (
        fresh_database(database_url, "o2o_console") as url,
        HqProcess(
            url,
            admin_token=ADMIN_TOKEN,
            secret_key=SECRET_KEY,
            # Personal data goes with the erasure itself (no retention period).
            env={"O2O_HQ_PERSONAL_DATA_RETENTION_DAYS": "0", "O2O_HQ_SEGMENTS_REFRESH_S": "1"},
        ) as process,
    ):
        with httpx.Client(base_url=process.url, timeout=30) as http:
            chain = seed_chain(http, url)
        yield process, chain


def log_in(browser: Any, hq: HqProcess, username: str, viewport: dict[str, int] = LAPTOP) -> Any:
    context = browser.new_context(viewport=viewport, locale="en-GB", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{hq.url}/console")
    assert "/console/login" in page.url
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r"/console(\?.*)?$"))
    return page


def no_sideways_scroll(page: Any) -> None:
    assert page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def shot(page: Any, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / name), full_page=True)
    shutil.copyfile(artifacts / name, REPO_ROOT / "docs" / "screenshots" / name)


def test_admin_reads_filters_exports_and_erases(
    browser: Any, hq: tuple[HqProcess, dict[str, Any]], artifacts_dir: Path
) -> None:
    process, chain = hq
    page = log_in(browser, process, "ada")
    page.goto(f"{process.url}/console?{WINDOW}")
    assert page.locator('[data-kpi="visitors"]').inner_text() == "12"
    assert page.locator('[data-kpi="revenue"]').inner_text() == "390.00"
    assert page.locator("#per-store tr[data-store]").count() == 2
    assert page.locator("svg.chart").count() >= 2
    shot(page, artifacts_dir, "console-overview.png")

    # Products: filter by category through the form, as a merchandiser does.
    page.goto(f"{process.url}/console/products?{WINDOW}")
    page.select_option('select[name="category"]', "coats")
    page.fill('input[name="max_conversion"]', "15")
    page.click('form.filters button[type="submit"]')
    page.wait_for_url(re.compile(r"category=coats"))
    assert page.locator("#products tr[data-gtin]").count() == 1
    assert page.locator(f'#tobr tr[data-gtin="{COAT}"]').count() == 1
    assert page.locator("#tobr svg.spark").count() == 1
    with page.expect_download() as download:
        page.click("#export")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    api = httpx.get(
        f"{process.url}/api/v1/reports/conversion",
        headers=ADMIN,
        params={"from": "2026-02-24", "to": "2026-03-02", "group_by": "product"},
    ).json()["rows"]
    coat = next(r for r in api if r["product"] == COAT)
    assert [(r["gtin"], int(r["tries"]), int(r["purchases"])) for r in rows] == [
        (COAT, coat["tries"], coat["purchases"])
    ]
    page.goto(f"{process.url}/console/products?{WINDOW}")
    shot(page, artifacts_dir, "console-products.png")

    for path, name in (
        ("segments", "console-segments.png"),
        ("stores", "console-stores.png"),
        ("notifications", "console-notifications.png"),
        ("catalog", "console-catalog.png"),
    ):
        page.goto(f"{process.url}/console/{path}?{WINDOW}")
        assert page.locator("h1").count() == 1
        shot(page, artifacts_dir, name)
    assert page.locator("#catalog-pickups tr[data-store]").count() == 2

    # Members: search by phone, then erase with the typed confirmation.
    page.goto(f"{process.url}/console/members")
    page.fill('input[name="q"]', "+8613800000001")
    page.click('form.filters button[type="submit"]')
    member = chain["members"]["north"]
    page.wait_for_url(re.compile(f"/console/members/{member}$"))
    assert "Member of north" in page.locator("h1").inner_text()
    assert page.locator("#purchases tbody tr").count() == 2
    shot(page, artifacts_dir, "console-member.png")
    page.fill('#erase-form input[name="confirm"]', member)
    page.click('#erase-form button[type="submit"]')
    page.locator("#erasure").wait_for()
    assert "Member of north" not in page.locator("h1").inner_text()
    assert "console:ada" in page.locator("#audit").inner_text()
    assert "member.erase" in page.locator("#audit").inner_text()
    page.context.close()


def test_analyst_cannot_erase(browser: Any, hq: tuple[HqProcess, dict[str, Any]]) -> None:
    process, chain = hq
    page = log_in(browser, process, "ana")
    member = chain["members"]["south"]
    page.goto(f"{process.url}/console/members/{member}")
    assert "Member of south" in page.locator("h1").inner_text()
    assert page.locator("#erase-form").count() == 0
    assert "Your role reads only" in page.locator("main").inner_text()
    # Not even by posting the form by hand with the page's own CSRF token.
    token = page.locator('input[name="csrf"]').first.get_attribute("value")
    answer = page.request.post(
        f"{process.url}/console/members/{member}/erase",
        form={"csrf": token or "", "confirm": member},
    )
    assert answer.status == 403
    page.reload()
    assert "Member of south" in page.locator("h1").inner_text()
    page.context.close()


def test_store_manager_sees_only_their_store_on_a_tablet(
    browser: Any, hq: tuple[HqProcess, dict[str, Any]], artifacts_dir: Path
) -> None:
    process, chain = hq
    page = log_in(browser, process, "nora", viewport=TABLET)
    page.goto(f"{process.url}/console?{WINDOW}&lang=es")
    assert page.locator("nav a[aria-current]").inner_text() == "Resumen"
    assert page.locator("#per-store tr[data-store]").count() == 1
    assert page.locator('#per-store tr[data-store="north"]').count() == 1
    assert page.locator('[data-kpi="revenue"]').inner_text() == "330.00"
    no_sideways_scroll(page)
    shot(page, artifacts_dir, "console-store-manager-tablet.png")
    page.select_option('select[name="store"]', "north")
    options = page.locator('select[name="store"] option').all_inner_texts()
    assert not [o for o in options if "south" in o]
    for path in ("products", "stores", "segments", "notifications", "catalog"):
        page.goto(f"{process.url}/console/{path}?{WINDOW}")
        assert "south" not in page.locator("main").inner_text().lower(), path
        no_sideways_scroll(page)
    page.goto(f"{process.url}/console/members/{chain['members']['south']}")
    assert "Member of south" not in page.content()
    page.goto(f"{process.url}/console/products?{WINDOW}&size=M&lang=zh")
    assert page.locator(f'#products tr[data-gtin="{COAT}"]').count() == 1
    assert page.locator(f'#products tr[data-gtin="{SCARF}"]').count() == 0
    assert "商品" in page.locator("h1").inner_text()
    page.context.close()


def test_wrong_password_in_the_browser(browser: Any, hq: tuple[HqProcess, dict[str, Any]]) -> None:
    process, _chain = hq
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.goto(f"{process.url}/console/login")
    page.fill('input[name="username"]', "ada")
    page.fill('input[name="password"]', "not-the-password")
    page.click('button[type="submit"]')
    assert page.locator("p.error").inner_text() == accounts.WRONG
    assert "/console/login" in page.url
    context.close()
