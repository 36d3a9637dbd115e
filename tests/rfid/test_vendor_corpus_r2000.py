"""The R2000 vendor corpus gives exactly its reads, and the driver's builders write exactly the
commands its streams answer.

Each stream in tests/rfid/vendor_corpus/r2000 is built field for field from the protocol
document and published samples (NOTES.md there); expected.yaml says what it must give.
"""

from __future__ import annotations

from typing import Any

import pytest

from edge.rfid.r2000 import (
    Frame,
    R2000Parser,
    TagFrame,
    build_customized_inventory,
    build_fast_switch_inventory,
    build_realtime_inventory,
    build_set_work_antenna,
)
from tests.rfid.corpus import CORPUS, load_cases

CASES = load_cases("r2000")


def stream(case: dict[str, Any]) -> bytes:
    text = (CORPUS / "r2000" / case["file"]).read_text(encoding="utf-8")
    return bytes.fromhex(" ".join(line.split("#")[0] for line in text.splitlines()))


def reads(frames: list[Frame]) -> list[list[object]]:
    return [[f.antenna, f.epc_hex, f.rssi_dbm, f.phase] for f in frames if isinstance(f, TagFrame)]


@pytest.mark.parametrize("case", CASES, ids=[case["file"] for case in CASES])
def test_stream_gives_exactly_its_reads(case: dict[str, Any]) -> None:
    data = stream(case)
    parser = R2000Parser(1)
    frames = parser.feed(data)
    assert reads(frames) == case["reads"]
    assert [type(f).__name__ for f in frames] == case["frames"]
    for key, count in case.get("counts", {}).items():
        assert parser.stats[key] == count, key
    assert parser.pending_bytes == 0
    # Any split of the bytes gives the same frames.
    for cut in range(1, len(data)):
        split = R2000Parser(1)
        assert split.feed(data[:cut]) + split.feed(data[cut:]) == frames, cut


@pytest.mark.parametrize("case", [c for c in CASES if c["command"]], ids=lambda case: case["file"])
def test_the_driver_writes_the_command_the_stream_answers(case: dict[str, Any]) -> None:
    spec = case["command"]
    builders = {
        "realtime_inventory": lambda: build_realtime_inventory(1, 1),
        "fast_switch": lambda: build_fast_switch_inventory(
            1, [(antenna, 1) for antenna in spec.get("antennas", [])]
        ),
        "customized": lambda: build_customized_inventory(1, session=1, target=0, repeat=1),
        "set_work_antenna": lambda: build_set_work_antenna(1, spec.get("antenna", 1)),
    }
    assert builders[spec["build"]]() == bytes.fromhex(spec["hex"])
