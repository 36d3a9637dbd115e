"""R2000 frame builders, encoders and the streaming parser: published vectors, every split of
the bytes across chunks, and seeded random garbage compared against the frames put in."""

from __future__ import annotations

import dataclasses
import random

import pytest

from edge.rfid.r2000 import (
    CommandOk,
    ErrorResponse,
    FastSwitchDone,
    Frame,
    InventoryDone,
    OtherResponse,
    R2000Parser,
    TagFrame,
    build_command,
    build_fast_switch_inventory,
    build_realtime_inventory,
    build_set_work_antenna,
    encode_antenna_missing,
    encode_buffered_tag_frame,
    encode_completion_frame,
    encode_error_frame,
    encode_fast_switch_done,
    encode_tag_frame,
    pc_for_epc,
)

# Published frames of the R2000 serial protocol (cmd 0x89, real-time inventory).
COMMAND = bytes.fromhex("A0 04 01 89 01 D1")
TAG = bytes.fromhex("A0 13 01 89 04 30 00 E2 00 30 16 66 13 01 21 15 50 74 EF 45 BF")
TAG_FRAME = TagFrame(
    address=1,
    antenna=1,
    pc=0x3000,
    epc_hex="E200301666130121155074EF",
    rssi_raw=0x45,
    rssi_dbm=-60,
)
DONE = encode_completion_frame(1, antenna=2, read_rate=150, total_reads=70000)
ERROR = encode_error_frame(1, 0x89, 0x22)


def feed_chunks(parser: R2000Parser, chunks: list[bytes]) -> list[Frame]:
    out: list[Frame] = []
    for chunk in chunks:
        out.extend(parser.feed(chunk))
    return out


def test_realtime_inventory_command_matches_the_published_frame() -> None:
    assert build_realtime_inventory(1, 1) == COMMAND
    assert sum(build_realtime_inventory(0xFF, 255)) % 256 == 0


def test_published_tag_frame_decodes() -> None:
    parser = R2000Parser(1)
    [frame] = parser.feed(TAG)
    assert frame == TAG_FRAME
    assert hash(frame) == hash(TAG_FRAME)
    assert parser.stats["frames"] == parser.stats["tag_frames"] == 1
    assert parser.pending_bytes == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        frame.antenna = 2  # type: ignore[misc]


def test_encoders_reproduce_the_published_tag_frame() -> None:
    epc = bytes.fromhex("E200301666130121155074EF")
    assert pc_for_epc(epc) == 0x3000
    assert encode_tag_frame(1, 1, 0x3000, epc, 0x45, freq=1) == TAG


def test_completion_and_error_frames() -> None:
    assert DONE[:4] == bytes.fromhex("A0 0A 01 89")
    assert bytes.fromhex("A0 04 01 89 22 B0") == ERROR
    parser = R2000Parser(1)
    assert parser.feed(DONE + ERROR + encode_error_frame(1, 0x89, 0x99)) == [
        InventoryDone(address=1, antenna=2, read_rate=150, total_reads=70000),
        ErrorResponse(address=1, cmd=0x89, code=0x22, meaning="antenna_missing_error"),
        ErrorResponse(address=1, cmd=0x89, code=0x99, meaning="unknown_error_0x99"),
    ]
    assert parser.stats["inventory_done"] == 1
    assert parser.stats["error_responses"] == 2


def test_other_commands_come_out_as_other_responses() -> None:
    version = build_command(1, 0x72, b"\x01\x05")
    assert R2000Parser(1).feed(version) == [OtherResponse(address=1, cmd=0x72, data=b"\x01\x05")]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: build_realtime_inventory(1, 0), "repeat"),
        (lambda: encode_tag_frame(1, 9, 0x3000, bytes(12), 0x45), "antenna"),
        (lambda: encode_tag_frame(1, 1, 0x3000, bytes(10), 0x45), "PC"),
        (lambda: build_command(256, 0x89), "address"),
        (lambda: pc_for_epc(bytes(3)), "even"),
    ],
    ids=["repeat", "antenna", "pc-mismatch", "address", "odd-epc"],
)
def test_encoders_reject_bad_arguments(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


STREAM = TAG + DONE + ERROR + b"\x00\xa0\x02" + TAG


def test_every_split_in_two_and_three_chunks_gives_the_same_frames() -> None:
    expected = R2000Parser(1).feed(STREAM)
    assert [type(f) for f in expected] == [TagFrame, InventoryDone, ErrorResponse, TagFrame]
    for i in range(len(STREAM) + 1):
        for j in range(i, len(STREAM) + 1):
            parser = R2000Parser(1)
            got = feed_chunks(parser, [STREAM[:i], STREAM[i:j], STREAM[j:]])
            assert got == expected, (i, j)
            assert parser.stats["garbage_bytes"] == 3
            assert parser.stats["bad_length"] == 1


def test_byte_by_byte_feeding() -> None:
    parser = R2000Parser(1)
    assert feed_chunks(parser, [bytes([b]) for b in STREAM]) == R2000Parser(1).feed(STREAM)


def test_bad_checksum_is_counted_and_the_next_frame_is_found() -> None:
    corrupt = bytearray(TAG)
    corrupt[10] ^= 0x01
    parser = R2000Parser(1)
    assert parser.feed(bytes(corrupt) + TAG) == [TAG_FRAME]
    assert parser.stats["checksum_errors"] == 1
    assert parser.stats["garbage_bytes"] == len(TAG)


def test_truncated_frame_followed_by_a_good_one() -> None:
    parser = R2000Parser(1)
    assert parser.feed(TAG[:10]) == []
    assert parser.pending_bytes == 10  # might still complete
    assert parser.feed(TAG) == [TAG_FRAME]
    assert parser.stats["garbage_bytes"] == 10
    assert parser.pending_bytes == 0


def test_impossible_lengths_are_skipped_at_once() -> None:
    parser = R2000Parser(1)
    # Len 2 is below the minimum; Len 0x20 cannot be a 0x89 reply (even); Len 0x13 with a PC
    # announcing 4 EPC words disagrees with its PC word.
    junk = b"\xa0\x02" + b"\xa0\x20\x01\x89" + b"\xa0\x13\x01\x89\x00\x20\x00"
    assert parser.feed(junk + TAG) == [TAG_FRAME]
    assert parser.stats["bad_length"] == 2
    assert parser.stats["epc_length_mismatch"] == 1
    assert parser.stats["garbage_bytes"] == len(junk)


def test_frames_of_another_address_are_rejected_unless_no_address_is_expected() -> None:
    other = encode_tag_frame(2, 3, 0x3000, bytes(12), 0x50)
    parser = R2000Parser(1)
    assert parser.feed(other + TAG) == [TAG_FRAME]
    assert parser.stats["wrong_address"] == 1
    for anyone in (R2000Parser(), R2000Parser(0xFF)):
        assert [f.address for f in anyone.feed(other + TAG)] == [2, 1]


def test_reset_discards_a_partial_frame() -> None:
    parser = R2000Parser(1)
    parser.feed(TAG[:7])
    parser.reset()
    assert parser.feed(TAG[7:] + TAG) == [TAG_FRAME]
    assert parser.stats["garbage_bytes"] == len(TAG)


def _random_frame(rng: random.Random) -> tuple[bytes, Frame]:
    kind = rng.random()
    if kind < 0.7:
        epc = rng.randbytes(rng.choice((2, 8, 12, 12, 12, 16, 62)))
        antenna, rssi = rng.randint(1, 8), rng.randint(0, 127)
        cmd = rng.choice((0x89, 0x89, 0x8A, 0x8B))
        phase = rng.randint(0, 0xFFFF) if rng.random() < 0.2 else None
        pc = pc_for_epc(epc)
        frame = encode_tag_frame(
            1, antenna, pc, epc, rssi, freq=rng.randint(0, 63), cmd=cmd, phase=phase
        )
        return frame, TagFrame(1, antenna, pc, epc.hex().upper(), rssi, rssi - 129, phase)
    if kind < 0.75:
        epc = rng.randbytes(12)
        antenna, rssi = rng.randint(1, 8), rng.randint(0, 127)
        frame = encode_buffered_tag_frame(1, antenna, 0x3000, epc, rng.randint(0, 0xFFFF), rssi)
        return frame, TagFrame(1, antenna, 0x3000, epc.hex().upper(), rssi, rssi - 129)
    if kind < 0.85:
        antenna, rate, total = rng.randint(1, 4), rng.randint(0, 65535), rng.randint(0, 2**32 - 1)
        frame = encode_completion_frame(1, antenna, rate, total)
        return frame, InventoryDone(1, antenna, rate, total)
    if kind < 0.9:
        total, duration = rng.randint(0, 2**24 - 1), rng.randint(0, 2**32 - 1)
        return encode_fast_switch_done(1, total, duration), FastSwitchDone(1, total, duration)
    if kind < 0.95:
        antenna = rng.randint(1, 8)
        return encode_antenna_missing(1, antenna), ErrorResponse(1, 0x8A, 0x22, "", antenna)
    code = rng.choice((0x22, 0x31, 0x36))
    return encode_error_frame(1, 0x89, code), ErrorResponse(1, 0x89, code, "")


def _random_garbage(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.4:
        return rng.randbytes(rng.randint(1, 40))
    if kind < 0.7:  # a frame cut short, as when a cable is pulled
        frame, _ = _random_frame(rng)
        return frame[: rng.randint(1, len(frame) - 1)]
    if kind < 0.85:  # a plausible header with a wrong checksum
        corrupt = bytearray(_random_frame(rng)[0])
        corrupt[-1] ^= rng.randint(1, 255)
        return bytes(corrupt)
    return b"\xa0" * rng.randint(1, 3)


def test_seeded_random_garbage_between_frames_yields_exactly_the_frames() -> None:
    rng = random.Random(0)
    stream = bytearray()
    expected: list[Frame] = []
    garbage_bytes = 0
    for _ in range(3000):
        if rng.random() < 0.4:
            junk = _random_garbage(rng)
            stream += junk
            garbage_bytes += len(junk)
        frame, decoded = _random_frame(rng)
        stream += frame
        expected.append(decoded)
    chunks: list[bytes] = []
    pos = 0
    while pos < len(stream):
        size = rng.choice((1, 3, 17, 64, 512, 4096))
        chunks.append(bytes(stream[pos : pos + size]))
        pos += size
    parser = R2000Parser(1)
    got = feed_chunks(parser, chunks)

    def comparable(frame: Frame) -> Frame:
        # Error meanings are looked up by the parser; the reference only knows the code.
        if isinstance(frame, ErrorResponse):
            return ErrorResponse(frame.address, frame.cmd, frame.code, "", frame.antenna)
        return frame

    assert [comparable(f) for f in got] == expected
    assert parser.stats["frames"] == len(expected)
    assert parser.stats["garbage_bytes"] == garbage_bytes
    assert parser.stats["checksum_errors"] > 0
    assert parser.stats["bad_length"] > 0


def test_8_port_modules_flag_antennas_5_to_8_with_bit_7_of_the_rssi_byte() -> None:
    # The frame: FreqAnt 0x28 (frequency 10, antenna bits 00), RSSI 0xC5.
    epc = bytes.fromhex("E20000172211012218205F1C")
    frame = build_command(1, 0x89, bytes((0x28, 0x30, 0x00)) + epc + bytes((0xC5,)))
    [tag] = R2000Parser(1).feed(frame)
    assert isinstance(tag, TagFrame)
    assert (tag.antenna, tag.rssi_dbm, tag.rssi_raw) == (5, -60, 0x45)
    # Our encoder writes the same bytes, and antennas 1-8 round-trip.
    assert encode_tag_frame(1, 5, 0x3000, epc, 0x45, freq=10) == frame
    for antenna in range(1, 9):
        [read] = R2000Parser(1).feed(encode_tag_frame(1, antenna, 0x3000, epc, 0x45))
        assert isinstance(read, TagFrame) and read.antenna == antenna


def test_rssi_outside_what_a_module_reports_is_counted_and_the_read_kept() -> None:
    epc = bytes(12)
    parser = R2000Parser(1)
    frames = parser.feed(
        encode_tag_frame(1, 1, 0x3000, epc, 0x7F)  # -2 dBm: saturation, a false frame's value
        + encode_tag_frame(1, 2, 0x3000, epc, 0x05)  # -124 dBm: below any receiver
        + encode_tag_frame(1, 3, 0x3000, epc, 0x45)  # -60 dBm: a real read
    )
    assert [f.antenna for f in frames if isinstance(f, TagFrame)] == [1, 2, 3]
    assert parser.stats["rssi_out_of_range"] == 2


def test_phase_frames_and_every_tag_command_decode() -> None:
    epc = bytes.fromhex("E200301666130121155074EF")
    parser = R2000Parser(1)
    frames = parser.feed(
        encode_tag_frame(1, 2, 0x3000, epc, 0x45, cmd=0x8A)
        + encode_tag_frame(1, 3, 0x3000, epc, 0x45, cmd=0x8B, phase=0x1234)
    )
    assert [(f.antenna, f.phase) for f in frames if isinstance(f, TagFrame)] == [
        (2, None),
        (3, 0x1234),
    ]
    assert parser.stats["phase_frames"] == 1 and parser.stats["tag_frames"] == 2


def test_fast_switch_command_forms() -> None:
    # Four slots while every antenna is 1-4; eight (the 8-port form) otherwise.
    assert build_fast_switch_inventory(1, [(1, 2), (3, 2)], interval_ms=5, repeat=3)[1:] == (
        bytes.fromhex("0D 01 8A 00 02 02 02 FF 00 FF 00 05 03")
        + build_fast_switch_inventory(1, [(1, 2), (3, 2)], 5, 3)[-1:]
    )
    eight = build_fast_switch_inventory(1, [(a, 1) for a in (1, 2, 3, 4, 5)])
    assert eight[1] == 0x15 and eight[4:14] == bytes.fromhex("00 01 01 01 02 01 03 01 04 01")
    with pytest.raises(ValueError, match="antennas"):
        build_fast_switch_inventory(1, [(1, 1)] * 9)
    with pytest.raises(ValueError, match="antenna"):
        build_set_work_antenna(1, 9)
    results = R2000Parser(1).feed(
        encode_error_frame(1, 0x74, 0x10) + encode_error_frame(1, 0x74, 0x47)
    )
    assert results == [
        CommandOk(1, 0x74),
        ErrorResponse(1, 0x74, 0x47, "parameter_invalid_antenna_id_out_of_range"),
    ]


def test_idle_flush_releases_frames_held_behind_a_dead_head_by_event_time_only() -> None:
    parser = R2000Parser(1)
    stray = TAG[:6]  # a plausible head of a 96-bit tag frame, cut short
    assert parser.feed(stray + DONE, now_ms=1000) == []
    assert parser.flush_due_ms() == 1100
    assert parser.flush_idle(1099) == []  # not idle long enough
    [done] = parser.flush_idle(1100)
    assert isinstance(done, InventoryDone)
    assert parser.stats["idle_flushed"] == 1 and parser.pending_bytes == 0
    # The same bytes fed later, after the gap, flush first: the result never depends on
    # whether the caller polled in between.
    other = R2000Parser(1)
    assert other.feed(stray + DONE, now_ms=1000) == []
    assert other.feed(TAG, now_ms=1500) == [done, TAG_FRAME]
    # Without times nothing is ever flushed (a frame may still complete).
    assert R2000Parser(1).feed(stray + DONE) == []
