"""The small exception hierarchy of the MQTT layer; every message says which broker or topic."""

from __future__ import annotations


class MqttError(Exception):
    """Base of every MQTT error raised by :mod:`edge.mqtt`."""


class MqttTopicError(MqttError, ValueError):
    """A topic segment or filter that would break the topic contract (``/``, ``+``, ``#``)."""


class MqttSubscribeError(MqttError):
    """A subscription that cannot be made, e.g. a second handler for the same filter."""
