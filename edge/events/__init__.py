"""The one event schema (docs/architecture.md, principle 2): versioned pydantic models as JSON.

Import the concrete event classes from their area's module (``edge.events.rfid``,
``edge.events.alerts``, ...); :func:`parse_event` turns any JSON event back into its class.
"""

from edge.events.base import (
    SCHEMA_VERSION,
    Event,
    EventEnvelope,
    EventFactory,
    EventIdGenerator,
    event_class,
    ms_to_datetime,
    parse_event,
)

__all__ = [
    "SCHEMA_VERSION",
    "Event",
    "EventEnvelope",
    "EventFactory",
    "EventIdGenerator",
    "event_class",
    "ms_to_datetime",
    "parse_event",
]
