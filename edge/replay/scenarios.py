"""Named store scenarios for the simulator: which items are where, when, and what goes wrong.

A scenario is plain data: the items with their path through the store's zones, serial outages,
reboots and line noise, reader clock jumps, how crowded the readers' fields are, what the tills
sell (POS sales) and who the cameras film (a camera scene, built into videos at test time by
``edge.replay.camera_scenes``). Hand-written
scenarios have no randomness; the busy Saturday hour draws its shoppers from a fixed internal
seed, so it too is the same data every time (the simulator's seed varies only the radio).
``edge.replay.simulator`` turns a scenario, with a seed, into the reader traffic of a capture.
The scenarios are written for the demo store layout
(firmware_configs/demo_store.yaml) but only name zones, so any store with those zones works.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from edge.replay.camera_scenes import CameraAppearance

GONE = "gone"
"""Location of an item no antenna can see: carried through the store, or out of it."""

DEMO_START = datetime(2026, 3, 7, 10, 0, 0, tzinfo=UTC)

# The GS1 example company prefix (GS1 General Specifications); item references start with
# the indicator digit 0.
COMPANY_PREFIX = "0614141"


@dataclass(frozen=True, slots=True)
class Stay:
    """From ``at_s`` (seconds after the start) the item is in ``zone`` (or ``GONE``)."""

    at_s: float
    zone: str


@dataclass(frozen=True, slots=True)
class ItemSpec:
    label: str
    item_reference: str
    """6 digits, indicator digit first (with the 7-digit company prefix: a GTIN-13 body)."""
    serial: int
    stays: tuple[Stay, ...]

    def __post_init__(self) -> None:
        times = [stay.at_s for stay in self.stays]
        if not self.stays or times[0] != 0 or times != sorted(times):
            raise ValueError(f"item {self.label}: stays must start at 0 s and be in time order")


@dataclass(frozen=True, slots=True)
class SerialOutage:
    """The serial reader delivers no bytes in [from_s, to_s): its cable was pulled."""

    reader_id: str
    from_s: float
    to_s: float


@dataclass(frozen=True, slots=True)
class SerialReboot:
    """The serial reader loses power at ``at_s`` (a frame on the wire is cut short), is
    silent for ``down_s``, and comes up with a burst of line noise and a partial frame before
    its first whole frame."""

    reader_id: str
    at_s: float
    down_s: float


@dataclass(frozen=True, slots=True)
class ClockJump:
    """From ``at_s`` on, the MQTT reader's own clock (its payload timestamps) is ``offset_s``
    off; the edge still receives each message when it is sent."""

    reader_id: str
    at_s: float
    offset_s: float


@dataclass(frozen=True, slots=True)
class Crowd:
    """Readers in a crowded store (thousands of tags in view), instead of a few dozen."""

    antenna_reads_per_s: float = 40.0
    """Air capacity: an antenna reads at most about this many tags per second, so with many
    tags in view each one is read less often (a shelf of 900 items: about every 11 s)."""
    capture_effect: float = 0.02
    """In a crowded field weak replies (cross-reads from a neighbouring zone) lose most
    collisions to strong ones: their read chance is scaled down by this factor as well."""
    serial_read_ms: int = 20
    """The serial driver, busy with a full line, reads what arrived every ~20 ms (USB-serial
    latency timer plus scheduling) instead of a few bytes at a time."""
    zebra_report_ms: int = 1000
    """IoT Connector batching on: the tag data events of each second in one array."""


@dataclass(frozen=True, slots=True)
class SerialNoise:
    """Per inventory round, the chance of each kind of line damage on the serial readers."""

    garbage_p: float = 0.0
    """Random bytes (many of them 0xA0, the frame head) between two frames."""
    corrupt_p: float = 0.0
    """One tag frame with a damaged byte, so its checksum fails."""
    truncate_p: float = 0.0
    """One tag frame cut short, its tail lost."""
    error_frame_p: float = 0.0
    """A valid error response (antenna_missing_error) instead of a read."""


@dataclass(frozen=True, slots=True)
class PosSale:
    """At ``at_s`` till ``till_id`` sells the items ``labels`` (scanned by EPC, at their
    catalog prices) as sale ``sale_id``, to ``member_id`` when the shopper shows a card."""

    at_s: float
    sale_id: str
    till_id: str
    labels: tuple[str, ...]
    member_id: str | None = None
    returned: bool = False
    """A return (refund) of the items instead of a sale."""


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    duration_s: float
    items: tuple[ItemSpec, ...]
    start: datetime = DEMO_START
    outages: tuple[SerialOutage, ...] = ()
    reboots: tuple[SerialReboot, ...] = ()
    clock_jumps: tuple[ClockJump, ...] = ()
    noise: SerialNoise = field(default_factory=SerialNoise)
    crowd: Crowd | None = None
    """None: every tag in view is read 2-4 times per second per antenna."""
    compress: bool = False
    """Write the lines files gzip-compressed (``*.jsonl.gz``)."""
    sales: tuple[PosSale, ...] = ()
    """What the tills sell, published on the store's POS sales topic."""
    cameras: tuple[CameraAppearance, ...] = ()
    """Who the cameras film (``camera_scene.json``; the videos are built at test time by
    ``edge.replay.camera_scenes``, for a store with cameras: demo_store_cameras.yaml)."""
    neighbours: tuple[tuple[str, str], ...] = (
        ("shelf-a", "shelf-b"),
        ("fitting-1", "fitting-2"),
        ("entrance", "exit"),
    )
    """Zone pairs close enough for an antenna of one to cross-read tags in the other."""


def _still(label: str, reference: str, serial: int, zone: str) -> ItemSpec:
    return ItemSpec(label, reference, serial, (Stay(0, zone),))


def _background() -> tuple[ItemSpec, ...]:
    """Stock that stays put: two items per shelf and one in the backroom."""
    return (
        _still("tee-white-s", "012001", 3001, "shelf-a"),
        _still("tee-white-l", "012002", 3002, "shelf-a"),
        _still("chino-beige-32", "013001", 3003, "shelf-b"),
        _still("chino-navy-34", "013002", 3004, "shelf-b"),
        _still("carton-tee-white-m", "012003", 3005, "backroom"),
    )


def shopper_tryon_exit() -> Scenario:
    return Scenario(
        name="shopper_tryon_exit",
        description=(
            "A shopper takes three items from shelf A: drops one on shelf B, takes two into "
            "fitting room 1, returns one to shelf A, and leaves through the exit with the "
            "other (unsold). Background stock stays on the shelves and in the backroom."
        ),
        duration_s=180,
        items=(
            ItemSpec(
                "sweater-navy-m",
                "011001",
                1001,
                (
                    Stay(0, "shelf-a"),
                    Stay(20, GONE),
                    Stay(30, "fitting-1"),
                    Stay(120, GONE),
                    Stay(130, "shelf-a"),
                ),
            ),
            ItemSpec(
                "sweater-red-m",
                "011002",
                1002,
                (
                    Stay(0, "shelf-a"),
                    Stay(20, GONE),
                    Stay(30, "fitting-1"),
                    Stay(120, GONE),
                    Stay(135, "exit"),
                    Stay(138, GONE),
                ),
            ),
            ItemSpec(
                "cardigan-grey-m",
                "011003",
                1003,
                (Stay(0, "shelf-a"), Stay(20, GONE), Stay(25, "shelf-b")),
            ),
            *_background(),
        ),
    )


def reader_unplugged() -> Scenario:
    return Scenario(
        name="reader_unplugged",
        description=(
            "The shelf reader's serial cable is pulled at 30 s (mid-frame) and plugged back "
            "at 70 s: 40 s without a byte. Meanwhile one item moves from shelf A to shelf B; "
            "the other readers keep reading."
        ),
        duration_s=120,
        items=(
            ItemSpec(
                "sweater-navy-m",
                "011001",
                1001,
                (Stay(0, "shelf-a"), Stay(45, GONE), Stay(50, "shelf-b")),
            ),
            *_background(),
        ),
        outages=(SerialOutage("shelf-reader", 30, 70),),
    )


def serial_garbage() -> Scenario:
    return Scenario(
        name="serial_garbage",
        description=(
            "Steady shelves while the serial line is noisy: garbage bytes, frames with bad "
            "checksums, truncated frames and the odd error response among valid frames."
        ),
        duration_s=60,
        items=_background(),
        noise=SerialNoise(garbage_p=0.15, corrupt_p=0.1, truncate_p=0.08, error_frame_p=0.02),
    )


def reader_reboot() -> Scenario:
    return Scenario(
        name="reader_reboot",
        description=(
            "The shelf reader reboots at 40 s: it stops mid-stream, is silent for 6 s, and "
            "comes up with a burst of line noise and a partial frame before it reads again. "
            "Meanwhile one item moves from shelf B to shelf A; the other readers keep reading."
        ),
        duration_s=90,
        items=(
            ItemSpec(
                "sweater-navy-m",
                "011001",
                1001,
                (Stay(0, "shelf-b"), Stay(41, GONE), Stay(44, "shelf-a")),
            ),
            *_background(),
        ),
        reboots=(SerialReboot("shelf-reader", 40, 6),),
    )


def reader_clock_jump() -> Scenario:
    return Scenario(
        name="reader_clock_jump",
        description=(
            "At 30 s the fitting-room (Zebra) reader's clock jumps 1 h ahead and the door "
            "(Impinj) reader's 10 min back; their payload timestamps jump, their messages still "
            "arrive on time. Afterwards a shopper takes an item into fitting room 2 and "
            "another item leaves through the exit."
        ),
        duration_s=120,
        items=(
            ItemSpec(
                "sweater-red-m",
                "011002",
                1002,
                (Stay(0, "shelf-a"), Stay(40, GONE), Stay(50, "fitting-2")),
            ),
            ItemSpec(
                "cardigan-grey-m",
                "011003",
                1003,
                (Stay(0, "shelf-a"), Stay(60, GONE), Stay(75, "exit"), Stay(78, GONE)),
            ),
            *_background(),
        ),
        clock_jumps=(
            ClockJump("room-reader", 30, 3600),
            ClockJump("door-reader", 30, -600),
        ),
    )


# --- fusion: try-ons, sales, alerts (issue 4, section 5) --------------------------------------

SALE_DAY = f"{DEMO_START:%Y%m%d}"
"""Receipt numbers start with the day: ``20260307-till-1-0001``."""


def tryon_buy_one_return_one() -> Scenario:
    return Scenario(
        name="tryon_buy_one_return_one",
        description=(
            "A member takes two sweaters from shelf A into fitting room 2, puts the navy one "
            "back on shelf A, pays for the red one at the till with her member card and leaves "
            "with it through the exit: one purchase, one return to the floor, no exit alert."
        ),
        duration_s=200,
        items=(
            ItemSpec(
                "sweater-navy-m",
                "011001",
                1001,
                (
                    Stay(0, "shelf-a"),
                    Stay(10, GONE),
                    Stay(20, "fitting-2"),
                    Stay(90, GONE),
                    Stay(105, "shelf-a"),
                ),
            ),
            ItemSpec(
                "sweater-red-m",
                "011002",
                1002,
                (
                    Stay(0, "shelf-a"),
                    Stay(10, GONE),
                    Stay(20, "fitting-2"),
                    Stay(90, GONE),
                    Stay(100, "pos"),
                    Stay(125, GONE),
                    Stay(135, "exit"),
                    Stay(138, GONE),
                ),
            ),
            *_background(),
        ),
        sales=(PosSale(110, f"{SALE_DAY}-till-1-0001", "till-1", ("sweater-red-m",), "m-1001"),),
    )


def sold_then_carried_out() -> Scenario:
    return Scenario(
        name="sold_then_carried_out",
        description=(
            "A shopper takes a cardigan from shelf A to the till, pays for it (no member "
            "card) and carries it out through the exit: a sale, no exit alert."
        ),
        duration_s=150,
        items=(
            ItemSpec(
                "cardigan-grey-m",
                "011003",
                1003,
                (
                    Stay(0, "shelf-a"),
                    Stay(20, GONE),
                    Stay(35, "pos"),
                    Stay(65, GONE),
                    Stay(75, "exit"),
                    Stay(78, GONE),
                ),
            ),
            *_background(),
        ),
        sales=(PosSale(45, f"{SALE_DAY}-till-2-0001", "till-2", ("cardigan-grey-m",)),),
    )


def item_leaves_unsold() -> Scenario:
    return Scenario(
        name="item_leaves_unsold",
        description=(
            "One shopper pays for a chino at the till and leaves with it; another walks out "
            "through the exit with a sweater from shelf A that nobody paid for: an exit_unsold "
            "alert for the sweater only."
        ),
        duration_s=150,
        items=(
            ItemSpec(
                "sweater-red-m",
                "011002",
                1002,
                (Stay(0, "shelf-a"), Stay(40, GONE), Stay(60, "exit"), Stay(63, GONE)),
            ),
            ItemSpec(
                "chino-navy-34-b",
                "013002",
                1006,
                (
                    Stay(0, "shelf-b"),
                    Stay(15, GONE),
                    Stay(30, "pos"),
                    Stay(55, GONE),
                    Stay(62, "exit"),
                    Stay(65, GONE),
                ),
            ),
            *_background(),
        ),
        sales=(PosSale(40, f"{SALE_DAY}-till-1-0001", "till-1", ("chino-navy-34-b",)),),
    )


def shelf_empties_with_backroom_stock() -> Scenario:
    return Scenario(
        name="shelf_empties_with_backroom_stock",
        description=(
            "A shopper takes the last navy sweater (M) from shelf A into fitting room 1 while "
            "the stock room holds another: a shelf_empty alert; a minute later staff bring "
            "the one from the stock room to shelf A."
        ),
        duration_s=180,
        items=(
            ItemSpec(
                "sweater-navy-m",
                "011001",
                1001,
                (Stay(0, "shelf-a"), Stay(20, GONE), Stay(30, "fitting-1")),
            ),
            ItemSpec(
                "carton-sweater-navy-m",
                "011001",
                1004,
                (Stay(0, "backroom"), Stay(90, GONE), Stay(110, "shelf-a")),
            ),
            *_background(),
        ),
    )


def anonymous_shopper() -> Scenario:
    return Scenario(
        name="anonymous_shopper",
        description=(
            "A shopper nobody knows (no camera match, no member card) takes a chino from shelf "
            "B into fitting room 1, pays for it at the till without a card and leaves with it "
            "through the exit: an anonymous try-on that ends in a purchase."
        ),
        duration_s=180,
        items=(
            ItemSpec(
                "chino-beige-32-b",
                "013001",
                1005,
                (
                    Stay(0, "shelf-b"),
                    Stay(10, GONE),
                    Stay(20, "fitting-1"),
                    Stay(80, GONE),
                    Stay(95, "pos"),
                    Stay(120, GONE),
                    Stay(128, "exit"),
                    Stay(131, GONE),
                ),
            ),
            *_background(),
        ),
        sales=(PosSale(105, f"{SALE_DAY}-till-2-0001", "till-2", ("chino-beige-32-b",)),),
    )


def member_tryon_camera() -> Scenario:
    return Scenario(
        name="member_tryon_camera",
        description=(
            "A member walks in past the entrance camera, takes a sweater and a cardigan from "
            "shelf A into fitting room 1, where its camera sees her; she puts the cardigan "
            "back, pays for the sweater with her member card and leaves with it. A stranger "
            "walks past the entrance camera meanwhile. The camera videos are built from face "
            "photographs at test time (camera_scene.json; store: demo_store_cameras.yaml)."
        ),
        duration_s=170,
        items=(
            ItemSpec(
                "sweater-navy-m",
                "011001",
                1001,
                (
                    Stay(0, "shelf-a"),
                    Stay(12, GONE),
                    Stay(20, "fitting-1"),
                    Stay(80, GONE),
                    Stay(90, "pos"),
                    Stay(115, GONE),
                    Stay(126, "exit"),
                    Stay(129, GONE),
                ),
            ),
            ItemSpec(
                "cardigan-grey-m",
                "011003",
                1003,
                (
                    Stay(0, "shelf-a"),
                    Stay(12, GONE),
                    Stay(20, "fitting-1"),
                    Stay(80, GONE),
                    Stay(95, "shelf-a"),
                ),
            ),
            *_background(),
        ),
        sales=(PosSale(100, f"{SALE_DAY}-till-1-0001", "till-1", ("sweater-navy-m",), "m-1001"),),
        cameras=(
            CameraAppearance("cam-entrance", 4, 5, "Abdoulaye_Wade", "m-1001"),
            CameraAppearance("cam-entrance", 40, 5, "Adrien_Brody", None, photo=0),
            CameraAppearance("cam-fitting-1", 15, 8, "Abdoulaye_Wade", "m-1001"),
        ),
    )


# --- a busy Saturday hour -------------------------------------------------------------------

BUSY_STOCK = (("shelf-a", 900), ("shelf-b", 900), ("backroom", 1200))
"""Items per zone at opening: 3,000 tagged items."""
BUSY_PRODUCTS = 60
"""Distinct products (item references); every item is one of them, in some size."""
BUSY_SHOPPERS_PER_HOUR = 48
BUSY_START = DEMO_START.replace(hour=14)
"""Saturday 7 March 2026, 14:00 UTC."""
BUSY_SEED = "busy_saturday_hour"
"""Fixed seed of the shoppers' behaviour: the scenario is the same data every time."""
BUSY_TILLS = ("till-1", "till-2")
BUSY_MEMBERS = tuple(f"m-{1001 + n}" for n in range(12))
"""Loyalty cards shown at the till (a member id on the sale)."""
BUSY_MEMBER_SALE_P = 0.4


def catalog_references(count: int) -> tuple[str, ...]:
    """Item references of ``count`` products spread over the demo catalog (GTIN order), so
    that every simulated item is a product the store sells, with a price."""
    from edge.recommend.catalog import Catalog
    from edge.recommend.runtime import DEMO_CATALOG

    gtins = Catalog.load(DEMO_CATALOG).gtins
    if len(gtins) < count:
        raise ValueError(f"the demo catalog has {len(gtins)} products, fewer than {count}")
    # GTIN-14: indicator digit, company prefix, item reference without its indicator, check.
    return tuple(
        gtin[0] + gtin[1 + len(COMPANY_PREFIX) : 13]
        for gtin in (gtins[n * len(gtins) // count] for n in range(count))
    )


ROOM_TURNOVER_S = 160.0
"""With ``one_per_room``: how long after a shopper left a room before the next one may enter
it (the tag tracker notices an item gone after up to a minute or two, and the room's session
then ends after ``fusion.room_idle_end_s``)."""
STAFF_CLEAR_AFTER_S = 360.0
"""With ``one_per_room``: staff take items left in a room back to their shelf this long
after the shopper left (after the edge raised its ``left_in_room`` task)."""


@dataclass(frozen=True, slots=True)
class _RoomVisit:
    enter_s: float
    leave_s: float
    room: str
    labels: tuple[str, ...]
    left: tuple[str, ...]
    """The items left in the room."""


def busy_saturday_hour(duration_s: float = 3600, *, one_per_room: bool = False) -> Scenario:
    """Dozens of shoppers among thousands of items, several in the fitting rooms at once.

    Each shopper takes 1-4 items from the shelves, carries them about for 1-4 min, tries them
    on for 3-8 min in one of the two fitting rooms, then puts each one back on a shelf (50 %),
    pays for it at a till and leaves through the exit (35 %), leaves it in the room (7 %) or
    walks out through the exit with it unpaid (8 %). A paying shopper's items make one sale,
    sent from one of two tills while they lie there, 40 % of them with a member card. The
    items are 60 products of the demo catalog (so sales have real prices). Staff restock the
    shelves from the backroom every 10 min. A shorter ``duration_s`` cuts the same hour short:
    same items, same shoppers, same times, same sales.

    ``one_per_room``: a fitting room is a cabin for one shopper at a time, as the demo
    narrates (:func:`_one_per_room`). Without it (the shipped captures), several shoppers
    share a room at once, to load its reader.
    """
    rng = random.Random(BUSY_SEED)
    # The tills draw from their own stream, so the shoppers' movements do not depend on them.
    tills = random.Random(f"{BUSY_SEED}:pos")
    references = catalog_references(BUSY_PRODUCTS)
    stays: dict[str, list[Stay]] = {}
    home: dict[str, str] = {}
    labels: dict[str, tuple[str, int]] = {}
    serial = 100_000
    for zone, count in BUSY_STOCK:
        for _ in range(count):
            serial += 1
            product = rng.randrange(BUSY_PRODUCTS)
            label = f"{zone}-{serial}"
            labels[label] = (references[product], serial)
            stays[label] = [Stay(0, zone)]
            home[label] = zone
    on_shelves = [label for label in stays if home[label] != "backroom"]
    in_backroom = [label for label in stays if home[label] == "backroom"]
    rng.shuffle(on_shelves)
    rng.shuffle(in_backroom)
    arrivals: list[float] = []
    checkouts: list[tuple[float, tuple[str, ...]]] = []
    visits: list[_RoomVisit] = []

    def move(label: str, *path: tuple[float, str]) -> None:
        stays[label].extend(Stay(round(at, 1), zone) for at, zone in path if at < duration_s)

    for _ in range(BUSY_SHOPPERS_PER_HOUR):
        arrive = rng.uniform(0, 3600 * 0.85)
        arrivals.append(arrive)
        taken = [on_shelves.pop() for _ in range(rng.randint(1, 4))]
        room = rng.choice(("fitting-1", "fitting-2"))
        enter = arrive + rng.uniform(60, 240)
        leave = enter + rng.uniform(180, 480)
        checkout = leave + rng.uniform(30, 90)
        paid: list[str] = []
        left: list[str] = []
        for label in taken:
            picked = arrive + rng.uniform(0, 30)
            outcome = rng.random()
            path = [(picked, GONE), (enter + rng.uniform(0, 5), room)]
            out = leave + rng.uniform(0, 5)
            if outcome < 0.50:
                shelf = rng.choice(("shelf-a", "shelf-b"))
                path += [(out, GONE), (out + rng.uniform(20, 60), shelf)]
            elif outcome < 0.85:
                paid.append(label)
                path += [(out, GONE), (checkout, "pos"), (checkout + rng.uniform(30, 60), GONE)]
                door = path[-1][0] + rng.uniform(10, 20)
                path += [(door, "exit"), (door + rng.uniform(2, 4), GONE)]
            elif outcome < 0.92:
                left.append(label)  # left in the fitting room for the staff
            else:
                door = out + rng.uniform(20, 40)
                path += [(out, GONE), (door, "exit"), (door + rng.uniform(2, 4), GONE)]
            move(label, *path)
        visits.append(_RoomVisit(enter, leave, room, tuple(taken), tuple(left)))
        if paid:
            # Scanned at the till while the items lie there (they stay 30-60 s).
            checkouts.append((checkout + tills.uniform(10, 25), tuple(paid)))
    sales = _busy_sales(tills, checkouts, duration_s)
    for restock in range(6):
        at = 300 + restock * 600
        shelf = rng.choice(("shelf-a", "shelf-b"))
        for label in (in_backroom.pop() for _ in range(rng.randint(5, 10))):
            move(label, (at, GONE), (at + rng.uniform(60, 120), shelf))

    if one_per_room:
        _one_per_room(visits, stays, home, duration_s)
    items = tuple(
        ItemSpec(label, labels[label][0], labels[label][1], tuple(stays[label])) for label in stays
    )
    minutes = round(duration_s / 60)
    shoppers = sum(1 for at in arrivals if at < duration_s)
    return Scenario(
        name="busy_saturday_hour" if duration_s == 3600 else f"busy_saturday_{minutes}min",
        description=(
            f"{minutes} min of a busy Saturday: {len(items)} tagged items on two shelves and "
            f"in the backroom; {shoppers} shoppers "
            + (
                "take items into the fitting rooms, one shopper per room at a time (when "
                "both are taken, a shopper skips trying on), "
                if one_per_room
                else "take items into the fitting rooms, several at once, "
            )
            + "put some back, pay for some "
            "at the tills and leave through the exit, walk out with a few unpaid; staff "
            "restock the shelves. "
            "Crowded readers read each shelf item every ~11 s."
        ),
        duration_s=duration_s,
        start=BUSY_START,
        items=items,
        crowd=Crowd(),
        compress=True,
        sales=sales,
    )


def _one_per_room(
    visits: list[_RoomVisit],
    stays: dict[str, list[Stay]],
    home: dict[str, str],
    duration_s: float,
) -> None:
    """Make each fitting room a cabin for one shopper at a time, changing ``stays`` in place
    (no random draw, so everything else stays as it was). In order of entering, a shopper
    takes their room if free, else the other one; when both are taken they try nothing on
    (their items go where they would have gone after the room). Items left in a room are
    taken back to their shelf by staff ``STAFF_CLEAR_AFTER_S`` later, and the room is free
    again ``ROOM_TURNOVER_S`` after its last item went out."""
    free_from = {"fitting-1": 0.0, "fitting-2": 0.0}
    for visit in sorted(visits, key=lambda v: v.enter_s):
        other = "fitting-2" if visit.room == "fitting-1" else "fitting-1"
        room = next((r for r in (visit.room, other) if free_from[r] <= visit.enter_s), None)
        cleared_s = visit.leave_s + 5 + (STAFF_CLEAR_AFTER_S + 30 if visit.left else 0)
        if room is not None:
            free_from[room] = cleared_s + ROOM_TURNOVER_S
        for label in visit.labels:
            path = stays[label]
            at = next(
                n for n, stay in enumerate(path) if stay.zone == visit.room or n == len(path) - 1
            )
            if path[at].zone != visit.room:
                continue  # the day ends before the room
            if room is None:
                del path[at]
            else:
                path[at] = Stay(path[at].at_s, room)
            if label in visit.left:
                back = (
                    [Stay(round(visit.leave_s + 5, 1), home[label])]
                    if room is None
                    else [
                        Stay(round(visit.leave_s + STAFF_CLEAR_AFTER_S, 1), GONE),
                        Stay(round(visit.leave_s + STAFF_CLEAR_AFTER_S + 30, 1), home[label]),
                    ]
                )
                path.extend(stay for stay in back if stay.at_s < duration_s)


def _busy_sales(
    tills: random.Random, checkouts: list[tuple[float, tuple[str, ...]]], duration_s: float
) -> tuple[PosSale, ...]:
    """One sale per paying shopper, at a random till, some with a member's card; receipts
    are numbered per till in time order."""
    sales = []
    receipts = dict.fromkeys(BUSY_TILLS, 0)
    for at_s, labels in sorted(checkouts):
        till = tills.choice(BUSY_TILLS)
        member = tills.choice(BUSY_MEMBERS) if tills.random() < BUSY_MEMBER_SALE_P else None
        if at_s >= duration_s:
            continue
        receipts[till] += 1
        sale_id = f"{BUSY_START:%Y%m%d}-{till}-{receipts[till]:04d}"
        sales.append(PosSale(round(at_s, 1), sale_id, till, labels, member))
    return tuple(sales)


def busy_saturday_15min() -> Scenario:
    """The first 15 minutes of the busy hour: what tests/hil ships (the hour is ~4x bigger)."""
    return busy_saturday_hour(900)


GATE_THEFTS = ("sweater-red-m", "sweater-returned", "chino-pair", "tee-pair")
"""The items of gate_store_day that leave unpaid: each must alarm, and nothing else may."""

GATE_QUIET_FROM_S = 300
GATE_QUIET_TO_S = 3900
"""Nothing passes the MQTT readers (fitting rooms, till, door) for this hour of the store day."""


def gate_store_day() -> Scenario:
    """Loss prevention at the door (issue 13), for a store whose door reader is a gate: the
    entrance antenna faces the store (inside), the exit antenna the street (outside); the
    store's config says so (tests/hil/gate_store_day/store.yaml, ``gate.directions``)."""
    quiet_end = GATE_QUIET_TO_S
    return Scenario(
        name="gate_store_day",
        description=(
            "A store day at the gate. A shopper comes in with a coat bought at another store "
            "of the chain and leaves with it (no alarm); a sweater from shelf A is carried out "
            "(alarm); a cardigan paid at the till is carried out (no alarm); a shopper lingers "
            "at the door with a tee and walks back to the shelf (no alarm). Then an hour in "
            "which nothing passes the MQTT readers (no reader_offline). A sweater bought "
            "earlier is brought back, returned at the till and put on shelf B, and later "
            "carried out (alarm); two items leave together (one alarm with both)."
        ),
        duration_s=quiet_end + 300,
        items=(
            ItemSpec(
                "coat-bought-elsewhere",
                "011001",
                1101,
                (
                    Stay(0, GONE),
                    Stay(10, "exit"),
                    Stay(12, "entrance"),
                    Stay(14, GONE),
                    Stay(200, "entrance"),
                    Stay(202, "exit"),
                    Stay(204, GONE),
                ),
            ),
            ItemSpec(
                "sweater-red-m",
                "011002",
                1102,
                (
                    Stay(0, "shelf-a"),
                    Stay(40, GONE),
                    Stay(100, "entrance"),
                    Stay(102, "exit"),
                    Stay(104, GONE),
                ),
            ),
            ItemSpec(
                "cardigan-grey-m",
                "011003",
                1103,
                (
                    Stay(0, "shelf-a"),
                    Stay(20, GONE),
                    Stay(30, "pos"),
                    Stay(60, GONE),
                    Stay(120, "entrance"),
                    Stay(122, "exit"),
                    Stay(124, GONE),
                ),
            ),
            ItemSpec(
                "tee-lingering",
                "012001",
                1104,
                (
                    Stay(0, "shelf-a"),
                    Stay(150, GONE),
                    Stay(160, "entrance"),
                    Stay(190, GONE),
                    Stay(200, "shelf-a"),
                ),
            ),
            ItemSpec(
                "sweater-returned",
                "011001",
                1105,
                (
                    Stay(0, GONE),
                    Stay(quiet_end + 10, "exit"),
                    Stay(quiet_end + 12, "entrance"),
                    Stay(quiet_end + 14, GONE),
                    Stay(quiet_end + 25, "pos"),
                    Stay(quiet_end + 50, GONE),
                    Stay(quiet_end + 60, "shelf-b"),
                    Stay(quiet_end + 150, GONE),
                    Stay(quiet_end + 180, "entrance"),
                    Stay(quiet_end + 182, "exit"),
                    Stay(quiet_end + 184, GONE),
                ),
            ),
            ItemSpec(
                "chino-pair",
                "013002",
                1106,
                (
                    Stay(0, "shelf-b"),
                    Stay(quiet_end + 200, GONE),
                    Stay(quiet_end + 230, "entrance"),
                    Stay(quiet_end + 232, "exit"),
                    Stay(quiet_end + 234, GONE),
                ),
            ),
            ItemSpec(
                "tee-pair",
                "012002",
                1107,
                (
                    Stay(0, "shelf-a"),
                    Stay(quiet_end + 200, GONE),
                    Stay(quiet_end + 230, "entrance"),
                    Stay(quiet_end + 232, "exit"),
                    Stay(quiet_end + 234, GONE),
                ),
            ),
        ),
        sales=(
            PosSale(40, f"{SALE_DAY}-till-2-0101", "till-2", ("cardigan-grey-m",)),
            PosSale(
                quiet_end + 35,
                f"{SALE_DAY}-till-2-0102",
                "till-2",
                ("sweater-returned",),
                returned=True,
            ),
        ),
        compress=True,
    )


SCENARIOS = {
    "shopper_tryon_exit": shopper_tryon_exit,
    "reader_unplugged": reader_unplugged,
    "serial_garbage": serial_garbage,
    "reader_reboot": reader_reboot,
    "reader_clock_jump": reader_clock_jump,
    "tryon_buy_one_return_one": tryon_buy_one_return_one,
    "sold_then_carried_out": sold_then_carried_out,
    "item_leaves_unsold": item_leaves_unsold,
    "shelf_empties_with_backroom_stock": shelf_empties_with_backroom_stock,
    "anonymous_shopper": anonymous_shopper,
    "member_tryon_camera": member_tryon_camera,
    "busy_saturday_15min": busy_saturday_15min,
    "busy_saturday_hour": busy_saturday_hour,
    "gate_store_day": gate_store_day,
}
SHIPPED = tuple(name for name in SCENARIOS if name != "busy_saturday_hour")
"""Scenarios whose captures tests/hil ships (the full hour is generated where it is needed:
``o2o-edge bench replay``)."""


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]()
    except KeyError:
        known = ", ".join(SCENARIOS)
        raise KeyError(f"unknown scenario {name!r}; known: {known}") from None
