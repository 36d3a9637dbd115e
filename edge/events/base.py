"""Event envelope, deterministic time-ordered ids and the registry of event types.

Every event is ``{schema_version, type, event_id, store_id, ts, source, payload}``. ``ts`` is
UTC with millisecond precision, serialised as ``2026-11-22T08:12:52.123Z``. ``event_id`` is a
UUIDv7: the top 48 bits are ``ts`` in milliseconds, so ids sort by time. Its other bits come
from a seeded counter rather than from ``os.urandom`` so that a replay of one capture produces
the same ids (live runs seed with random bytes, replays with the capture's identity).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

SCHEMA_VERSION = 1


def ms_to_datetime(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).replace(microsecond=(ts_ms % 1000) * 1000)


def datetime_to_ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000 + (0.5 if value.timestamp() >= 0 else -0.5))


def _format_utc_ms(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


_ZERO_OFFSET = timedelta(0)


def _to_utc_ms(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a time zone (UTC expected)")
    if value.microsecond % 1000 == 0 and value.utcoffset() == _ZERO_OFFSET:
        # Already UTC to the millisecond (every event an edge writes): the round trip below
        # would give the same fields; HQ validates thousands of these per second.
        return value.replace(tzinfo=UTC, fold=0)
    return ms_to_datetime(datetime_to_ms(value))


UtcMs = Annotated[datetime, PlainSerializer(_format_utc_ms, return_type=str, when_used="json")]
"""A UTC datetime truncated to milliseconds; use it for every timestamp inside payloads."""


class EventIdGenerator:
    """UUIDv7 ids: 48-bit millisecond time, a 12-bit per-process counter, 62 seeded bits."""

    def __init__(self, seed: bytes | None = None) -> None:
        self._seed = seed if seed is not None else os.urandom(16)
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def new_id(self, ts_ms: int) -> str:
        with self._lock:
            n = next(self._counter)
        digest = hashlib.blake2b(n.to_bytes(8, "big"), key=self._seed[:64], digest_size=8)
        rand_b = int.from_bytes(digest.digest(), "big") & ((1 << 62) - 1)
        value = (
            ((ts_ms & ((1 << 48) - 1)) << 80)
            | (0x7 << 76)
            | ((n & 0xFFF) << 64)
            | (0b10 << 62)
            | rand_b
        )
        return str(uuid.UUID(int=value))


EVENT_TYPES: dict[str, type[Event]] = {}
"""Every concrete event class by its ``type``, filled as the classes are defined."""


class Event(BaseModel):
    """Base of every event. Subclasses fix ``type`` with a ``Literal`` and type ``payload``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = Field(default=SCHEMA_VERSION, description="Event schema version")
    type: str = Field(description="Dotted event type, e.g. tag.arrived")
    event_id: str = Field(description="UUIDv7: time-ordered, unique; the idempotency key")
    store_id: str = Field(description="Store that produced the event")
    ts: UtcMs = Field(description="Event time, UTC, millisecond precision")
    source: str = Field(description="Component that produced it, e.g. rfid/tracker, reader:dock-1")
    payload: Any = Field(description="Type-specific payload")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        field = cls.model_fields.get("type")
        default = field.default if field is not None else None
        if isinstance(default, str) and cls is not EventEnvelope:
            EVENT_TYPES[default] = cls

    @field_validator("ts", mode="after")
    @classmethod
    def _ts_utc_ms(cls, value: datetime) -> datetime:
        return _to_utc_ms(value)

    @property
    def ts_ms(self) -> int:
        return datetime_to_ms(self.ts)

    def to_json(self) -> str:
        return self.model_dump_json()


class EventEnvelope(Event):
    """Any event with its payload left as a JSON object (HQ stores types it does not know)."""

    payload: dict[str, Any]


E = TypeVar("E", bound=Event)


def event_class(event_type: str) -> type[Event]:
    return EVENT_TYPES.get(event_type, EventEnvelope)


def parse_event(data: str | bytes | dict[str, Any]) -> Event:
    """Validate a JSON event into its registered class (an EventEnvelope if unknown)."""
    obj = json.loads(data) if isinstance(data, str | bytes) else data
    if not isinstance(obj, dict):
        raise ValueError("an event must be a JSON object")
    return event_class(str(obj.get("type", ""))).model_validate(obj)


class EventOutput(Protocol):
    """What a pure stage reports (a tag change, a visit start, an alert draft...): each kind
    builds its own event, stamped with its own time, with the factory's next id."""

    def to_event(self, factory: EventFactory) -> Event: ...


class EventFactory:
    """Builds events for one store with ids from one generator (one per process or replay)."""

    def __init__(self, store_id: str, ids: EventIdGenerator | None = None) -> None:
        self.store_id = store_id
        self._ids = ids or EventIdGenerator()

    def make(self, cls: type[E], *, ts_ms: int, source: str, payload: Any) -> E:
        # Every concrete event class gives ``type`` its default; the base class cannot say so.
        return cls(  # type: ignore[call-arg]
            event_id=self._ids.new_id(ts_ms),
            store_id=self.store_id,
            ts=ms_to_datetime(ts_ms),
            source=source,
            payload=payload,
        )
