"""Event ingestion: decode a batch, validate each event, store new ones exactly once.

A batch reports per-event results: valid events are stored even when others in the same
batch are rejected. The hot path is one ``INSERT ... ON CONFLICT (event_id) DO NOTHING
RETURNING event_id`` per batch (on PostgreSQL taking each event verbatim from the body as
sent, on SQLite a multi-row VALUES), rows sorted by id so that two workers inserting
overlapping batches lock in the same order and cannot deadlock.
Ids not returned already existed: their stored bodies are compared to tell a duplicate (same
body) from a conflict (same id, different body).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from pydantic import ValidationError
from pydantic_core import from_json
from sqlalchemy import select, text
from sqlalchemy.orm import Session

import edge.events
from cloud_sync.hq import projections, reservations, rollups, sold, stock
from cloud_sync.hq.core.config import Settings
from cloud_sync.hq.core.db import insert_for
from cloud_sync.hq.models import StoredEvent, table
from edge.events import limits
from edge.events.base import parse_event

# Known event types are validated field by field: register every module of edge.events.
for _module in pkgutil.iter_modules(edge.events.__path__):
    importlib.import_module(f"edge.events.{_module.name}")

EVENTS = table(StoredEvent)


class BatchError(ValueError):
    """The request body as a whole is unusable (answered 422)."""


class Status(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class EventResult:
    event_id: str | None
    status: Status
    detail: str


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    results: list[EventResult]

    def count(self, *statuses: Status) -> int:
        return sum(1 for r in self.results if r.status in statuses)

    def as_json(self) -> dict[str, Any]:
        return {
            "results": [
                {"event_id": r.event_id, "status": r.status.value, "detail": r.detail}
                for r in self.results
            ],
            "stored": self.count(Status.STORED),
            "duplicates": self.count(Status.DUPLICATE),
            "rejected": self.count(Status.CONFLICT, Status.INVALID),
        }


@dataclass(frozen=True, slots=True)
class Batch:
    events: list[Any]
    text: str
    """The body as sent: PostgreSQL takes each stored event from it verbatim."""


def decode_batch(raw: bytes, content_encoding: str | None, *, max_bytes: int) -> Batch:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "gzip":
        try:
            # Bounded decompression: a small gzip bomb must not exhaust memory.
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            body = inflater.decompress(raw, max_bytes + 1)
        except zlib.error as exc:
            raise BatchError(f"Body is not valid gzip: {exc}") from None
        if len(body) > max_bytes or inflater.unconsumed_tail:
            raise BatchError(f"Body larger than {max_bytes} bytes after decompression")
        if not inflater.eof or inflater.unused_data:
            raise BatchError("Body is not valid gzip: truncated or several members")
    elif encoding == "identity":
        body = raw
    else:
        raise BatchError(f"Unsupported Content-Encoding: {encoding}")
    try:
        # pydantic-core's parser: faster than the json module, exact big integers, and like
        # PostgreSQL's jsonb it refuses NaN, Infinity and invalid UTF-8 (a 422, not a 500).
        doc = from_json(body, allow_inf_nan=False)
    except ValueError as exc:
        raise BatchError(f"Body is not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("events"), list):
        raise BatchError('Body must be a JSON object {"events": [...]}')
    return Batch(doc["events"], body.decode())


def _field_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "event"
    return f"{where}: {first['msg']}"


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _canonical_uuid(value: str) -> str:
    """Lower-case hyphenated form (what the uuid column gives back); ValueError if no UUID."""
    return value if _CANONICAL_UUID.fullmatch(value) else str(uuid.UUID(value))


@dataclass(frozen=True, slots=True)
class _Valid:
    index: int
    sent_id: str
    """The id as the store sent it, echoed in the results."""
    row: dict[str, Any]


def validate_events(
    items: Sequence[Any], store_id: str
) -> tuple[list[_Valid], dict[int, EventResult]]:
    valid: list[_Valid] = []
    rejected: dict[int, EventResult] = {}
    for index, item in enumerate(items):
        raw_id = item.get("event_id") if isinstance(item, dict) else None
        label = raw_id if isinstance(raw_id, str) and "\x00" not in raw_id else None
        nul = limits.nul_path(item)
        if nul is not None:
            rejected[index] = EventResult(
                label,
                Status.INVALID,
                f"events[{index}] ({label}): {nul}: NUL character not allowed",
            )
            continue
        try:
            event = parse_event(item)
            canonical_id = _canonical_uuid(event.event_id)
        except ValidationError as exc:
            rejected[index] = EventResult(
                label, Status.INVALID, f"events[{index}] ({label}): {_field_error(exc)}"
            )
            continue
        except ValueError as exc:
            reason = "event_id: not a UUID" if isinstance(item, dict) else str(exc)
            rejected[index] = EventResult(
                label, Status.INVALID, f"events[{index}] ({label}): {reason}"
            )
            continue
        if event.store_id != store_id:
            rejected[index] = EventResult(
                label,
                Status.INVALID,
                f"events[{index}] ({label}): store_id: {event.store_id!r} is not this store",
            )
            continue
        problem = (
            f"type: longer than {limits.EVENT_TYPE_MAX} characters"
            if len(event.type) > limits.EVENT_TYPE_MAX
            else projections.problem(event.type, item.get("payload"))
        )
        if problem is not None:
            rejected[index] = EventResult(
                label, Status.INVALID, f"events[{index}] ({label}): {problem}"
            )
            continue
        # The body is stored as sent: a resend from the edge's outbox is byte-identical, and
        # skipping a re-serialisation keeps the hot path short.
        body = item
        valid.append(
            _Valid(
                index,
                event.event_id,
                {
                    "event_id": canonical_id,
                    "store_id": store_id,
                    "type": event.type,
                    "ts": event.ts,
                    "body": body,
                },
            )
        )
    return valid, rejected


# PostgreSQL: one statement of constant text whose parameters are the body as sent and, per
# row to insert, [index in the body, canonical id, type, ts] as one JSON array. Each event is
# stored exactly as sent, nothing is re-serialised, and neither the driver nor the server
# parses a 500-row VALUES list. MATERIALIZED: the body is parsed once, not once per row.
_PG_INSERT = text(
    f"""
    WITH batch AS MATERIALIZED (SELECT CAST(:body AS jsonb) -> 'events' AS events)
    INSERT INTO {EVENTS.name} (event_id, store_id, type, ts, body, received_at)
    SELECT (m->>1)::uuid, :store_id, m->>2, (m->>3)::timestamptz,
           batch.events -> (m->>0)::int, :received_at
    FROM batch, jsonb_array_elements(CAST(:rows AS jsonb)) AS m
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id::text
    """
)


def _insert_new(
    session: Session, valid: list[_Valid], *, batch: Batch, store_id: str, now: datetime
) -> set[str]:
    """Insert rows whose event_id is new; returns the ids actually inserted."""
    if session.get_bind().dialect.name == "postgresql":
        body, positions = batch.text, [v.index for v in valid]
        if "\\u0000" in body:
            # PostgreSQL's jsonb takes no NUL anywhere: send the valid events alone (they were
            # checked to hold none), re-serialised, instead of the body as sent.
            body = orjson.dumps({"events": [v.row["body"] for v in valid]}).decode()
            positions = list(range(len(valid)))
        rows = orjson.dumps(
            [
                (position, v.row["event_id"], v.row["type"], v.row["ts"])
                for position, v in zip(positions, valid, strict=True)
            ]
        ).decode()
        result = session.execute(
            _PG_INSERT,
            {"store_id": store_id, "received_at": now, "body": body, "rows": rows},
        )
        # event_id::text is already the canonical form.
        return set(result.scalars())
    else:
        stmt = (
            insert_for("sqlite", EVENTS)
            .on_conflict_do_nothing(index_elements=[EVENTS.c.event_id])
            .returning(EVENTS.c.event_id)
        )
        result = session.execute(stmt, [{**v.row, "received_at": now} for v in valid])
    return {_canonical_uuid(str(r)) for r in result.scalars()}


def store_batch(
    session: Session,
    *,
    store_id: str,
    batch: Batch,
    settings: Settings,
    now: datetime,
) -> BatchOutcome:
    items = batch.events
    valid, results = validate_events(items, store_id)
    # A repeated id inside one batch: the first occurrence goes to the database, the later
    # ones are judged against it.
    first_by_id: dict[str, _Valid] = {}
    repeats: list[_Valid] = []
    for v in valid:
        if v.row["event_id"] in first_by_id:
            repeats.append(v)
        else:
            first_by_id[v.row["event_id"]] = v
    firsts = sorted(first_by_id.values(), key=lambda v: v.row["event_id"])
    inserted = (
        _insert_new(session, firsts, batch=batch, store_id=store_id, now=now) if firsts else set()
    )
    existing_ids = [i for i in first_by_id if i not in inserted]
    stored_bodies: dict[str, Any] = {}
    if existing_ids:
        found = session.execute(
            select(EVENTS.c.event_id, EVENTS.c.body).where(EVENTS.c.event_id.in_(existing_ids))
        )
        stored_bodies = {_canonical_uuid(str(eid)): body for eid, body in found}
    for event_id, v in first_by_id.items():
        if event_id in inserted:
            results[v.index] = EventResult(v.sent_id, Status.STORED, "")
        else:
            results[v.index] = _judge(v, stored_bodies.get(event_id))
    for v in repeats:
        results[v.index] = _judge(v, first_by_id[v.row["event_id"]].row["body"])
    new_rows = [v.row for v in firsts if v.row["event_id"] in inserted]
    if new_rows:
        projected = projections.project(session, new_rows, settings=settings, now=now)
        # The rollups are added behind ingestion, by the pump (rollups.pump): only queued here.
        rollups.enqueue(
            session, (r["event_id"] for r in [*projected.activity, *projected.sale_lines])
        )
        stock.project_stock(session, new_rows)
        reservations.project(session, new_rows, settings=settings, now=now)
        sold.project(session, new_rows)
        sold.project_gate_outcomes(session, new_rows)
    session.commit()
    return BatchOutcome([results[i] for i in range(len(items))])


def _judge(v: _Valid, stored_body: Any) -> EventResult:
    if stored_body == v.row["body"]:
        return EventResult(v.sent_id, Status.DUPLICATE, "already stored")
    return EventResult(
        v.sent_id,
        Status.CONFLICT,
        f"events[{v.index}] ({v.sent_id}): event_id already stored with a different body",
    )
