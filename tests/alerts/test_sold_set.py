"""The chain's sold set on the edge: exact for EPCs in it, compact, refused when damaged."""

from __future__ import annotations

import random
import struct

import pytest

from edge.alerts.sold_set import HEADER, SoldSet, SoldSetError, epc_key


def epcs(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [f"30{rng.getrandbits(88):022X}" for _ in range(n)]


def test_members_are_found_and_others_are_not() -> None:
    sold, unsold = epcs(5000, 1), epcs(5000, 2)
    sold_set = SoldSet.from_epcs(7, sold)
    assert all(epc in sold_set for epc in sold)
    assert all(epc.lower() in sold_set for epc in sold[:100])
    assert not any(epc in sold_set for epc in unsold)
    assert len(sold_set) == 5000 and sold_set.nbytes == 40_000


def test_wire_form_round_trips_and_is_eight_bytes_an_epc() -> None:
    sold = epcs(1000)
    data = SoldSet.from_epcs(42, sold).to_bytes()
    assert len(data) == HEADER.size + 8 * 1000
    back = SoldSet.from_bytes(data)
    assert back.version == 42 and all(epc in back for epc in sold)
    # Little-endian keys, sorted: what HQ writes (cloud_sync) is readable by any language.
    first = int.from_bytes(data[HEADER.size : HEADER.size + 8], "little")
    assert first == min(epc_key(e) for e in sold)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"O2OS", "shorter than its header"),
        (struct.pack("<4sQQ", b"NOPE", 1, 0), "magic"),
        (struct.pack("<4sQQ", b"O2OS", 1, 2) + b"\0" * 8, "says 2 EPCs"),
        (struct.pack("<4sQQQQ", b"O2OS", 1, 2, 9, 3), "not sorted"),
        (struct.pack("<4sQQQQ", b"O2OS", 1, 2, 3, 3), "not sorted"),
    ],
    ids=["short", "magic", "count", "unsorted", "duplicate"],
)
def test_damaged_sets_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(SoldSetError, match=message):
        SoldSet.from_bytes(data)
