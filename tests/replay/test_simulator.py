"""The store simulator: deterministic captures whose wire formats parse back to the story."""

from __future__ import annotations

import base64
import itertools
import json
import statistics
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest

from edge.config import load_store_config
from edge.config.store import StoreConfig
from edge.replay.capture import Capture, MqttMessage, SerialChunk
from edge.replay.scenarios import GONE, SCENARIOS, SHIPPED, busy_saturday_hour, get_scenario
from edge.replay.simulator import STORY_FILE, Story, simulate
from edge.rfid.r2000 import FastSwitchDone, R2000Parser, TagFrame
from edge.rfid.reads import TagRead
from tests.conftest import REPO_ROOT, run_cli
from tests.replay.streams import MAX_DRIFT_MS, parse_capture

DEMO = REPO_ROOT / "firmware_configs" / "demo_store.yaml"
HIL = REPO_ROOT / "tests" / "hil"
SHIPPED_SEED = 1
"""The seed scripts/make_hil_captures.sh uses."""
STRONG_DBM = -60.0
"""Reads above this come from an antenna of the item's own zone (-55 dBm), not from a
cross-read (-72 dBm; 12 dB is almost 4 standard deviations of jitter and orientation)."""
SMALL = [name for name in SHIPPED if not name.startswith("busy_")]
"""Shipped scenarios with a handful of items (the busy ones: test_busy.py)."""


@pytest.fixture(scope="module")
def demo() -> StoreConfig:
    return load_store_config(DEMO)


@pytest.fixture(scope="module")
def simulated(
    demo: StoreConfig, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, Story]]:
    out = {}
    for name in SMALL:
        directory = tmp_path_factory.mktemp(name)
        out[name] = directory, simulate(get_scenario(name), demo, directory, seed=SHIPPED_SEED)
    return out


def _reads(
    capture: Capture, config: StoreConfig, *, clocks_jump: bool = False
) -> tuple[list[TagRead], dict[str, R2000Parser]]:
    """Every tag read in the capture, through the real protocol parsers; no reader clock
    drifted unless the scenario makes them jump."""
    streams = parse_capture(capture, config)
    assert clocks_jump or not any(streams.drift_corrected.values()), streams.drift_corrected
    return streams.reads, streams.parsers


@pytest.mark.parametrize(
    ("name", "suffix"),
    [
        ("serial_garbage", ".jsonl"),
        ("reader_reboot", ".jsonl"),
        ("reader_clock_jump", ".jsonl"),
        ("busy_saturday_2min", ".jsonl.gz"),
    ],
)
def test_same_seed_gives_byte_identical_files(
    name: str, suffix: str, demo: StoreConfig, tmp_path: Path
) -> None:
    scenario = busy_saturday_hour(120) if name.startswith("busy") else get_scenario(name)
    assert scenario.name == name
    first = tmp_path / "first"
    second = tmp_path / "second"
    other = tmp_path / "other"
    simulate(scenario, demo, first, seed=7)
    simulate(scenario, demo, second, seed=7)
    simulate(scenario, demo, other, seed=8)

    names = sorted(path.name for path in first.iterdir())
    assert names == sorted(path.name for path in second.iterdir())
    serial, mqtt = "shelf-reader" + suffix, "mqtt-readers" + suffix
    assert {"manifest.yaml", serial, mqtt, STORY_FILE} == set(names)
    for file in names:
        assert (first / file).read_bytes() == (second / file).read_bytes(), file
    assert (first / serial).read_bytes() != (other / serial).read_bytes()


@pytest.mark.parametrize("name", SMALL)
def test_captures_are_valid_and_small(name: str, simulated: dict[str, tuple[Path, Story]]) -> None:
    directory, story = simulated[name]
    capture = Capture.open(directory)

    assert capture.store_id == "demo"
    assert capture.manifest.duration_s == story.duration_s
    assert capture.manifest.start.isoformat() == "2026-03-07T10:00:00+00:00"
    assert [source.id for source in capture.sources] == ["shelf-reader", "mqtt-readers"]
    size = sum(path.stat().st_size for path in directory.iterdir())
    # The gate's 70-minute day is the largest (1.0 MB: serial chunks end at every pause of the
    # line, as a USB-serial adapter hands them over).
    assert size < 1_200_000
    end_ms = story.start_ms + round(story.duration_s * 1000)
    times = [record.t_ms for record in capture.records()]
    assert story.start_ms <= times[0] and times[-1] <= end_ms
    assert json.loads((directory / STORY_FILE).read_text()) == story.to_dict()


@pytest.mark.parametrize("name", SMALL)
def test_every_stream_parses_to_the_story_items(
    name: str, simulated: dict[str, tuple[Path, Story]], demo: StoreConfig
) -> None:
    directory, story = simulated[name]
    capture = Capture.open(directory)
    reads, parsers = _reads(capture, demo, clocks_jump=bool(story.clock_jumps))

    epcs = {item.epc for item in story.items}
    assert {read.epc for read in reads} == epcs
    stats = parsers["shelf-reader"].stats
    counts = story.serial["shelf-reader"]
    # Exactly the intact frames come through, whatever the noise and chunking.
    assert stats["tag_frames"] == counts.tag_frames
    assert stats["inventory_done"] + stats["fast_switch_done"] == counts.inventory_done
    assert stats["error_responses"] == counts.error_frames
    assert stats["commands_ok"] == counts.result_frames
    chunks = [r for r in capture.records() if isinstance(r, SerialChunk)]
    assert len(chunks) == counts.chunks
    assert max(len(chunk.data) for chunk in chunks) <= 64
    assert sum(len(chunk.data) for chunk in chunks) == counts.bytes
    for read in reads:
        assert 1 <= read.antenna <= 4
        assert -90 < read.rssi_dbm < -40


def test_serial_garbage_is_counted_by_the_parser(
    simulated: dict[str, tuple[Path, Story]], demo: StoreConfig
) -> None:
    directory, story = simulated["serial_garbage"]
    _, parsers = _reads(Capture.open(directory), demo)
    stats = parsers["shelf-reader"].stats
    counts = story.serial["shelf-reader"]

    assert counts.garbage_bytes > 0 and counts.corrupted_frames > 0
    assert counts.truncated_frames > 0 and counts.error_frames > 0
    assert stats["garbage_bytes"] >= counts.garbage_bytes
    assert stats["checksum_errors"] + stats["bad_length"] > 0


def test_frames_are_split_across_chunks(simulated: dict[str, tuple[Path, Story]]) -> None:
    directory, _ = simulated["shopper_tryon_exit"]
    parser = R2000Parser(1)
    split = 0
    for record in Capture.open(directory).records():
        if isinstance(record, SerialChunk):
            parser.feed(record.data)
            split += parser.pending_bytes > 0
    assert split > 100


def test_one_fast_switch_command_per_pass_over_the_four_antennas(
    simulated: dict[str, tuple[Path, Story]],
) -> None:
    """The demo store's R2000 maps antennas 1-4: the driver's 0x8A reads each for one round
    (about 50 ms), and the next 0x8A follows the module's end-of-command summary."""
    directory, story = simulated["shopper_tryon_exit"]
    parser = R2000Parser(1)
    done_ms = []
    antennas = set()
    for record in Capture.open(directory).records():
        if isinstance(record, SerialChunk):
            for frame in parser.feed(record.data):
                if isinstance(frame, FastSwitchDone):
                    done_ms.append(record.t_ms)
                elif isinstance(frame, TagFrame):
                    antennas.add(frame.antenna)
    gaps = [b - a for a, b in itertools.pairwise(done_ms)]
    assert 200 <= statistics.median(gaps) <= 215
    assert len(done_ms) == story.serial["shelf-reader"].inventory_done
    assert parser.stats["inventory_done"] == 0  # no 0x89 round: the driver sent none
    assert antennas == {1, 2, 3, 4}
    assert story.serial["shelf-reader"].commands == len(done_ms) + 1  # the last one unanswered


def test_the_unplugged_reader_is_silent_for_40_s(
    simulated: dict[str, tuple[Path, Story]],
) -> None:
    directory, story = simulated["reader_unplugged"]
    (outage,) = story.outages
    records = list(Capture.open(directory).records())
    serial_ms = [r.t_ms for r in records if isinstance(r, SerialChunk)]
    mqtt_ms = [r.t_ms for r in records if isinstance(r, MqttMessage)]

    assert outage["to_ms"] - outage["from_ms"] == 40_000
    assert not [t for t in serial_ms if outage["from_ms"] <= t < outage["to_ms"]]
    last_before = max(t for t in serial_ms if t < outage["from_ms"])
    first_after = min(t for t in serial_ms if t >= outage["to_ms"])
    assert outage["from_ms"] - last_before < 1000 and first_after - outage["to_ms"] < 1000
    # The other readers keep publishing meanwhile.
    assert any(outage["from_ms"] <= t < outage["to_ms"] for t in mqtt_ms)
    assert story.serial["shelf-reader"].truncated_frames == 1  # the frame on the wire


def test_the_rebooting_reader_is_silent_then_comes_up_with_noise(
    simulated: dict[str, tuple[Path, Story]], demo: StoreConfig
) -> None:
    directory, story = simulated["reader_reboot"]
    (reboot,) = story.reboots
    assert reboot["to_ms"] - reboot["from_ms"] == 6_000 and not story.outages
    capture = Capture.open(directory)
    chunks = [r for r in capture.records() if isinstance(r, SerialChunk)]
    before = [c for c in chunks if c.t_ms < reboot["from_ms"]]
    after = [c for c in chunks if c.t_ms >= reboot["to_ms"]]
    assert len(before) + len(after) == len(chunks)  # silent meanwhile
    assert reboot["from_ms"] - before[-1].t_ms < 1000 and after[0].t_ms - reboot["to_ms"] < 1000

    # Power-up noise (0x00/0xFF first) and a partial frame, then whole frames again.
    counts = story.serial["shelf-reader"]
    assert counts.truncated_frames >= 1 and counts.garbage_bytes >= 20
    assert after[0].data[0] in (0x00, 0xFF)
    parser = R2000Parser(1)
    for chunk in before:
        parser.feed(chunk.data)
    garbage_before = parser.stats["garbage_bytes"]
    came_up = [parser.feed(chunk.data) for chunk in after[:40]]
    assert parser.stats["garbage_bytes"] - garbage_before >= 20
    assert any(came_up), "the reader reads again after its reboot"
    # The other readers keep publishing while it is down.
    mqtt_ms = [r.t_ms for r in capture.records() if isinstance(r, MqttMessage)]
    assert any(reboot["from_ms"] <= t < reboot["to_ms"] for t in mqtt_ms)
    moves = story.item("sweater-navy-m").moves()
    assert [(m["from"], m["to"]) for m in moves] == [("shelf-b", "shelf-a")]


def test_a_reader_clock_jump_shows_in_payload_times_only(
    simulated: dict[str, tuple[Path, Story]], demo: StoreConfig
) -> None:
    directory, story = simulated["reader_clock_jump"]
    jumps = {jump["reader"]: jump for jump in story.clock_jumps}
    assert jumps["room-reader"]["offset_ms"] == 3_600_000
    assert jumps["door-reader"]["offset_ms"] == -600_000
    topics = {r.topic: r.id for r in demo.readers if r.kind != "r2000_serial"}

    offsets: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for record in Capture.open(directory).records():
        if not isinstance(record, MqttMessage):
            continue
        reader = topics[record.topic]
        body = json.loads(record.payload.splitlines()[0])
        event = body[0] if isinstance(body, list) else body
        stamp = event["timestamp"].replace("+0000", "+00:00").replace("Z", "+00:00")
        reader_ms = round(datetime.fromisoformat(stamp).timestamp() * 1000)
        offsets[reader].append((record.t_ms, reader_ms - record.t_ms))
    for reader, jump in jumps.items():
        early = [off for t, off in offsets[reader] if t < jump["at_ms"]]
        late = [off for t, off in offsets[reader] if t >= jump["at_ms"] + 1000]
        assert late, reader
        assert all(-1000 < off <= 0 for off in early), (reader, early)
        assert all(abs(off - jump["offset_ms"]) < 1000 for off in late), (reader, late)

    # The drivers' parsers replace every jumped time by the receive time.
    streams = parse_capture(Capture.open(directory), demo)
    assert streams.drift_corrected["room-reader"] > 100
    assert streams.drift_corrected["door-reader"] > 0
    received = {r.t_ms for r in Capture.open(directory).records()}
    for read in streams.reads:
        assert min(abs(read.ts_ms - t) for t in received) <= MAX_DRIFT_MS
    epcs = {read.epc for read in streams.reads if read.reader_id == "room-reader"}
    assert story.item("sweater-red-m").epc in epcs
    exit_epcs = {read.epc for read in streams.reads if read.reader_id == "door-reader"}
    assert story.item("cardigan-grey-m").epc in exit_epcs


def test_mqtt_payloads_have_the_documented_shapes(
    simulated: dict[str, tuple[Path, Story]],
) -> None:
    directory, _ = simulated["shopper_tryon_exit"]
    zebra_batches = zebra_singles = impinj_tags = impinj_other = 0
    for record in Capture.open(directory).records():
        if not isinstance(record, MqttMessage):
            continue
        if record.topic == "zebra/fx9600-room/data":
            body = json.loads(record.payload)
            events = body if isinstance(body, list) else [body]
            zebra_batches += isinstance(body, list)
            zebra_singles += isinstance(body, dict)
            for event in events:
                assert set(event) == {"data", "timestamp", "type"}
                assert event["type"] == "INVENTORY"
                assert event["timestamp"].endswith("+0000") and len(event["timestamp"]) == 28
                assert set(event["data"]) == {
                    "CRC", "PC", "antenna", "channel", "eventNum", "format", "idHex",
                    "peakRssi", "phase", "reads",
                }  # fmt: skip
                assert event["data"]["format"] == "epc"
        else:
            assert record.topic == "impinj/r700-door/events"
            for line in record.payload.splitlines():
                event = json.loads(line)
                assert {"timestamp", "hostname", "eventType"} <= set(event)
                if event["eventType"] != "tagInventory":
                    impinj_other += 1
                    continue
                impinj_tags += 1
                tag = event["tagInventoryEvent"]
                assert base64.b64decode(tag["epc"]).hex().upper() == tag["epcHex"]
                assert isinstance(tag["peakRssiCdbm"], int) and -9000 < tag["peakRssiCdbm"] < -4000
                assert {"antennaPort", "antennaName", "frequency", "transmitPowerCdbm"} <= set(tag)
                assert tag["lastSeenTime"].endswith("Z")
    assert zebra_batches > 10 and zebra_singles > 10
    assert impinj_tags >= 2 and impinj_other == 1


def test_strong_reads_come_from_the_items_zone(
    simulated: dict[str, tuple[Path, Story]], demo: StoreConfig
) -> None:
    directory, story = simulated["shopper_tryon_exit"]
    reads, _ = _reads(Capture.open(directory), demo)
    zone_of = {(r.id, port): zone for r in demo.readers for port, zone in r.antennas.items()}
    items = {item.epc: item for item in story.items}

    per_zone: dict[tuple[str, str], list[int]] = defaultdict(list)
    for read in reads:
        item = items[read.epc]
        zone = zone_of[(read.reader_id, read.antenna)]
        if read.rssi_dbm > STRONG_DBM:
            # Serial reads carry the time of the chunk that completed them: allow 1 s.
            assert zone in (item.zone_at(read.ts_ms), item.zone_at(read.ts_ms - 1000)), read
        per_zone[(read.epc, zone)].append(read.ts_ms)

    # Every stay of 3 s or more in a read zone is seen, at 2-4 reads per second per antenna.
    for item in story.items:
        ends = [t for t, _ in item.path[1:]] + [story.start_ms + round(story.duration_s * 1000)]
        for (begin, zone), end in zip(item.path, ends, strict=True):
            if zone == GONE or end - begin < 3000:
                continue
            seen = [t for t in per_zone[(item.epc, zone)] if begin <= t < end]
            antennas = sum(1 for (rid, _), z in zone_of.items() if z == zone)
            rate = len(seen) / ((end - begin) / 1000) / antennas
            assert 1.2 <= rate <= 4.5, (item.label, zone, rate)


def test_the_story_of_the_shopper(simulated: dict[str, tuple[Path, Story]]) -> None:
    _, story = simulated["shopper_tryon_exit"]
    start = story.start_ms

    def moves(label: str) -> list[tuple[float, str, str]]:
        return [((m["t_ms"] - start) / 1000, m["from"], m["to"]) for m in story.item(label).moves()]

    assert moves("sweater-navy-m") == [(30, "shelf-a", "fitting-1"), (130, "fitting-1", "shelf-a")]
    assert moves("sweater-red-m") == [
        (30, "shelf-a", "fitting-1"),
        (135, "fitting-1", "exit"),
        (138, "exit", GONE),
    ]
    assert moves("cardigan-grey-m") == [(25, "shelf-a", "shelf-b")]
    still = [item for item in story.items if not item.moves()]
    assert len(still) == 5
    assert {item.path[0][1] for item in still} == {"shelf-a", "shelf-b", "backroom"}
    for item in story.items:
        assert item.epc.startswith("30") and len(item.gtin) == 14


def test_a_scenario_zone_missing_from_the_store_is_an_error(
    demo: StoreConfig, tmp_path: Path
) -> None:
    zones = [zone for zone in demo.zones if zone.id != "fitting-1"]
    readers = [
        reader.model_copy(update={"antennas": {1: "fitting-2"}})
        if reader.id == "room-reader"
        else reader
        for reader in demo.readers
    ]
    config = demo.model_copy(update={"zones": zones, "readers": readers})

    with pytest.raises(ValueError, match="item sweater-navy-m goes to zone 'fitting-1'"):
        simulate(get_scenario("shopper_tryon_exit"), config, tmp_path)


@pytest.mark.parametrize("name", SMALL)
def test_shipped_captures_are_what_the_script_generates(
    name: str, simulated: dict[str, tuple[Path, Story]]
) -> None:
    directory, _ = simulated[name]
    shipped = HIL / name
    if not (shipped / "manifest.yaml").is_file():
        pytest.fail(f"{shipped} is missing: run scripts/make_hil_captures.sh")
    for path in sorted(directory.iterdir()):
        assert (shipped / path.name).read_bytes() == path.read_bytes(), (
            f"{shipped / path.name} is stale: run scripts/make_hil_captures.sh "
            "(and regenerate the expected events)"
        )


def test_simulate_command(tmp_path: Path) -> None:
    listed = run_cli("simulate", "--list", check=True)
    assert [line.split(":")[0] for line in listed.stdout.splitlines()] == list(SCENARIOS)

    out = tmp_path / "capture"
    result = run_cli("simulate", "serial_garbage", "--out", str(out), "--seed", "3", check=True)
    summary = json.loads(result.stdout)
    assert summary["scenario"] == "serial_garbage" and summary["seed"] == 3
    assert Capture.open(out).store_id == "demo"

    unknown = run_cli("simulate", "no_such_thing", "--out", str(out))
    assert unknown.returncode == 2
    assert "unknown scenario 'no_such_thing'" in unknown.stderr
