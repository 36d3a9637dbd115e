"""The real-time demo as a new user opens it: `o2o-edge demo` in a child process, its dashboard
link (as printed) in headless Chromium. The page must show what the running process does:
both cameras online with the time of their last frame, and headquarters sync on with its
backlog, not "never" and "Off"."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.app.demo import NEIGHBOUR_ID
from edge.app.demo_store import free_port
from tests.conftest import REPO_ROOT, cli_env

pytestmark = [pytest.mark.browser, pytest.mark.network]


@pytest.fixture(scope="module")
def demo(
    faces_dir: Path, mqtt_broker: tuple[str, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, list[str]]]:
    """The demo running in real time; yields the dashboard link it printed, once it answers,
    and its output so far (growing)."""
    store_id = f"t{uuid.uuid4().hex[:10]}"
    data = tmp_path_factory.mktemp("demo-data")
    args = ["demo", "--port", str(free_port()), "--minutes", "4", "--store-id", store_id]
    args += ["--data-dir", str(data)]
    process = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=cli_env() | {"O2O_FACE_DATA": str(faces_dir)},
        cwd=REPO_ROOT,
    )
    lines: list[str] = []
    # Drain the output all along: the follow-along lines would fill the pipe and stall it.
    threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True).start()
    try:
        deadline = time.monotonic() + 120
        link = None
        while link is None and time.monotonic() < deadline and process.poll() is None:
            found = re.search(r"dashboard\s+(http://\S+#token=\S+)", "".join(lines))
            link = found.group(1) if found else None
            time.sleep(0.2)
        assert link is not None, "the demo printed no dashboard link:\n" + "".join(lines)
        assert "Cameras on" in "".join(lines), "".join(lines)
        port = int(re.search(r":(\d+)/", link).group(1))  # type: ignore[union-attr]
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield link, lines
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def test_the_demo_dashboard_shows_the_cameras_and_sync_that_run(
    browser: Any, demo: tuple[str, list[str]], artifacts_dir: Path
) -> None:
    link, _lines = demo
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(link)
    for camera in ("cam-entrance", "cam-fitting-1"):
        row = page.locator(f'[data-testid="component-row"][data-component="{camera}"]')
        row.locator(".state-online").wait_for()
        assert "never" not in row.inner_text()  # the time of its last frame
    sync = page.locator("#sync")
    # On, and it has uploaded: "N events waiting · last upload HH:MM:SS".
    page.wait_for_function(
        "() => /events waiting · last upload \\d/"
        ".test(document.getElementById('sync').textContent)",
        timeout=60_000,
    )
    assert "Off" not in sync.inner_text()
    page.screenshot(path=str(artifacts_dir / "demo-dashboard.png"), full_page=True)
    context.close()


def test_the_demo_member_page_link_works_as_printed(demo: tuple[str, list[str]]) -> None:
    _link, lines = demo
    printed = re.search(
        r"Member page .*: (http://\S+/me)\s+log in with phone (\+\d+)", "".join(lines)
    )
    assert printed, "".join(lines)
    page, phone = printed.groups()
    hq = page.removesuffix("/me")
    with httpx.Client(base_url=hq, timeout=10) as browser_like:
        asked = browser_like.post("/api/v1/me/code", json={"channel": "phone", "value": phone})
        assert asked.status_code == 202, asked.text
        deadline = time.monotonic() + 30
        code = None
        while code is None and time.monotonic() < deadline:
            found = re.findall(r"Member page login code: (\d{6})", "".join(lines))
            code = found[-1] if found else None
            time.sleep(0.2)
        assert code is not None, "".join(lines)
        logged = browser_like.post(
            "/api/v1/me/login", json={"channel": "phone", "value": phone, "code": code}
        )
        assert logged.status_code == 204, logged.text
        me = browser_like.get("/api/v1/me").json()
        assert me["name"] == "Demo Member" and me["points"] == 250


def test_the_demo_console_fills_from_the_synced_day(
    browser: Any, demo: tuple[str, list[str]], artifacts_dir: Path
) -> None:
    """The console link and login as printed; the overview counts what the store synced."""
    _link, lines = demo
    printed = re.search(
        r"HQ console: (http://\S+/console)\s+log in as (demo-admin) / (\S+)", "".join(lines)
    )
    assert printed, "".join(lines)
    url, username, password = printed.groups()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r"/console$"))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        # The replayed day keeps its own date: the default period ends on the newest day
        # with data, so it shows that day.
        counted = {
            kpi: int(page.locator(f'[data-kpi="{kpi}"]').inner_text())
            for kpi in ("visitors", "members", "tryons", "sales")
        }
        if any(counted.values()):
            break
        time.sleep(2)
        page.reload()
    assert any(counted.values()), page.locator("main").inner_text()
    # The demo store with its day, and its neighbour, which reports stock only (no day).
    rows = page.locator("#per-store tr[data-store]")
    shown = [rows.nth(i).get_attribute("data-store") for i in range(rows.count())]
    assert len(shown) == 2 and NEIGHBOUR_ID in shown, shown
    page.screenshot(path=str(artifacts_dir / "console-demo-overview.png"), full_page=True)
    context.close()
