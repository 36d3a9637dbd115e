"""Generate the MQTT payload reference from the pydantic models.

Writes ``docs/schemas/{type}.json`` (JSON Schema) for every event class registered in
``edge.events.base.EVENT_TYPES`` after importing every ``edge.events.*`` module, plus
``component-status.json``, and rewrites the generated table of event topics in
``docs/mqtt.md`` (between its ``generated:event-topics`` markers). Run it after adding or
changing an event class::

    python scripts/gen_schemas.py            # write the files
    python scripts/gen_schemas.py --check    # exit 1 and name what is out of date
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCHEMA_DIR = Path("docs/schemas")
MQTT_DOC = Path("docs/mqtt.md")
STATUS_SCHEMA = "component-status.json"
BEGIN = "<!-- generated:event-topics:start (scripts/gen_schemas.py) -->"
END = "<!-- generated:event-topics:end -->"
REGENERATE = "python scripts/gen_schemas.py"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _event_classes() -> dict[str, type[Any]]:
    import edge.events
    from edge.events.base import EVENT_TYPES

    for module in pkgutil.iter_modules(edge.events.__path__):
        importlib.import_module(f"edge.events.{module.name}")
    return dict(sorted(EVENT_TYPES.items()))


def _schema(model: type[Any], name: str) -> str:
    schema = {"$schema": JSON_SCHEMA_DIALECT, "$id": name, **model.model_json_schema()}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _summary(cls: type[Any]) -> str:
    """First paragraph of the event's (or its payload's) docstring, else the payload's fields."""
    payload = cls.model_fields["payload"].annotation
    for owner in (cls, payload):
        doc = owner.__dict__.get("__doc__") if isinstance(owner, type) else None
        if doc:
            return " ".join(doc.strip().split("\n\n")[0].split()).replace("|", "\\|")
    fields = getattr(payload, "model_fields", {})
    return "Payload: " + ", ".join(f"`{name}`" for name in fields) if fields else ""


def _event_table(classes: dict[str, type[Any]]) -> str:
    from edge.mqtt.publisher import ALERT_EVENTS

    rows = [
        "| Event type | Topic | Payload schema | What it says |",
        "|---|---|---|---|",
    ]
    for event_type, cls in classes.items():
        topic = (
            "o2o/{store_id}/alerts/{kind}"
            if issubclass(cls, ALERT_EVENTS)
            else f"o2o/{{store_id}}/events/{event_type}"
        )
        schema = f"[{event_type}.json](schemas/{event_type}.json)"
        rows.append(f"| `{event_type}` | `{topic}` | {schema} | {_summary(cls)} |")
    return "\n".join(rows)


def render(root: Path) -> dict[Path, str]:
    """Every generated file (relative to ``root``) and its content."""
    from edge.events.alerts import ComponentStatus

    classes = _event_classes()
    files = {
        SCHEMA_DIR / f"{event_type}.json": _schema(cls, f"{event_type}.json")
        for event_type, cls in classes.items()
    }
    files[SCHEMA_DIR / STATUS_SCHEMA] = _schema(ComponentStatus, STATUS_SCHEMA)
    doc = (root / MQTT_DOC).read_text(encoding="utf-8")
    start, end = doc.find(BEGIN), doc.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{MQTT_DOC}: the markers {BEGIN!r} and {END!r} are missing")
    table = _event_table(classes)
    files[MQTT_DOC] = doc[: start + len(BEGIN)] + "\n" + table + "\n" + doc[end:]
    return files


def stale(root: Path) -> list[str]:
    """What differs between the files under ``root`` and freshly generated ones."""
    files = render(root)
    problems = [
        f"{path} is out of date" if (root / path).exists() else f"{path} is missing"
        for path, content in files.items()
        if not (root / path).exists() or (root / path).read_text(encoding="utf-8") != content
    ]
    extra = sorted(set((root / SCHEMA_DIR).glob("*.json")) - {root / p for p in files})
    problems += [f"{path.relative_to(root)} belongs to no event class" for path in extra]
    return problems


def write(root: Path) -> list[Path]:
    files = render(root)
    (root / SCHEMA_DIR).mkdir(parents=True, exist_ok=True)
    for path in set((root / SCHEMA_DIR).glob("*.json")) - {root / p for p in files}:
        path.unlink()
    for path, content in files.items():
        (root / path).write_text(content, encoding="utf-8")
    return sorted(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report out-of-date files")
    parser.add_argument("--root", type=Path, default=REPO, help="repository root")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale(args.root)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(f"regenerate them with: {REGENERATE}", file=sys.stderr)
        return 1 if problems else 0
    for path in write(args.root):
        print(path)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))  # run as a file: make the `edge` package importable
    sys.exit(main())
