"""The pieces of ``o2o-edge demo``: the store day it replays, the members the cameras know, and
headquarters on SQLite as a child process (``o2o-hq run``) the store syncs to."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from edge.config.store import StoreConfig
from edge.replay.camera_scenes import CameraAppearance, person_photos
from edge.replay.scenarios import (
    GONE,
    ItemSpec,
    Scenario,
    Stay,
    anonymous_shopper,
    busy_saturday_hour,
    sold_then_carried_out,
    tryon_buy_one_return_one,
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


def member_name(member_id: str) -> str:
    """The first name the tablets greet a day member by (their member directory entry)."""
    return _first_name(dict(DAY_MEMBERS)[member_id])


def _first_name(person: str) -> str:
    return person.split("_")[0]


ENTRANCE_CAMERA = "cam-entrance"
ROOM_CAMERAS = {"fitting-1": "cam-fitting-1"}
"""The fitting rooms with a camera in the demo store with cameras (demo_store_cameras.yaml;
tests/demo checks the file says the same)."""
ROOM_NAMES = {"fitting-1": "fitting room 1", "fitting-2": "fitting room 2"}


@dataclass(frozen=True, slots=True)
class Opener:
    """A hand-written scene the demo day opens with, and who its shopper is. The narration
    (:func:`narration`) and the attribution the edge must produce (:func:`expected_member`)
    are both derived from this data, so the two cannot disagree; the cameras film what it
    says (:func:`opener_appearances`)."""

    scene: Callable[[], Scenario]
    story: str | None = None
    """The narration, with ``{who}`` (the shopper) and ``{room}`` filled in; None: the
    scenario's own description (scenes without a fitting room)."""
    shopper: str | None = None
    """The member id (one of :data:`DAY_MEMBERS`) of the shopper; None: nobody a camera
    knows."""
    room: str | None = None
    """The fitting room the scene is played in: its items' fitting-room stays move there."""
    in_room_s: float = 0.0
    """When the shopper steps into the room (its camera, if any, films them from then)."""
    entrance_s: float = 2.0
    """When the shopper passes the entrance camera."""

    def scenario(self) -> Scenario:
        scenario = self.scene()
        if self.room is None:
            return scenario
        room = self.room
        items = tuple(
            replace(
                item,
                stays=tuple(
                    replace(stay, zone=room) if stay.zone in ROOM_NAMES else stay
                    for stay in item.stays
                ),
            )
            for item in scenario.items
        )
        return replace(scenario, items=items)

    def tried_on(self) -> tuple[ItemSpec, ...]:
        """The scene's items that go into its fitting room."""
        return tuple(
            item
            for item in self.scenario().items
            if any(stay.zone == self.room for stay in item.stays)
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


DAY_OPENERS = (
    Opener(
        tryon_buy_one_return_one,
        story=(
            "{who} takes two sweaters from shelf A into {room}, puts the navy one back on "
            "shelf A, pays for the red one at the till with her member card and leaves with it "
            "through the exit: one purchase, one return to the floor, no exit alert."
        ),
        shopper="m-1001",
        room="fitting-1",
        in_room_s=15,
    ),
    Opener(sold_then_carried_out),
    Opener(
        anonymous_shopper,
        story=(
            "{who} takes a chino from shelf B into {room}, pays for it at the till without a "
            "card and leaves with it through the exit: an anonymous try-on that ends in a "
            "purchase."
        ),
        room="fitting-2",
        in_room_s=15,
    ),
    Opener(walk_out_unpaid),
)
"""The scenes the day opens with, so that even a short day sells something. The member tries
on in the room with a camera, the anonymous shopper in the other, so neither room has two
shoppers at once."""


def expected_member(opener: Opener, cameras: bool) -> str | None:
    """Whom the edge must credit the opener's try-ons to: its shopper when the room's own
    camera films them (a store with cameras, a room with one), else nobody."""
    filmed = cameras and opener.room is not None and opener.room in ROOM_CAMERAS
    return opener.shopper if filmed else None


def narration(opener: Opener, cameras: bool) -> str:
    """What the demo says about the opener, its attribution included."""
    scenario = opener.scene()
    if opener.story is None or opener.room is None:
        return scenario.description
    if opener.shopper is None:
        who = "A shopper nobody knows (no camera match, no member card)"
    else:
        who = f"{member_name(opener.shopper)}, a member ({opener.shopper}),"
    room = ROOM_NAMES[opener.room]
    story = opener.story.format(who=who, room=room)
    member = expected_member(opener, cameras)
    if member is not None:
        told = (
            f"The camera in {room} recognises {member_name(member)}: the tablet greets her "
            f"and her try-ons are credited to {member}."
        )
    elif opener.shopper is not None:
        told = (
            f"No camera sees her in {room}: the tablet greets nobody and the try-ons are anonymous."
        )
    else:
        told = f"The tablet in {room} greets nobody and the try-on is credited to no member."
    return f"{story[0].upper()}{story[1:]} {told}"


def opener_appearances(opener: Opener) -> tuple[CameraAppearance, ...]:
    """The member shopper of an opener passes the entrance camera and, in a room with a
    camera, is filmed there as they step in."""
    if opener.shopper is None:
        return ()
    person = dict(DAY_MEMBERS)[opener.shopper]
    appearances = [
        CameraAppearance(
            ENTRANCE_CAMERA, opener.entrance_s, 5, person, opener.shopper, FILMED_PHOTO
        )
    ]
    if opener.room in ROOM_CAMERAS:
        appearances.append(
            CameraAppearance(
                ROOM_CAMERAS[opener.room], opener.in_room_s, 8, person, opener.shopper, FILMED_PHOTO
            )
        )
    return tuple(appearances)


def opening_end_s() -> float:
    """When the openers no longer occupy a fitting room: their last item out of a room, plus
    the idle end of a session (fusion.room_idle_end_s, 60 s) and a margin."""
    ends = [
        next_stay.at_s
        for opener in DAY_OPENERS
        for item in opener.tried_on()
        for stay, next_stay in zip(item.stays, item.stays[1:], strict=False)
        if stay.zone == opener.room
    ]
    return max(ends, default=0.0) + 60 + 10


def room_entries(day: Scenario, room: str, after_s: float) -> list[float]:
    """When shoppers step into ``room`` from ``after_s`` on: the first item of each armful
    (items coming in within 5 s of each other)."""
    arrivals = sorted(
        stay.at_s
        for item in day.items
        for stay in item.stays
        if stay.zone == room and stay.at_s >= after_s
    )
    entries: list[float] = []
    last = -1e9
    for at_s in arrivals:
        if at_s - last > 5:
            entries.append(at_s)
        last = at_s
    return entries


def day_appearances(day: Scenario) -> tuple[CameraAppearance, ...]:
    """Who the cameras film on ``day``: the openers' shoppers as their scenes say; strangers
    passing the entrance, spread over the day; and each other member as one of the day's
    shoppers in fitting room 1 after the openers left it: filmed there as they step in with
    their items (so the session the camera gives them is theirs), and a minute and a half
    earlier at the entrance. Members left without such a shopper pass the entrance only."""
    duration_s = day.duration_s
    appearances = [a for opener in DAY_OPENERS for a in opener_appearances(opener)]
    slot_s = duration_s / (len(DAY_MEMBERS) + 1)
    for number, person in enumerate(DAY_STRANGERS):
        at_s = slot_s / 2 + number * duration_s / len(DAY_STRANGERS)
        appearances.append(CameraAppearance(ENTRANCE_CAMERA, at_s, 5, person, None, photo=0))
    in_openers = {opener.shopper for opener in DAY_OPENERS}
    others = [(m, person) for m, person in DAY_MEMBERS if m not in in_openers]
    entries = [
        at_s for at_s in room_entries(day, "fitting-1", opening_end_s()) if at_s + 8 <= duration_s
    ]
    for number, (member_id, person) in enumerate(others):
        room_s = entries[number] - 2 if number < len(entries) else None
        door_s = _free_at_entrance(
            appearances, max(room_s - 90, 0) if room_s is not None else slot_s * (number + 1)
        )
        appearances.append(
            CameraAppearance(ENTRANCE_CAMERA, door_s, 5, person, member_id, FILMED_PHOTO)
        )
        if room_s is not None:
            appearances.append(
                CameraAppearance(
                    ROOM_CAMERAS["fitting-1"], room_s, 8, person, member_id, FILMED_PHOTO
                )
            )
    return tuple(appearances)


def _free_at_entrance(appearances: Sequence[CameraAppearance], at_s: float) -> float:
    """``at_s``, or earlier (later near the start), so that two faces never share the
    entrance camera's frames (they would be filmed on the same spot)."""
    taken = [
        (a.at_s - 2, a.at_s + a.duration_s + 2) for a in appearances if a.camera == ENTRANCE_CAMERA
    ]
    step = -10 if at_s >= 60 else 10
    while any(start < at_s + 5 and at_s < end for start, end in taken):
        at_s += step
    return at_s


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


def opening(*, cameras: bool) -> Scenario:
    """The openers alone, as the day plays them (with their shoppers on camera when
    ``cameras``): what tests/demo replays to check the narrated attributions."""
    empty = Scenario(name="demo_opening", description="", duration_s=0, items=())
    scenes = with_scenes(empty, [opener.scenario() for opener in DAY_OPENERS])
    return replace(
        scenes,
        description=" ".join(narration(opener, cameras) for opener in DAY_OPENERS),
        cameras=(
            tuple(a for opener in DAY_OPENERS for a in opener_appearances(opener))
            if cameras
            else ()
        ),
    )


def store_day(duration_s: float, *, cameras: bool) -> Scenario:
    """The start of a busy Saturday (thousands of tagged items, shoppers trying on, tills
    selling, the odd item walking out unpaid) which opens with hand-written scenes (a member
    trying on two sweaters and buying one, shoppers buying, a sweater walking out unpaid), so
    that even a short day has them all; members and strangers on camera."""
    openers = [opener.scenario() for opener in DAY_OPENERS]
    # One shopper per fitting room at a time, as a cabin is: what the tablets can tell apart.
    day = with_scenes(busy_saturday_hour(duration_s, one_per_room=True), openers)
    description = (
        day.description
        + " It opens with: "
        + " ".join(narration(opener, cameras) for opener in DAY_OPENERS)
    )
    if not cameras:
        return replace(day, name="store_day", description=description)
    return replace(
        day,
        name="store_day_with_cameras",
        description=description
        + f" The cameras film {len(DAY_MEMBERS)} members and {len(DAY_STRANGERS)} strangers.",
        cameras=day_appearances(day),
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
        {"member_id": member_id, "first_name": _first_name(person), "consent": True}
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
            # The console's RFM segments follow the day within half a minute.
            "O2O_HQ_SEGMENTS_REFRESH_S": "30",
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

    def create_store(
        self, store_id: str, name: str, at: tuple[float, float] = (48.8566, 2.3522)
    ) -> tuple[str, str]:
        """The store's key id and secret (HQ shows the secret only now); by default at the
        Hôtel de Ville, Paris."""
        created = self.request(
            "POST",
            "/api/v1/admin/stores",
            {"id": store_id, "name": name, "latitude": at[0], "longitude": at[1]},
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
