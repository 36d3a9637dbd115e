"""The pieces of ``o2o-edge demo``: the store day it replays, the members the cameras know, and
headquarters on SQLite as a child process (``o2o-hq run``) the store syncs to."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from edge.config.store import StoreConfig
from edge.replay.camera_scenes import CameraAppearance, person_photos
from edge.replay.scenarios import (
    GONE,
    ItemSpec,
    Scenario,
    Stay,
    busy_saturday_hour,
    get_scenario,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]

DAY_MEMBERS = (
    ("m-1001", "Nicole_Kidman"),
    ("m-1002", "Richard_Gere"),
    ("m-1003", "Kofi_Annan"),
    ("m-1004", "Renee_Zellweger"),
)
"""Loyalty members (ids the busy day's tills know) who gave face-recognition consent, and the
person of the shared photographs each one is."""
DAY_STRANGERS = ("Tom_Ridge", "Winona_Ryder", "Pierce_Brosnan")
"""Shoppers the cameras film who are not members: never enrolled, never stored."""
DAY_OPENERS = ("tryon_buy_one_return_one", "sold_then_carried_out", "anonymous_shopper")
"""Hand-written scenes the day opens with, so that even a short day sells something."""
FILMED_PHOTO = 2
"""The photograph each member is filmed from; the others enrol them."""


def face_data_dir() -> Path | None:
    """The shared face photographs: $O2O_FACE_DATA or ../shared/data/faces beside the repo."""
    configured = os.environ.get("O2O_FACE_DATA")
    folder = Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "data" / "faces"
    return folder if (folder / "INDEX.csv").is_file() else None


def missing_people(faces_dir: Path) -> list[str]:
    people = [person for _, person in DAY_MEMBERS] + list(DAY_STRANGERS)
    return [person for person in people if len(person_photos(faces_dir, person)) <= FILMED_PHOTO]


def day_appearances(duration_s: float) -> tuple[CameraAppearance, ...]:
    """Each member walks in past the entrance camera and, a minute later, is filmed in fitting
    room 1; strangers pass the entrance in between. Spread evenly over the day."""
    appearances: list[CameraAppearance] = []
    slot_s = duration_s / (len(DAY_MEMBERS) + 1)
    for number, (member_id, person) in enumerate(DAY_MEMBERS):
        enter_s = 5 + number * slot_s
        appearances.append(
            CameraAppearance("cam-entrance", enter_s, 5, person, member_id, FILMED_PHOTO)
        )
        room_s = min(enter_s + 60, duration_s - 15)
        appearances.append(
            CameraAppearance("cam-fitting-1", room_s, 8, person, member_id, FILMED_PHOTO)
        )
    for number, person in enumerate(DAY_STRANGERS):
        at_s = slot_s / 2 + number * duration_s / len(DAY_STRANGERS)
        appearances.append(CameraAppearance("cam-entrance", at_s, 5, person, None, photo=0))
    return tuple(appearances)


def with_scenes(day: Scenario, scenes: Sequence[Scenario]) -> Scenario:
    """``day`` with the items and sales of hand-written ``scenes`` played from its start. The
    scenes share their background stock (same labels, same paths: kept once); their receipt
    numbers get the scene's name, so they never clash with the day's own."""
    items = {item.label: item for item in day.items}
    sales = list(day.sales)
    for scene in scenes:
        for item in scene.items:
            if items.setdefault(item.label, item) != item:
                raise ValueError(f"scene {scene.name}: item {item.label} clashes with the day's")
        sales += [replace(sale, sale_id=f"{sale.sale_id}-{scene.name}") for sale in scene.sales]
    return replace(
        day,
        items=tuple(items.values()),
        sales=tuple(sorted(sales, key=lambda sale: sale.at_s)),
        duration_s=max(day.duration_s, *(scene.duration_s for scene in scenes)),
    )


def walk_out_unpaid() -> Scenario:
    return Scenario(
        name="walk_out_unpaid",
        description="At 2:00 a shopper walks out with a red sweater nobody paid for.",
        duration_s=200,
        items=(
            ItemSpec(
                "sweater-red-m-walkout",
                "011002",
                1902,
                (Stay(0, "shelf-a"), Stay(100, GONE), Stay(120, "exit"), Stay(123, GONE)),
            ),
        ),
    )


def store_day(duration_s: float, *, cameras: bool) -> Scenario:
    """The start of a busy Saturday (thousands of tagged items, shoppers trying on, tills
    selling, the odd item walking out unpaid) which opens with hand-written scenes (a member
    trying on two sweaters and buying one, shoppers buying, a sweater walking out unpaid), so
    that even a short day has them all; members and strangers on camera."""
    openers = [*(get_scenario(name) for name in DAY_OPENERS), walk_out_unpaid()]
    day = with_scenes(busy_saturday_hour(duration_s), openers)
    description = (
        day.description + " It opens with: " + " ".join(scene.description for scene in openers)
    )
    if not cameras:
        return replace(day, name="store_day", description=description)
    return replace(
        day,
        name="store_day_with_cameras",
        description=description
        + f" The cameras film {len(DAY_MEMBERS)} members and {len(DAY_STRANGERS)} strangers.",
        cameras=day_appearances(day.duration_s),
    )


def enrol_members(config: StoreConfig, faces_dir: Path, start_ms: int) -> int:
    """Enrol the day's members with their consent from the photographs not filmed, and list
    them in the member directory the tablets greet by first name. Returns how many."""
    from edge.clock import VirtualClock
    from edge.vision.enrolment import FaceService, PhotoInput

    service = FaceService.from_config(config, VirtualClock(start_ms))
    for member_id, person in DAY_MEMBERS:
        photos = [
            photo
            for number, photo in enumerate(person_photos(faces_dir, person))
            if number != FILMED_PHOTO
        ]
        inputs = [PhotoInput(photo.name, photo.read_bytes) for photo in photos]
        service.enroll(member_id, inputs, consent_reference=f"demo-form-{member_id}")
    members = [
        {"member_id": member_id, "first_name": person.split("_")[0], "consent": True}
        for member_id, person in DAY_MEMBERS
    ]
    directory = {"version": "demo", "members": members}
    (config.data_dir / "members.json").write_text(json.dumps(directory), encoding="utf-8")
    return len(members)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class HqError(RuntimeError):
    """Headquarters did not start or refused a request."""


class Headquarters:
    """``o2o-hq run`` on SQLite in ``work_dir`` (its var/ folder), on a free local port, with
    a fresh admin token; stopped (and waited for) by :meth:`stop`."""

    def __init__(self, work_dir: Path, *, start_timeout_s: float = 60.0) -> None:
        from cloud_sync.hq.core.security import new_server_key, new_staff_token

        self.work_dir = work_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_token = new_staff_token()
        self.start_timeout_s = start_timeout_s
        self._env = {
            **os.environ,
            "O2O_HQ_SECRET_KEY": new_server_key(),
            "O2O_HQ_ADMIN_TOKEN": self.admin_token,
            # Member messages (login codes for the member page) go to a file the demo shows.
            "O2O_HQ_NOTIFY_CHANNEL": "file",
            "O2O_HQ_NOTIFY_FILE": str(work_dir / "notifications.jsonl"),
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])
            ),
        }
        self._env.pop("O2O_HQ_DATABASE_URL", None)  # SQLite under work_dir/var
        self._process: subprocess.Popen[bytes] | None = None
        self._log = work_dir / "hq.log"

    def start(self) -> None:
        import httpx

        self.work_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "cloud_sync.hq.cli", "run", "--port", str(self.port)]
        with self._log.open("wb") as log_file:
            self._process = subprocess.Popen(
                [*command, "--log-level", "warning"],
                cwd=self.work_dir,
                env=self._env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                # Ctrl-C reaches the whole foreground group: the demo stops HQ itself, in order.
                start_new_session=True,
            )
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise HqError(f"o2o-hq exited {self._process.returncode}: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise HqError(f"o2o-hq did not answer on {self.url} within {self.start_timeout_s:.0f} s")

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def request(self, method: str, path: str, body: Any = None) -> Any:
        import httpx

        response = httpx.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=30,
        )
        if response.status_code >= 400:
            raise HqError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    @property
    def notifications_file(self) -> Path:
        return self.work_dir / "notifications.jsonl"

    def create_day_members(self, store_id: str) -> int:
        """The loyalty members the day's tills name (their ids), at HQ too: their purchases
        then count for points, RFM and the member reports."""
        for number, (member_id, person) in enumerate(DAY_MEMBERS):
            self.request(
                "POST",
                "/api/v1/members",
                {
                    "id": member_id,
                    "name": person.split("_")[0],
                    "tier": ("standard", "silver", "gold", "platinum")[number % 4],
                    "home_store_id": store_id,
                },
            )
        return len(DAY_MEMBERS)

    def create_demo_member(self, store_id: str, phone: str) -> str:
        """A member who can log in to the member page with ``phone``."""
        created = self.request(
            "POST",
            "/api/v1/members",
            {
                "name": "Demo Member",
                "identities": [{"channel": "phone", "value": phone}],
                "home_store_id": store_id,
            },
        )
        member_id = str(created["id"])
        self.request(
            "POST",
            f"/api/v1/members/{member_id}/points",
            {"delta": 250, "cause": "welcome", "ref": "demo-welcome"},
        )
        return member_id

    def create_console_users(self, store_id: str) -> str:
        """Console logins for the demo: ``demo-admin`` (everything) and ``demo-manager`` (the
        demo store's manager), with one fresh password, returned."""
        import secrets

        password = "demo-" + secrets.token_urlsafe(9)
        for username, role in (("demo-admin", "admin"), ("demo-manager", "store_manager")):
            scope = ["--store", store_id] if role == "store_manager" else []
            added = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "cloud_sync.hq.cli",
                    "users",
                    "add",
                    username,
                    "--role",
                    role,
                    *scope,
                    "--password-stdin",
                ],
                input=password + "\n",
                cwd=self.work_dir,
                env=self._env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            if added.returncode != 0:
                raise HqError(f"o2o-hq users add {username}: {added.stderr.strip()}")
        return password

    def login_codes(self, offset: int) -> tuple[list[str], int]:
        """Login codes written to the notification file since ``offset``; the new offset."""
        try:
            with self.notifications_file.open("rb") as handle:
                handle.seek(offset)
                data = handle.read()
        except FileNotFoundError:
            return [], offset
        complete = data[: data.rfind(b"\n") + 1]
        codes = [
            str(message["data"]["code"])
            for message in map(json.loads, complete.splitlines())
            if message.get("kind") == "login_code"
        ]
        return codes, offset + len(complete)

    def create_store(self, store_id: str, name: str) -> tuple[str, str]:
        """The store's key id and secret (HQ shows the secret only now)."""
        created = self.request(
            "POST",
            "/api/v1/admin/stores",
            {"id": store_id, "name": name, "latitude": 48.8566, "longitude": 2.3522},
        )
        return str(created["key_id"]), str(created["secret"])

    def upload_catalog(self, catalog_path: Path) -> int:
        # The catalog file as it is: HQ's catalog API takes the same product fields.
        products = json.loads(catalog_path.read_text(encoding="utf-8"))["products"]
        self.request("PUT", "/api/v1/catalog", {"products": products})
        return len(products)

    def events_stored(self) -> int:
        """Events HQ has stored (its Prometheus counter), from every store."""
        import httpx

        response = httpx.get(
            f"{self.url}/metrics",
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=30,
        )
        response.raise_for_status()
        for line in response.text.splitlines():
            if line.startswith('o2o_hq_events_total{status="stored"}'):
                return int(float(line.rsplit(" ", 1)[1]))
        return 0

    def conversion(self, store_id: str) -> Mapping[str, Any]:
        """HQ's conversion report of the store, all products together."""
        path = f"/api/v1/reports/conversion?group_by=store&store_id={store_id}"
        rows = self.request("GET", path)["rows"]
        return rows[0] if rows else {}

    def stop(self, timeout_s: float = 15.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
