"""Named store scenarios for the simulator: which items are where, when, and what goes wrong.

A scenario is plain data (pure, no randomness): the items with their path through the store's
zones, serial outages and line noise. ``edge.replay.simulator`` turns it, with a seed, into
the reader traffic of a capture. The scenarios are written for the demo store layout
(firmware_configs/demo_store.yaml) but only name zones, so any store with those zones works.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

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
class Scenario:
    name: str
    description: str
    duration_s: float
    items: tuple[ItemSpec, ...]
    start: datetime = DEMO_START
    outages: tuple[SerialOutage, ...] = ()
    noise: SerialNoise = field(default_factory=SerialNoise)
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


SCENARIOS = {
    "shopper_tryon_exit": shopper_tryon_exit,
    "reader_unplugged": reader_unplugged,
    "serial_garbage": serial_garbage,
}


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]()
    except KeyError:
        known = ", ".join(SCENARIOS)
        raise KeyError(f"unknown scenario {name!r}; known: {known}") from None
