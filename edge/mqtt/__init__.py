"""MQTT for the edge: one connection per process (:class:`MqttConnection`), the topic contract
(:mod:`edge.mqtt.topics`, documented in docs/mqtt.md) and the errors of both."""

from edge.mqtt.client import MessageHandler, MqttConnection, MqttCounters
from edge.mqtt.errors import MqttError, MqttSubscribeError, MqttTopicError

__all__ = [
    "MessageHandler",
    "MqttConnection",
    "MqttCounters",
    "MqttError",
    "MqttSubscribeError",
    "MqttTopicError",
]
