"""Load the vendor corpus (tests/rfid/vendor_corpus/<vendor>/expected.yaml) as test values."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from edge.events.base import datetime_to_ms
from edge.rfid.reads import ReaderState, TagDirection, TagRead

CORPUS = Path(__file__).parent / "vendor_corpus"


def load_cases(vendor: str) -> list[dict[str, Any]]:
    document = yaml.safe_load((CORPUS / vendor / "expected.yaml").read_text(encoding="utf-8"))
    cases: list[dict[str, Any]] = document["cases"]
    return cases


def payload(vendor: str, case: dict[str, Any]) -> bytes:
    return (CORPUS / vendor / case["file"]).read_bytes()


def ms(text: str) -> int:
    return datetime_to_ms(datetime.fromisoformat(text))


def expected_reads(case: dict[str, Any], reader_id: str) -> list[TagRead]:
    return [
        TagRead(
            reader_id,
            antenna,
            epc,
            None if rssi is None else float(rssi),
            ms(ts),
            None if direction is None else TagDirection(direction),
        )
        for antenna, epc, rssi, ts, direction in case.get("reads", [])
    ]


def expected_notices(case: dict[str, Any]) -> list[tuple[str, ReaderState | None, int]]:
    return [
        (event_type, None if state is None else ReaderState(state), lost)
        for event_type, state, lost in case.get("notices", [])
    ]
