"""API docs on an offline store network: Chromium with every request outside the server
refused (no CDN reachable) opens ``/docs`` of the edge and of a real ``o2o-hq run``, and
Swagger UI lists their operations from their own OpenAPI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from edge.bench.sync import HqProcess, fresh_database
from tests.browser.conftest import LiveStore

pytestmark = [pytest.mark.browser, pytest.mark.network]
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def hq(database_url: str) -> Iterator[HqProcess]:
    with fresh_database(database_url, "o2o_api_docs") as url, HqProcess(url) as process:
        yield process


def operations_offline(browser: Any, base: str, path: str) -> tuple[int, list[str]]:
    """The operations Swagger UI shows at ``base + path``, and the requests it tried to send
    anywhere else (all refused)."""
    context = browser.new_context()
    elsewhere: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(base + path)
    page.locator(".opblock").first.wait_for()
    count = page.locator(".opblock").count()
    context.close()
    return count, elsewhere


def test_edge_docs_open_offline(browser: Any, live_store: LiveStore) -> None:
    count, elsewhere = operations_offline(browser, live_store.url, "/docs")
    assert count >= 20 and elsewhere == []
    # The older address still leads there.
    again, _ = operations_offline(browser, live_store.url, "/api/docs")
    assert again == count


def test_hq_docs_open_offline(browser: Any, hq: HqProcess) -> None:
    count, elsewhere = operations_offline(browser, hq.url, "/docs")
    assert count >= 40 and elsewhere == []
