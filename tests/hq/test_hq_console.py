"""The console over HTTP (in-process app, real PostgreSQL): logins and their throttle, roles
and store scope on every page, filters that refuse impossible values, the erasure form, the
CSV export against the reports API, the three languages."""

from __future__ import annotations

import csv
import html
import io
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloud_sync.hq.app import create_app
from cloud_sync.hq.console import accounts, i18n
from cloud_sync.hq.core.db import make_engine, make_sessionmaker
from cloud_sync.hq.models import AuditEntry
from tests.conftest import cli_env
from tests.hq.conftest import private_schema
from tests.hq.console_data import COAT, PASSWORD, SCARF, add_user, seed_chain
from tests.hq.helpers import ADMIN, make_settings

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def hq(database_url: str) -> Iterator[tuple[TestClient, str]]:
    with private_schema(database_url) as url:
        settings = make_settings(url, personal_data_retention_days=0, segments_refresh_s=0.5)
        with TestClient(create_app(settings)) as client:
            yield client, url


@pytest.fixture(scope="module")
def chain(hq: tuple[TestClient, str]) -> dict[str, Any]:
    client, url = hq
    return seed_chain(client, url)


def login(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    client.cookies.clear()
    return client.post(
        "/console/login",
        data={"username": username, "password": password, "next": "/console"},
        follow_redirects=False,
    )


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def kpi(page: str, name: str) -> str:
    found = re.search(rf'data-kpi="{name}">([^<]*)<', page)
    assert found, name
    return found.group(1)


def test_pages_need_a_login_and_bearer_tokens_do_not_open_them(
    hq: tuple[TestClient, str], chain: dict[str, Any]
) -> None:
    client, _ = hq
    client.cookies.clear()
    page = client.get("/console/products?from=2026-03-01", follow_redirects=False)
    assert page.status_code == 303
    assert (
        page.headers["location"] == "/console/login?next=%2Fconsole%2Fproducts%3Ffrom%3D2026-03-01"
    )
    assert client.get("/console", headers=ADMIN, follow_redirects=False).status_code == 303
    # And the pages stay out of the machines' OpenAPI document.
    assert not [p for p in client.get("/openapi.json").json()["paths"] if p.startswith("/console")]


def test_wrong_passwords_one_message_then_a_pause(
    hq: tuple[TestClient, str], chain: dict[str, Any]
) -> None:
    client, url = hq
    add_user(url, "victim", accounts.ConsoleRole.ANALYST, [])
    unknown = login(client, "nobody-here", "whatever-it-is")
    wrong = login(client, "victim", "not the password")
    assert unknown.status_code == wrong.status_code == 401
    assert accounts.WRONG in unknown.text and accounts.WRONG in wrong.text
    # The pages differ only in the username echoed back.
    assert unknown.text.replace("nobody-here", "X") == wrong.text.replace("victim", "X")
    for _ in range(accounts.FAILURES_PER_ACCOUNT - 1):
        assert login(client, "victim", "still wrong").status_code == 401
    paused = login(client, "victim", PASSWORD)  # even the right password waits
    assert paused.status_code == 429
    assert "Too many failed logins" in paused.text and int(paused.headers["Retry-After"]) > 0
    assert "o2o_console" not in paused.cookies
    # Another account from the same address is not locked by this one's failures.
    assert login(client, "ana").status_code == 303


def test_session_cookie_attributes_and_logout(
    hq: tuple[TestClient, str], chain: dict[str, Any]
) -> None:
    client, _ = hq
    made = login(client, "ana")
    assert made.status_code == 303
    cookie = made.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    page = client.get("/console").text
    assert "ana" in page and "analyst" in page
    assert client.post("/console/logout", data={"csrf": "forged"}).status_code == 403
    out = client.post("/console/logout", data={"csrf": csrf(page)}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_overview_counts_the_day(hq: tuple[TestClient, str], chain: dict[str, Any]) -> None:
    client, _ = hq
    login(client, "ada")
    page = client.get("/console", params={"from": "2026-03-02", "to": "2026-03-02"}).text
    assert kpi(page, "visitors") == "12"
    assert kpi(page, "members") == "1"
    assert kpi(page, "tryons") == "0"  # no tryon.started in this data: outcomes only
    assert kpi(page, "conversion") == "13.3%"  # 2 bought of 15 tried
    assert kpi(page, "sales") == "2"
    assert kpi(page, "revenue") == "390.00"
    assert 'data-store="north"' in page and 'data-store="south"' in page
    # The default period ends on the newest day with data, not on an empty today.
    assert "2026-03-02" in client.get("/console").text
    empty = client.get("/console", params={"from": "2026-02-01", "to": "2026-02-03"}).text
    assert "No try-ons, visits or sales from 2026-02-01 to 2026-02-03" in empty
    assert "The latest data is from 2026-03-02" in empty


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-02-30"}, "is not a date"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "is after"),
        ({"from": "2020-01-01", "to": "2026-03-01"}, "at most 400 days"),
        ({"from": "2999-01-01", "to": "2999-01-02"}, "in the future"),
        ({"store": "atlantis"}, "There is no store 'atlantis'"),
    ],
)
def test_impossible_filters_say_so(
    hq: tuple[TestClient, str], chain: dict[str, Any], params: dict[str, str], message: str
) -> None:
    client, _ = hq
    login(client, "ada")
    for path in ("/console", "/console/products"):
        page = client.get(path, params=params)
        assert page.status_code == 400
        assert message in html.unescape(page.text)
    assert (
        "There is no category"
        in client.get("/console/products", params={"category": "spaceships"}).text
    )


def test_products_page_and_csv_agree_with_the_reports_api(
    hq: tuple[TestClient, str], chain: dict[str, Any]
) -> None:
    client, _ = hq
    login(client, "ana")
    window = {"from": "2026-03-02", "to": "2026-03-02"}
    page = client.get("/console/products", params={**window, "min_tries": 5, "max_conversion": 15})
    flagged = re.search(r'<table id="tobr">(.*?)</table>', page.text, re.S)
    assert flagged and f'data-gtin="{COAT}"' in flagged.group(1)
    assert f'data-gtin="{SCARF}"' not in flagged.group(1)
    exported = client.get("/console/products.csv", params=window)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = {r["gtin"]: r for r in csv.DictReader(io.StringIO(exported.text))}
    api = client.get(
        "/api/v1/reports/conversion", headers=ADMIN, params={**window, "group_by": "product"}
    ).json()["rows"]
    assert {r["product"]: (r["tries"], r["purchases"]) for r in api} == {
        g: (int(r["tries"]), int(r["purchases"])) for g, r in rows.items()
    }
    assert rows[COAT]["units_sold"] == "1" and rows[SCARF]["revenue"] == "90.0"
    by_size = client.get("/console/products.csv", params={**window, "size": "M"}).text
    assert [r["gtin"] for r in csv.DictReader(io.StringIO(by_size))] == [COAT]


def test_store_manager_sees_only_their_stores(
    hq: tuple[TestClient, str], chain: dict[str, Any]
) -> None:
    client, _ = hq
    login(client, "nora")
    window = {"from": "2026-03-02", "to": "2026-03-02"}
    page = client.get("/console", params=window).text
    assert 'data-store="north"' in page and 'data-store="south"' not in page
    assert kpi(page, "revenue") == "330.00"
    refused = client.get("/console", params={**window, "store": "south"})
    assert refused.status_code == 400 and "not one of yours" in refused.text
    csv_rows = list(
        csv.DictReader(io.StringIO(client.get("/console/products.csv", params=window).text))
    )
    assert {r["gtin"]: r["tries"] for r in csv_rows} == {COAT: "10", SCARF: "1"}
    south_member = chain["members"]["south"]
    assert client.get(f"/console/members/{south_member}").status_code == 404
    assert "No member found" in client.get("/console/members", params={"q": "+8613800000002"}).text
    own = client.get("/console/members", params={"q": "+8613800000001"})
    assert "Member of north" in own.text
    for path in (
        "/console/stores",
        "/console/segments",
        "/console/catalog",
        "/console/notifications",
    ):
        shown = client.get(path, params=window).text
        assert "south" not in shown.replace("southern", ""), path
    segment_ids = client.get("/console/segments/champions.csv", params=window).text
    assert south_member not in segment_ids


def test_analyst_reads_but_cannot_erase(hq: tuple[TestClient, str], chain: dict[str, Any]) -> None:
    client, _ = hq
    login(client, "ana")
    member = chain["members"]["south"]
    page = client.get(f"/console/members/{member}").text
    assert "Member of south" in page and "+8613800000002" in page
    assert 'id="erase-form"' not in page and "Your role reads only" in page
    refused = client.post(
        f"/console/members/{member}/erase", data={"csrf": csrf(page), "confirm": member}
    )
    assert refused.status_code == 403
    assert "Member of south" in client.get(f"/console/members/{member}").text


def test_admin_erases_with_confirmation_and_the_audit_log_shows_it(
    hq: tuple[TestClient, str], chain: dict[str, Any]
) -> None:
    client, url = hq
    login(client, "ada")
    member = chain["members"]["south"]
    page = client.get(f"/console/members/{member}").text
    assert (
        client.post(
            f"/console/members/{member}/erase", data={"csrf": "stale", "confirm": member}
        ).status_code
        == 403
    )
    typo = client.post(
        f"/console/members/{member}/erase", data={"csrf": csrf(page), "confirm": member + "x"}
    )
    assert "does not match: nothing was erased" in typo.text
    done = client.post(
        f"/console/members/{member}/erase", data={"csrf": csrf(page), "confirm": member}
    )
    assert done.status_code == 200
    assert "Erased at" in done.text and "Member of south" not in done.text
    assert "+8613800000002" not in done.text  # purged at once with a retention of 0 days
    assert 'data-store="south"' in done.text and "waiting" in done.text
    engine = make_engine(url, pool_size=1)
    with make_sessionmaker(engine)() as session:
        actions = [
            (a.actor, a.action)
            for a in session.scalars(
                select(AuditEntry).where(AuditEntry.subject == f"member:{member}")
            )
        ]
    engine.dispose()
    assert ("console:ada", "member.erase") in actions


def test_every_page_renders_in_three_languages(
    hq: tuple[TestClient, str], chain: dict[str, Any]
) -> None:
    client, _ = hq
    login(client, "ada")
    for key, words in i18n.TEXT.items():
        assert len(words) == 3 and all(words), key
    member = chain["members"]["north"]
    paths = [
        "/console",
        "/console/products",
        "/console/members",
        f"/console/members/{member}",
        "/console/segments",
        "/console/stores",
        "/console/notifications",
        "/console/catalog",
    ]
    for lang, word in (("es", "Resumen"), ("zh", "概览"), ("en", "Overview")):
        for path in paths:
            page = client.get(path, params={"lang": lang})
            assert page.status_code == 200, (path, page.text[:300])
            assert f'<html lang="{lang}">' in page.text and word in page.text
    # The choice sticks (cookie) without the parameter.
    client.get("/console", params={"lang": "zh"})
    assert "试穿" in client.get("/console/products").text


def test_users_command(hq: tuple[TestClient, str], chain: dict[str, Any]) -> None:
    _client, url = hq
    env = cli_env()

    def users(*args: str, password: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cloud_sync.hq.cli", "users", "--database-url", url, *args],
            input=password,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    added = users(
        "add",
        "mgr.south",
        "--role",
        "store_manager",
        "--store",
        "south",
        "--password-stdin",
        password=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert "added mgr.south (store_manager: south)" in added.stdout
    short = users("add", "shorty", "--role", "analyst", "--password-stdin", password="short\n")
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    nowhere = users(
        "add",
        "lost",
        "--role",
        "store_manager",
        "--store",
        "mars",
        "--password-stdin",
        password=PASSWORD + "\n",
    )
    assert nowhere.returncode == 2 and "unknown store(s): mars" in nowhere.stderr
    listed = users("list").stdout
    assert re.search(r"mgr\.south\tstore_manager\tsouth\tactive", listed)
    assert users("disable", "mgr.south").returncode == 0
    assert "mgr.south\tstore_manager\tsouth\tdisabled" in users("list").stdout
    client = _client
    assert login(client, "mgr.south").status_code == 401


def _segment_members(client: TestClient) -> dict[str, int]:
    deadline = time.monotonic() + 20
    found: dict[str, int] = {}
    while time.monotonic() < deadline:
        page = client.get("/console/segments").text
        found = {
            name: int(n)
            for name, n in re.findall(
                r'<tr data-segment="([^"]+)"><td>[^<]*</td><td>(\d+)</td>', page
            )
        }
        if found:
            break
        time.sleep(0.3)  # the snapshot is refreshed in the background
    return found


def test_segments_grid_and_campaign_export_in_scope(
    hq: tuple[TestClient, str], chain: dict[str, Any]
) -> None:
    client, _ = hq
    login(client, "ana")
    everyone = _segment_members(client)
    # Both bought; an erased member leaves the segments (the erasure test may have run).
    live = [
        m
        for m in chain["members"].values()
        if client.get(f"/api/v1/members/{m}", headers=ADMIN).json()["erased_at"] is None
    ]
    assert sum(everyone.values()) == len(live)
    login(client, "nora")
    mine = _segment_members(client)
    assert sum(mine.values()) == 1
    [segment] = mine
    exported = list(
        csv.DictReader(io.StringIO(client.get(f"/console/segments/{segment}.csv").text))
    )
    assert [r["member_id"] for r in exported] == [chain["members"]["north"]]
