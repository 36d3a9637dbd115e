"""Events, staff alerts and component status onto the topic contract (docs/mqtt.md).

``alert.raised`` and ``alert.resolved`` go to ``alerts/{kind}`` so that a handheld subscribed
to ``alerts/+`` sees an alert open and close; every other event goes to ``events/{type}``, and
a ``recommendation`` also to its room's tablet channel ``tablets/{zone}/recommendations``,
and a ``gate.alarm`` also to ``gate/{exit}/alarm``, retained (a gate light or buzzer shows the
latest state as soon as it connects). All with QoS 1 (at least once: subscribers de-duplicate
on ``event_id``), none but the gate alarm retained.
Status goes to ``status/{component}``, retained, so a new subscriber sees it at once.
"""

from __future__ import annotations

from edge.events.alerts import AlertRaised, AlertResolved, ComponentStatus, GateAlarm
from edge.events.base import Event
from edge.events.fusion import Recommendation
from edge.mqtt.client import MqttConnection
from edge.mqtt.topics import (
    alert_topic,
    event_topic,
    gate_alarm_topic,
    status_topic,
    tablet_topic,
)

EVENT_QOS = 1
STATUS_QOS = 1

ALERT_EVENTS = (AlertRaised, AlertResolved)
"""Event classes published on ``alerts/{kind}`` instead of ``events/{type}``."""


class EventPublisher:
    def __init__(self, connection: MqttConnection, store_id: str, prefix: str) -> None:
        self._connection = connection
        self.store_id = store_id
        self.prefix = prefix

    def topic_for(self, event: Event) -> str:
        if isinstance(event, ALERT_EVENTS):
            return alert_topic(self.prefix, self.store_id, event.payload.kind.value)
        return event_topic(self.prefix, self.store_id, event.type)

    def publish(self, event: Event) -> bool:
        """False when the connection had to drop the message (its queue is full)."""
        if event.store_id != self.store_id:
            raise ValueError(
                f"event {event.event_id} belongs to store {event.store_id!r}, "
                f"not to {self.store_id!r}: not published"
            )
        body = event.to_json()
        if isinstance(event, Recommendation):
            room = tablet_topic(self.prefix, self.store_id, event.payload.zone, "recommendations")
            self._connection.publish(room, body, qos=EVENT_QOS)
        elif isinstance(event, GateAlarm):
            light = gate_alarm_topic(self.prefix, self.store_id, event.payload.exit)
            self._connection.publish(light, body, qos=EVENT_QOS, retain=True)
        return self._connection.publish(self.topic_for(event), body, qos=EVENT_QOS)

    def publish_status(self, component: str, status: ComponentStatus) -> bool:
        return self._connection.publish(
            status_topic(self.prefix, self.store_id, component),
            status.model_dump_json(),
            qos=STATUS_QOS,
            retain=True,
        )
