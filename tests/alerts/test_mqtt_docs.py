"""docs/mqtt.md and docs/schemas/ stay true to the code."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import edge.events
from edge.events.alerts import ComponentStatus
from edge.events.base import EventEnvelope, parse_event
from edge.rfid.impinj import parse_impinj
from edge.rfid.zebra import parse_zebra

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "mqtt.md"
EXAMPLE = re.compile(r"```json (\w+)\n(.*?)```", re.DOTALL)


def test_generated_schemas_and_topic_table_are_up_to_date() -> None:
    """Fails when an event class changed or appeared without regenerating the reference."""
    result = subprocess.run(
        [sys.executable, "scripts/gen_schemas.py", "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        "docs/schemas or docs/mqtt.md are out of date; regenerate them with "
        f"`python scripts/gen_schemas.py`:\n{result.stderr}"
    )


def examples() -> list[tuple[str, str]]:
    return EXAMPLE.findall(DOC.read_text(encoding="utf-8"))


EXAMPLES = examples()


@pytest.fixture(scope="module", autouse=True)
def every_event_class() -> None:
    """Register every event type, as scripts/gen_schemas.py does."""
    for module in pkgutil.iter_modules(edge.events.__path__):
        importlib.import_module(f"edge.events.{module.name}")


def test_doc_has_examples_of_each_kind() -> None:
    assert {kind for kind, _ in EXAMPLES} == {"event", "status", "zebra", "impinj"}


@pytest.mark.parametrize(
    ("kind", "text"), EXAMPLES, ids=[f"{kind}-{n}" for n, (kind, _) in enumerate(EXAMPLES)]
)
def test_example_payload_is_valid(kind: str, text: str) -> None:
    if kind == "event":
        event = parse_event(text)
        assert not isinstance(event, EventEnvelope), f"unregistered type {event.type}"
        assert event.model_dump(mode="json") == json.loads(text)
    elif kind == "status":
        ComponentStatus.model_validate_json(text)
    else:
        parse = parse_zebra if kind == "zebra" else parse_impinj
        result = parse(text.encode(), "reader-1", 0, 2**62)
        assert result.reads and not result.errors
