"""The tag tracker as scenarios: reads in, changes out, time injected through the reads."""

from __future__ import annotations

import random
from typing import Any

import pytest

from edge.config.loader import parse_store_config
from edge.config.tracker import DEFAULT_DEPARTED_AFTER_S, TrackerConfig
from edge.config.zones import ZoneKind
from edge.rfid.epc import gtin_of
from edge.rfid.reads import TagRead
from edge.rfid.tracker import ChangeKind, TagChange, TagState, TagTracker, move_margin_db
from tests.rfid.conftest import (
    ANTENNAS,
    T0_MS,
    ZONES,
    assert_pattern,
    epc_of,
    gtin,
    make_tracker,
    noisy,
    read_all,
    reads,
)

ARRIVED, MOVED, DEPARTED, RETURNED = (
    ChangeKind.ARRIVED,
    ChangeKind.MOVED,
    ChangeKind.DEPARTED,
    ChangeKind.RETURNED,
)
EPC = epc_of(1, 1)
SMALL_THRESHOLDS: dict[str, object] = {
    "departed_after_s": {kind.value: 20.0 for kind in ZoneKind} | {"exit": 8.0},
    "arrival_settle_s": 0.5,
    "hysteresis_max_s": 12.0,
    "read_stale_s": 10.0,
}
"""Departures and the end of the current zone's competition within seconds, so that short
random scenarios see every kind of change and every branch of the move rule."""


def test_first_cross_reads_do_not_place_a_new_tag_in_the_neighbouring_zone() -> None:
    # The neighbour's antenna happens to read the new tag first, weakly; its own zone's
    # antenna reads it strongly a moment later. With the settle time it arrives in its own
    # zone only; without it, it arrives next door and then moves.
    stream = [
        *reads(EPC, "shelf-b", start_ms=T0_MS, count=3, every_ms=100, rssi=-72.0),
        *reads(EPC, "shelf-a", start_ms=T0_MS + 400, count=6, every_ms=200, rssi=-55.0),
    ]
    stream.sort(key=lambda read: read.ts_ms)
    settled = read_all(make_tracker(arrival_settle_s=1.0), stream)
    assert [(c.kind, c.zone) for c in settled] == [(ARRIVED, "shelf-a")]
    assert settled[0].ts_ms == T0_MS + 1000

    hasty = read_all(make_tracker(arrival_settle_s=0.0), stream)
    assert next((c.kind, c.zone) for c in hasty) == (ARRIVED, "shelf-b")


def test_a_zone_that_read_a_new_tag_a_moment_ago_does_not_hold_it_off() -> None:
    # Picked up from a shelf before the settle time placed it there, then read (1 dB weaker)
    # in the fitting room: the shelf's window ages, so the room takes the tag within seconds,
    # not when the shelf's window goes stale.
    stream = [
        *reads(EPC, "shelf-a", start_ms=T0_MS, count=3, every_ms=300, rssi=-54.0),
        *reads(EPC, "fitting-1", start_ms=T0_MS + 2000, count=20, every_ms=250, rssi=-55.0),
    ]
    changes = read_all(make_tracker(arrival_settle_s=1.0), stream)
    assert [(c.kind, c.zone) for c in changes] == [(ARRIVED, "fitting-1")]
    assert changes[0].ts_ms <= T0_MS + 3000


def test_a_tag_arrives_once_it_has_two_reads_in_a_zone(tracker: TagTracker) -> None:
    first, second, third = reads(EPC, "shelf-a", start_ms=T0_MS, count=3, rssi=[-54, -58, -50])
    assert tracker.process(first) == []
    assert tracker.state(EPC) is TagState.SEEN
    assert tracker.location(EPC) is None

    assert tracker.process(second) == [
        TagChange(
            kind=ARRIVED,
            epc=EPC,
            gtin=gtin(1),
            zone="shelf-a",
            zone_kind=ZoneKind.SHELF,
            reader_id="r1",
            antenna=1,
            rssi_dbm=-56.0,
            ts_ms=T0_MS + 250,
        )
    ]
    assert tracker.process(third) == []
    assert tracker.location(EPC) == "shelf-a"
    assert tracker.stats.arrived == 1


def test_a_neighbour_with_two_weak_reads_does_not_win_the_race_to_place_a_tag(
    tracker: TagTracker,
) -> None:
    home = [TagRead("r1", 1, EPC, -50.0, T0_MS), TagRead("r1", 1, EPC, -51.0, T0_MS + 400)]
    neighbour = reads(EPC, "shelf-b", start_ms=T0_MS + 100, count=2, every_ms=100, rssi=-66)
    changes = read_all(tracker, home, neighbour)

    assert_pattern(changes, [(ARRIVED, EPC, "shelf-a")])
    assert changes[0].ts_ms == T0_MS + 400


def test_an_item_carried_off_goes_straight_to_the_room_it_is_read_best_in(
    tracker: TagTracker,
) -> None:
    shelf = reads(EPC, "shelf-a", start_ms=T0_MS, count=8, rssi=-50)  # then 12 s unread
    room = reads(EPC, "fitting-1", start_ms=T0_MS + 14_000, count=4, every_ms=500, rssi=-52)
    next_room = reads(EPC, "shelf-b", start_ms=T0_MS + 14_100, count=3, every_ms=100, rssi=-70)
    changes = read_all(tracker, shelf, room, next_room)

    assert_pattern(changes, [(ARRIVED, EPC, "shelf-a"), (MOVED, EPC, "fitting-1")])
    assert changes[1].ts_ms == T0_MS + 14_500


def test_one_read_is_enough_when_configured() -> None:
    single = make_tracker(min_reads_for_zone=1)
    changes = read_all(single, reads(EPC, "pos", start_ms=T0_MS, count=1))
    assert_pattern(changes, [(ARRIVED, EPC, "pos")])


def test_an_item_carried_to_the_fitting_room_moves_while_the_shelf_still_reads_it(
    tracker: TagTracker,
) -> None:
    # The shelf keeps reading the item ever more weakly as the shopper walks off with it,
    # and the fitting room reads it ever more strongly.
    shelf = reads(EPC, "shelf-a", start_ms=T0_MS, count=40, rssi=[-50] * 20 + [-66] * 20)
    room = reads(EPC, "fitting-1", start_ms=T0_MS + 5_100, count=20, rssi=[-70] * 4 + [-45] * 16)
    changes = read_all(tracker, shelf, room)

    assert_pattern(changes, [(ARRIVED, EPC, "shelf-a"), (MOVED, EPC, "fitting-1")])
    move = changes[1]
    assert move.from_zone == "shelf-a"
    assert move.zone_kind is ZoneKind.FITTING_ROOM
    assert (move.reader_id, move.antenna) == ("r1", 3)
    # Room window: four -70 reads, then -45s. Once the shelf's last 8 reads are all -66, the
    # room must pass -60: its 4th -45 read (mean -57.5) does it.
    assert move.ts_ms == T0_MS + 5_100 + 7 * 250
    assert tracker.location(EPC) == "fitting-1"


def test_a_much_weaker_zone_takes_over_once_the_old_zone_stops_competing(
    tracker: TagTracker,
) -> None:
    shelf = reads(EPC, "shelf-a", start_ms=T0_MS, count=20, rssi=-50)  # last read at 4.75 s
    room = reads(EPC, "fitting-1", start_ms=T0_MS + 6_000, count=320, every_ms=1_000, rssi=-65)
    changes = read_all(tracker, shelf, room)

    assert_pattern(changes, [(ARRIVED, EPC, "shelf-a"), (MOVED, EPC, "fitting-1")])
    # 15 dB weaker: more than hysteresis_floor_db, so the room waits until the shelf stops
    # competing, hysteresis_max_s (300 s) after its last read.
    assert changes[1].ts_ms == T0_MS + 305_000
    assert changes[1].rssi_dbm == -65.0


def test_a_stronger_zone_wins_sooner_as_the_threshold_decays(tracker: TagTracker) -> None:
    shelf = reads(EPC, "shelf-a", start_ms=T0_MS, count=20, rssi=-50)  # last read at 4.75 s
    room = reads(EPC, "fitting-1", start_ms=T0_MS + 6_000, count=4, rssi=-45)
    changes = read_all(tracker, shelf, room)

    # The room beats the shelf by 5 dB. The margin at its 2nd read (6.25 s, shelf unread
    # 1.5 s, 0.5 s past the holdoff at 3 dB/s) is 4.5 dB: it moves.
    assert_pattern(changes, [(ARRIVED, EPC, "shelf-a"), (MOVED, EPC, "fitting-1")])
    assert changes[1].ts_ms == T0_MS + 6_250


def test_a_zone_as_strong_as_the_current_one_wins_3_s_after_the_current_one_goes_quiet(
    tracker: TagTracker,
) -> None:
    shelf = reads(EPC, "shelf-a", start_ms=T0_MS, count=20, rssi=-55)  # last read at 4.75 s
    room = reads(EPC, "fitting-1", start_ms=T0_MS + 6_000, count=12, rssi=-55)
    changes = read_all(tracker, shelf, room)

    # Holdoff 1 s, then 6 dB at 3 dB/s: the margin is 0 dB 3 s after the shelf's last read;
    # the first room read after that (8 s, unread 3.25 s, margin -0.75 dB) moves the tag.
    assert_pattern(changes, [(ARRIVED, EPC, "shelf-a"), (MOVED, EPC, "fitting-1")])
    assert changes[1].ts_ms == T0_MS + 8_000


@pytest.mark.parametrize(
    ("unread_ms", "margin_db"),
    [
        (-200, 6.0),
        (0, 6.0),
        (1_000, 6.0),
        (1_500, 4.5),
        (3_000, 0.0),
        (4_000, -3.0),
        (5_000, -6.0),
        (200_000, -6.0),
    ],
    ids=["out-of-order", "just-read", "holdoff-end", "aging", "zero", "negative", "floor", "long"],
)
def test_move_margin_falls_by_the_slope_after_the_holdoff_down_to_the_floor(
    unread_ms: int, margin_db: float
) -> None:
    assert move_margin_db(6.0, unread_ms, 1_000, 0.003, 6.0) == pytest.approx(margin_db)


def _crowded_shelf_reads(rng: random.Random, epc: str, duration_ms: int) -> list[TagRead]:
    """A tag on a crowded shelf: its own antenna reads it about every 11 s (sometimes not for
    40 s), strongly; the neighbouring shelf's antenna cross-reads it weakly in between, in
    bursts of a few reads within milliseconds, as the busy Saturday capture shows."""
    stream: list[TagRead] = []
    t = T0_MS
    while t < T0_MS + duration_ms:
        stream.append(TagRead("r1", 1, epc, float(round(rng.gauss(-55, 3))), t))
        gap_ms = rng.choice((4_000, 8_000, 11_000, 11_000, 14_000, 20_000, 40_000))
        if rng.random() < 0.5:
            burst_ms = t + rng.randrange(1_000, gap_ms - 500)
            for n in range(rng.randrange(2, 5)):
                rssi = float(round(rng.gauss(-72, 3)))
                stream.append(TagRead("r1", 2, epc, rssi, burst_ms + 5 * n))
        t += gap_ms
    return sorted(stream, key=lambda r: r.ts_ms)


def test_crowded_shelf_cross_reads_between_rare_own_reads_do_not_move_the_tag() -> None:
    stream = _crowded_shelf_reads(random.Random(5), EPC, 900_000)
    changes = read_all(make_tracker(), stream, until_ms=T0_MS + 900_000)
    assert_pattern(changes, [(ARRIVED, EPC, "shelf-a")])

    # The old rule (a zone unread for 10 s no longer competes) moved it back and forth.
    hasty = read_all(make_tracker(hysteresis_max_s=10), stream, until_ms=T0_MS + 900_000)
    assert sum(c.kind is MOVED for c in hasty) >= 5


def test_an_item_unread_for_longer_than_the_current_zone_competes_is_placed_afresh() -> None:
    # Carried around the store, unread, for 100 s (beyond hysteresis_max_s here); then the
    # checkout's antenna happens to cross-read it first, weakly, just before the fitting room
    # reads it strongly. Like a new tag, it waits the settle time and goes to the room.
    shelf = reads(EPC, "shelf-a", start_ms=T0_MS, count=8, rssi=-55)
    burst = reads(EPC, "pos", start_ms=T0_MS + 100_000, count=3, every_ms=5, rssi=-72)
    room = reads(EPC, "fitting-1", start_ms=T0_MS + 100_300, count=8, rssi=-55)
    settled = read_all(make_tracker(hysteresis_max_s=60, arrival_settle_s=1.0), shelf, burst, room)
    assert_pattern(settled, [(ARRIVED, EPC, "shelf-a"), (MOVED, EPC, "fitting-1")])
    assert settled[1].ts_ms == T0_MS + 101_050  # the room's first read 1 s after the burst

    hasty = read_all(make_tracker(hysteresis_max_s=60), shelf, burst, room)
    assert [(c.kind, c.zone) for c in hasty][1:] == [(MOVED, "pos"), (MOVED, "fitting-1")]


@pytest.mark.parametrize("room_dbm", [-55.0, -48.0], ids=["as-strong", "stronger"])
def test_an_item_taken_from_a_crowded_shelf_moves_within_seconds(room_dbm: float) -> None:
    tracker = make_tracker()
    shelf = _crowded_shelf_reads(random.Random(5), EPC, 120_000)
    taken_ms = shelf[-1].ts_ms  # the shelf's last read; the shopper walks off with it
    room = reads(EPC, "fitting-1", start_ms=taken_ms + 2_000, count=40, rssi=room_dbm)
    changes = read_all(tracker, shelf, room)

    assert_pattern(changes, [(ARRIVED, EPC, "shelf-a"), (MOVED, EPC, "fitting-1")])
    # As strong as the shelf: the margin reaches 0 dB 3 s after the shelf's last read.
    # 6 dB stronger: at the room's second read.
    assert changes[1].ts_ms <= taken_ms + (3_250 if room_dbm == -55.0 else 2_250)


def test_flapping_between_neighbouring_antennas_does_not_move_the_tag(
    tracker: TagTracker,
) -> None:
    # A tag on the edge between two shelves: both antennas read it all the time with
    # overlapping RSSI (means 1 dB apart, 3 dB jitter), for ten minutes.
    rng = random.Random(7)
    count = 3_000
    near = reads(
        EPC, "shelf-a", start_ms=T0_MS, count=count, every_ms=200, rssi=noisy(rng, -60, 3, count)
    )
    far = reads(
        EPC,
        "shelf-b",
        start_ms=T0_MS + 100,
        count=count,
        every_ms=200,
        rssi=noisy(rng, -61, 3, count),
    )
    changes = read_all(tracker, near, far, until_ms=T0_MS + 600_000)

    assert_pattern(changes, [(ARRIVED, EPC, "shelf-a")])
    # Without hysteresis the strongest window would have flipped zones many times.
    assert _strongest_window_flips(near + far, window=8) > 20


def _strongest_window_flips(stream: list[TagRead], window: int) -> int:
    recent: dict[int, list[float]] = {}
    flips, leader = 0, None
    for read in sorted(stream, key=lambda r: r.ts_ms):
        recent.setdefault(read.antenna, []).append(read.rssi_dbm)
        recent[read.antenna] = recent[read.antenna][-window:]
        best = max(recent, key=lambda a: sum(recent[a]) / len(recent[a]))
        flips += leader is not None and best != leader
        leader = best
    return flips


def test_cross_read_spikes_do_not_move_the_tag(tracker: TagTracker) -> None:
    rng = random.Random(3)
    count = 480  # two minutes at 4 reads/s
    home = reads(EPC, "shelf-a", start_ms=T0_MS, count=count, rssi=noisy(rng, -55, 2, count))
    # Weak cross-reads by the neighbouring shelf's antenna, about once a second ...
    weak = reads(
        EPC,
        "shelf-b",
        start_ms=T0_MS + 130,
        count=100,
        every_ms=1_100,
        rssi=noisy(rng, -72, 2, 100),
    )
    # ... and isolated strong spikes there, 7 s apart, sometimes two in a row.
    spikes = [
        TagRead("r1", 2, EPC, -40.0, T0_MS + 3_000 + n * 7_000 + extra)
        for n in range(15)
        for extra in ((0, 300) if n % 3 == 0 else (0,))
    ]
    # ... and single reads by far-away antennas, further apart than read_stale_s.
    strays = [TagRead("r2", 2, EPC, -48.0, T0_MS + 10_000 + n * 35_000) for n in range(3)] + [
        TagRead("r2", 3, EPC, -47.0, T0_MS + 14_000 + n * 35_000) for n in range(3)
    ]
    changes = read_all(tracker, home, weak, spikes, strays, until_ms=T0_MS + 125_000)

    assert_pattern(changes, [(ARRIVED, EPC, "shelf-a")])
    assert tracker.location(EPC) == "shelf-a"


def _zone_of_kind(kind: ZoneKind) -> str:
    return next(zone for zone, zone_kind in ZONES.items() if zone_kind is kind)


@pytest.mark.parametrize("kind", list(ZoneKind), ids=[kind.value for kind in ZoneKind])
def test_an_unread_tag_departs_after_its_zone_kinds_threshold(
    tracker: TagTracker, kind: ZoneKind
) -> None:
    zone = _zone_of_kind(kind)
    read_all(tracker, reads(EPC, zone, start_ms=T0_MS, count=4, rssi=-52))
    last_ms = T0_MS + 750
    after_ms = round(DEFAULT_DEPARTED_AFTER_S[kind] * 1000)

    assert tracker.tick(last_ms + after_ms - 1) == []
    [departure] = tracker.tick(last_ms + after_ms + 400)

    reader_id, antenna = next(port for port, z in ANTENNAS.items() if z == zone)
    assert departure == TagChange(
        kind=DEPARTED,
        epc=EPC,
        gtin=gtin(1),
        zone=zone,
        zone_kind=kind,
        reader_id=reader_id,
        antenna=antenna,
        rssi_dbm=-52.0,
        ts_ms=last_ms + after_ms,  # when the threshold ran out, not when the tick came
        via_exit=kind is ZoneKind.EXIT,
        last_zone=zone,
        last_seen_ms=last_ms,
    )
    assert tracker.location(EPC) is None
    assert tracker.state(EPC) is TagState.DEPARTED
    assert tracker.stock() == {}
    assert tracker.tick(last_ms + 10 * after_ms) == []


def test_thresholds_per_zone_kind_are_configurable() -> None:
    tracker = make_tracker(departed_after_s={"shelf": 20})
    read_all(tracker, reads(EPC, "shelf-a", start_ms=T0_MS, count=2))
    assert [c.ts_ms for c in tracker.tick(T0_MS + 30_000)] == [T0_MS + 250 + 20_000]


def test_an_item_read_at_the_exit_and_then_nowhere_departs_through_it(
    tracker: TagTracker,
) -> None:
    # Carried from the shelf past the exit antenna: a few exit reads, weaker than the shelf's
    # recent ones, so the tag is never placed at the exit.
    shelf = reads(EPC, "shelf-a", start_ms=T0_MS, count=20, rssi=-50)
    door = reads(EPC, "exit", start_ms=T0_MS + 4_800, count=3, every_ms=200, rssi=-62)
    changes = read_all(tracker, shelf, door, until_ms=T0_MS + 60_000)

    assert_pattern(changes, [(ARRIVED, EPC, "shelf-a"), (DEPARTED, EPC, "shelf-a")])
    departure = changes[1]
    assert departure.via_exit is True
    assert departure.last_zone == "exit"
    assert (departure.reader_id, departure.antenna) == ("r2", 2)
    assert departure.last_seen_ms == T0_MS + 5_200
    assert departure.ts_ms == T0_MS + 5_200 + 30_000  # the exit threshold, not the shelf's
    assert departure.rssi_dbm == -62.0


def test_an_exit_cross_read_followed_by_shelf_reads_is_no_exit(tracker: TagTracker) -> None:
    shelf = reads(EPC, "shelf-a", start_ms=T0_MS, count=40, rssi=-50)
    door = reads(EPC, "exit", start_ms=T0_MS + 4_800, count=2, every_ms=200, rssi=-62)
    changes = read_all(tracker, shelf, door, until_ms=T0_MS + 700_000)

    assert_pattern(changes, [(ARRIVED, EPC, "shelf-a"), (DEPARTED, EPC, "shelf-a")])
    assert changes[1].via_exit is False
    assert changes[1].ts_ms == T0_MS + 9_750 + 600_000


def test_a_departed_tag_read_again_returns_where_it_is_read(tracker: TagTracker) -> None:
    door = reads(EPC, "exit", start_ms=T0_MS, count=3)
    back = reads(EPC, "pos", start_ms=T0_MS + 120_000, count=3, rssi=-58)
    changes = read_all(tracker, door, back, until_ms=T0_MS + 125_000)

    assert_pattern(
        changes, [(ARRIVED, EPC, "exit"), (DEPARTED, EPC, "exit"), (RETURNED, EPC, "pos")]
    )
    returned = changes[2]
    assert returned.ts_ms == T0_MS + 120_250  # its second read: a single read is not enough
    assert returned.last_seen_ms == T0_MS + 500
    assert returned.absent_ms == 120_250 - 500
    assert returned.rssi_dbm == -58.0
    assert tracker.location(EPC) == "pos"
    assert tracker.stock() == {gtin(1): {"pos": 1}}
    assert (tracker.stats.arrived, tracker.stats.departed, tracker.stats.returned) == (1, 1, 1)


def test_reads_from_unmapped_antennas_are_counted_and_ignored(tracker: TagTracker) -> None:
    stray = [
        TagRead("r9", 1, EPC, -50.0, T0_MS),
        TagRead("r9", 1, EPC, -50.0, T0_MS + 100),
        TagRead("r1", 7, EPC, -50.0, T0_MS + 200),
    ]
    changes = read_all(tracker, stray, reads(epc_of(2, 1), "pos", start_ms=T0_MS, count=2))

    assert_pattern(changes, [(ARRIVED, epc_of(2, 1), "pos")])
    assert (tracker.stats.reads, tracker.stats.unmapped_reads) == (5, 3)
    assert tracker.state(EPC) is None
    assert tracker.tags_tracked == 1


def test_a_tag_read_once_is_forgotten_once_its_read_is_stale(tracker: TagTracker) -> None:
    tracker.process(TagRead("r1", 1, EPC, -50.0, T0_MS))
    assert tracker.tick(T0_MS + 30_000) == []
    assert tracker.tags_tracked == 1
    assert tracker.tick(T0_MS + 30_001) == []
    assert tracker.tags_tracked == 0
    assert tracker.stats.forgotten == 1


def test_a_long_departed_tag_is_forgotten_and_arrives_anew() -> None:
    tracker = make_tracker(forget_departed_after_s=3_600)
    first = reads(EPC, "shelf-a", start_ms=T0_MS, count=2)
    later = reads(EPC, "shelf-a", start_ms=T0_MS + 3_700_000, count=2)
    changes = read_all(tracker, first, later, tick_every_ms=60_000)

    assert_pattern(
        changes,
        [(ARRIVED, EPC, "shelf-a"), (DEPARTED, EPC, "shelf-a"), (ARRIVED, EPC, "shelf-a")],
    )
    assert tracker.stats.forgotten == 1


def test_departures_of_one_tick_come_ordered_by_last_read_then_epc(tracker: TagTracker) -> None:
    late, early_b, early_a = epc_of(1, 3), epc_of(1, 2), epc_of(2, 1)
    tracker_reads = (
        reads(late, "shelf-a", start_ms=T0_MS + 500, count=2)
        + reads(early_b, "shelf-b", start_ms=T0_MS, count=2)
        + reads(early_a, "fitting-1", start_ms=T0_MS, count=2)
    )
    read_all(tracker, tracker_reads)
    departures = tracker.tick(T0_MS + 700_000)
    assert [c.epc for c in departures] == [*sorted([early_a, early_b]), late]


def test_same_reads_give_identical_changes() -> None:
    stream = _random_store_reads(random.Random(11), tags=30, duration_ms=300_000)
    first = read_all(make_tracker(**SMALL_THRESHOLDS), stream, until_ms=T0_MS + 400_000)
    second = read_all(make_tracker(**SMALL_THRESHOLDS), stream, until_ms=T0_MS + 400_000)
    assert first == second
    assert {c.kind for c in first} == set(ChangeKind)


def test_from_store_config_maps_every_reader_antenna() -> None:
    config = parse_store_config(
        {
            "store_id": "s1",
            "zones": [
                {"id": "shelf-1", "kind": "shelf"},
                {"id": "door", "kind": "exit"},
            ],
            "readers": [
                {
                    "id": "r1",
                    "kind": "r2000_serial",
                    "port": "loop://",
                    "antennas": {1: "shelf-1", 2: "door"},
                },
                {"id": "z1", "kind": "zebra_mqtt", "topic": "zebra/tags", "antennas": {3: "door"}},
            ],
            "tracker": {"departed_after_s": {"exit": 12}, "arrival_settle_s": 0},
        },
        "STORE.yaml",
    )
    tracker = TagTracker.from_store_config(config)
    changes = read_all(
        tracker,
        reads(EPC, "shelf-1", start_ms=T0_MS, count=2, port=("r1", 1)),
        reads(epc_of(1, 2), "door", start_ms=T0_MS, count=2, port=("z1", 3)),
        reads(epc_of(1, 3), "door", start_ms=T0_MS, count=2, port=("z1", 1)),
        until_ms=T0_MS + 20_000,
    )
    assert_pattern(
        changes,
        [
            (ARRIVED, EPC, "shelf-1"),
            (ARRIVED, epc_of(1, 2), "door"),
            (DEPARTED, epc_of(1, 2), "door"),
        ],
    )
    assert changes[2].ts_ms == T0_MS + 250 + 12_000
    assert tracker.stats.unmapped_reads == 2


def test_an_antenna_mapped_to_an_unknown_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="Reader r1 antenna 2 maps to zone 'attic'"):
        TagTracker(TrackerConfig(), ZONES, {("r1", 2): "attic"})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"departed_after_s": {"exit": 0}}, "departed_after_s for 'exit' must be > 0"),
        ({"departed_after_s": {"garage": 10}}, "Input should be 'shelf'"),
        ({"min_reads_for_zone": 9}, r"min_reads_for_zone \(9\) cannot exceed rssi_window"),
        ({"move_threshold_db": -1}, "greater than or equal to 0"),
        ({"hysteresis_slope_db_per_s": 0}, "greater than 0"),
        ({"hysteresis_floor_db": -1}, "greater than or equal to 0"),
    ],
    ids=["zero-threshold", "unknown-kind", "window-too-small", "negative-db", "no-slope", "floor"],
)
def test_bad_tracker_settings_are_refused(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrackerConfig.model_validate(settings)


def test_unnamed_zone_kinds_keep_their_default_threshold() -> None:
    config = TrackerConfig.model_validate({"departed_after_s": {"exit": 12}})
    assert config.departed_after_s[ZoneKind.EXIT] == 12
    assert config.departed_after_s[ZoneKind.SHELF] == DEFAULT_DEPARTED_AFTER_S[ZoneKind.SHELF]


# --- seeded random scenarios against a plain reference ----------------------------------------


def _random_store_reads(rng: random.Random, tags: int, duration_ms: int) -> list[TagRead]:
    """Tags wandering between zones with jitter, cross-reads, strays and silent spells."""
    zones = list(ZONES)
    stream: list[TagRead] = []
    for n in range(tags):
        epc = epc_of(1 + n % 4, n)
        t = T0_MS + rng.randrange(0, 5_000)
        zone = rng.choice(zones)
        while t < T0_MS + duration_ms:
            if rng.random() < 0.2:
                zone = rng.choice(zones)
            mean = rng.uniform(-70, -45)
            neighbour = rng.choice(zones)
            for _ in range(rng.randrange(2, 40)):
                ports = [p for p, z in ANTENNAS.items() if z == zone]
                reader_id, antenna = rng.choice(ports)
                stream.append(TagRead(reader_id, antenna, epc, float(round(rng.gauss(mean, 3))), t))
                if rng.random() < 0.15:
                    reader_id, antenna = next(p for p, z in ANTENNAS.items() if z == neighbour)
                    stream.append(
                        TagRead(
                            reader_id,
                            antenna,
                            epc,
                            float(round(rng.gauss(mean - 8, 6))),
                            t + rng.randrange(1, 50),
                        )
                    )
                if rng.random() < 0.01:
                    stream.append(TagRead("r9", 1, epc, -50.0, t + 3))
                t += rng.randrange(50, 900)
            t += rng.choice((0, 0, 2_000, 7_000, 15_000, 40_000))
    return sorted(stream, key=lambda r: (r.ts_ms, r.epc, r.reader_id, r.antenna))


class ReferenceTracker:
    """The algorithm of docs/tracker.md written plainly: every read kept, windows and means
    recomputed from scratch, every tag looked at on every tick."""

    def __init__(self, config: TrackerConfig) -> None:
        self.c = config
        self.history: dict[str, dict[str, list[TagRead]]] = {}
        self.state: dict[str, TagState] = {}
        self.zone: dict[str, str | None] = {}
        self.last: dict[str, tuple[TagRead, str]] = {}
        self.gone_last_ms: dict[str, int] = {}
        self.sighting: dict[str, int] = {}

    def window(self, epc: str, zone: str) -> list[float]:
        zone_reads = self.history[epc].get(zone, [])
        start = 0
        for i in range(1, len(zone_reads)):
            if zone_reads[i].ts_ms - zone_reads[i - 1].ts_ms > self.c.read_stale_s * 1000:
                start = i
        return [r.rssi_dbm for r in zone_reads[start:]][-self.c.rssi_window :]

    def process(self, read: TagRead) -> list[TagChange]:
        zone = ANTENNAS.get((read.reader_id, read.antenna))
        if zone is None:
            return []
        epc = read.epc
        ms = 1000
        if epc not in self.state:
            self.state[epc], self.zone[epc], self.history[epc] = TagState.SEEN, None, {}
            self.sighting[epc] = read.ts_ms
        elif read.ts_ms - self.last[epc][0].ts_ms > self.c.hysteresis_max_s * ms:
            self.sighting[epc] = read.ts_ms  # seen again after a long silence
        self.history[epc].setdefault(zone, []).append(read)
        self.last[epc] = (read, zone)
        window = self.window(epc, zone)
        if zone == self.zone[epc] or len(window) < self.c.min_reads_for_zone:
            return []
        mean = sum(window) / len(window)
        kind = ChangeKind.ARRIVED
        extra: dict[str, Any] = {}
        settling = read.ts_ms - self.sighting[epc] < self.c.arrival_settle_s * ms
        current = self.zone[epc]
        if self.state[epc] is TagState.PRESENT:
            assert current is not None
            unread_ms = read.ts_ms - self.history[epc][current][-1].ts_ms
            if unread_ms <= self.c.hysteresis_max_s * ms:
                aged_s = max(0.0, unread_ms / ms - self.c.hysteresis_holdoff_s)
                margin = max(
                    self.c.move_threshold_db - self.c.hysteresis_slope_db_per_s * aged_s,
                    -self.c.hysteresis_floor_db,
                )
                current_window = self.window(epc, current)
                if mean <= sum(current_window) / len(current_window) + margin:
                    return []
            elif settling:
                return []
            kind, extra = ChangeKind.MOVED, {"from_zone": current}
        else:
            if self.state[epc] is TagState.DEPARTED:
                last_ms = self.gone_last_ms[epc]
                if self.sighting[epc] <= last_ms:
                    self.sighting[epc] = read.ts_ms  # the return's first placing read
                kind, extra = (
                    ChangeKind.RETURNED,
                    {"last_seen_ms": last_ms, "absent_ms": read.ts_ms - last_ms},
                )
            if read.ts_ms - self.sighting[epc] < self.c.arrival_settle_s * ms:
                return []
        for other in self.history[epc]:
            if other in (zone, current):
                continue
            other_window = self.window(epc, other)
            unread_ms = read.ts_ms - self.history[epc][other][-1].ts_ms
            if unread_ms > self.c.read_stale_s * ms:
                continue
            # Other zones age like the current one, from no margin down to the floor.
            aged_s = max(0.0, unread_ms / ms - self.c.hysteresis_holdoff_s)
            allowance = min(self.c.hysteresis_slope_db_per_s * aged_s, self.c.hysteresis_floor_db)
            if sum(other_window) / len(other_window) - mean > allowance:
                return []
        self.state[epc], self.zone[epc] = TagState.PRESENT, zone
        return [
            TagChange(
                kind,
                epc,
                gtin_of(epc),
                zone,
                ZONES[zone],
                read.reader_id,
                read.antenna,
                round(mean, 2),
                read.ts_ms,
                **extra,
            )
        ]

    def tick(self, now_ms: int) -> list[TagChange]:
        due = []
        for epc, state in list(self.state.items()):
            read, last_zone = self.last[epc]
            age_ms = now_ms - read.ts_ms
            if state is TagState.SEEN and age_ms > self.c.read_stale_s * 1000:
                del self.state[epc]  # forgotten; its windows would all be stale anyway
                continue
            if state is not TagState.PRESENT:
                continue
            zone = self.zone[epc]
            assert zone is not None
            after_s = self.c.departed_after_s[ZONES[zone]]
            via_exit = ZONES[zone] is ZoneKind.EXIT
            if ZONES[last_zone] is ZoneKind.EXIT:
                after_s, via_exit = min(after_s, self.c.departed_after_s[ZoneKind.EXIT]), True
            if age_ms >= after_s * 1000:
                due.append((read.ts_ms, epc, round(after_s * 1000), via_exit, zone))
        changes = []
        for last_ms, epc, after_ms, via_exit, zone in sorted(due):
            read, last_zone = self.last[epc]
            window = self.window(epc, last_zone)
            changes.append(
                TagChange(
                    DEPARTED,
                    epc,
                    gtin_of(epc),
                    zone,
                    ZONES[zone],
                    read.reader_id,
                    read.antenna,
                    round(sum(window) / len(window), 2),
                    last_ms + after_ms,
                    via_exit=via_exit,
                    last_zone=last_zone,
                    last_seen_ms=last_ms,
                )
            )
            self.state[epc], self.zone[epc], self.history[epc] = TagState.DEPARTED, None, {}
            self.gone_last_ms[epc] = last_ms
        return changes


@pytest.mark.parametrize("seed", range(6))
def test_random_store_traffic_matches_the_reference(seed: int) -> None:
    stream = _random_store_reads(random.Random(seed), tags=25, duration_ms=400_000)
    config = TrackerConfig.model_validate(SMALL_THRESHOLDS)
    reference = ReferenceTracker(config)
    expected = read_all(reference, stream, until_ms=T0_MS + 500_000)
    got = read_all(TagTracker(config, ZONES, ANTENNAS), stream, until_ms=T0_MS + 500_000)
    assert got == expected
    assert {c.kind for c in got} == set(ChangeKind)


def test_tags_whose_epc_does_not_decode_are_tracked_and_counted_once_by_reason(
    tracker: TagTracker,
) -> None:
    foreign = "E2000017010B016210001234"  # a TID-style number in the EPC bank: no EPC header
    sgtin = epc_of(1, 1)
    changes = read_all(
        tracker,
        reads(foreign, "shelf-a", start_ms=T0_MS, count=4),
        reads(sgtin, "shelf-a", start_ms=T0_MS, count=4),
    )
    placed = {change.epc: change.gtin for change in changes}
    assert placed == {foreign: None, sgtin: gtin_of(sgtin)}
    assert tracker.stats.undecoded == {"unknown_header": 1}
