"""The topic contract of the edge (documented in docs/mqtt.md); one function per topic.

Every topic is ``{prefix}/{store_id}/...`` with the prefix from ``MqttConfig.topic_prefix``
(``o2o`` by default). Segments are checked so that an id containing ``/``, ``+`` or ``#``
can never publish into, or subscribe across, another store's topics.
"""

from __future__ import annotations

from edge.mqtt.errors import MqttTopicError

ALERT_ACK_SEGMENT = "ack"
"""``alerts/ack`` carries acknowledgements, so no alert kind may be called ``ack``."""


def _segment(name: str, value: str) -> str:
    if not value:
        raise MqttTopicError(f"MQTT topic {name} must not be empty")
    bad = sorted({char for char in value if char in "/+#\0"})
    if bad:
        raise MqttTopicError(
            f"MQTT topic {name} {value!r} must not contain {' '.join(repr(c) for c in bad)}"
        )
    return value


def _prefix(prefix: str) -> str:
    """A prefix may have several levels (``acme/o2o``) but no empty level and no wildcard."""
    for level in prefix.split("/"):
        _segment(f"prefix {prefix!r} level", level)
    return prefix


def _store_topic(prefix: str, store_id: str, *tail: str) -> str:
    return "/".join([_prefix(prefix), _segment("store id", store_id), *tail])


def event_topic(prefix: str, store_id: str, event_type: str) -> str:
    """``o2o/{store_id}/events/{type}``: every event, e.g. ``events/tag.departed``."""
    return _store_topic(prefix, store_id, "events", _segment("event type", event_type))


def alert_topic(prefix: str, store_id: str, kind: str) -> str:
    """``o2o/{store_id}/alerts/{kind}``: staff alerts (raised and resolved)."""
    if kind == ALERT_ACK_SEGMENT:
        raise MqttTopicError("alert kind 'ack' is reserved for alerts/ack")
    return _store_topic(prefix, store_id, "alerts", _segment("alert kind", kind))


def alert_ack_topic(prefix: str, store_id: str) -> str:
    """``o2o/{store_id}/alerts/ack``: handhelds acknowledge alerts here."""
    return _store_topic(prefix, store_id, "alerts", ALERT_ACK_SEGMENT)


def gate_alarm_topic(prefix: str, store_id: str, exit_zone: str) -> str:
    """``o2o/{store_id}/gate/{exit}/alarm``: retained on/off of the exit's alarm (a light)."""
    return _store_topic(prefix, store_id, "gate", _segment("exit", exit_zone), "alarm")


def status_topic(prefix: str, store_id: str, component: str) -> str:
    """``o2o/{store_id}/status/{component}``: retained online/offline/stopped."""
    return _store_topic(prefix, store_id, "status", _segment("component", component))


def tablet_topic(prefix: str, store_id: str, zone: str, channel: str) -> str:
    """``o2o/{store_id}/tablets/{zone}/{channel}``: live data for one zone's tablet."""
    return _store_topic(
        prefix, store_id, "tablets", _segment("zone", zone), _segment("channel", channel)
    )


def pos_sales_topic(prefix: str, store_id: str) -> str:
    """``o2o/{store_id}/pos/sales``: sales from the tills."""
    return _store_topic(prefix, store_id, "pos", "sales")
