"""One paho-mqtt client per edge process: status with last will, subscriptions, publishing.

Status (Frigate's availability pattern, on ``o2o/{store}/status/{component}``, retained):
the broker publishes the last will ``offline`` when the process dies or loses its link without
saying goodbye; ``online`` is published after every accepted CONNACK; ``stop()`` publishes
``stopped`` and then disconnects cleanly (a clean disconnect suppresses the will).

Threads: paho runs its network loop in its own thread (``loop_start``). ``publish`` and
``subscribe`` may be called from any thread. Subscription handlers run on paho's network
thread: they must be quick and hand real work to the runtime's own loop (for asyncio:
``loop.call_soon_threadsafe``), because while a handler runs no other message is read.

While disconnected, QoS 1/2 messages wait in paho's outgoing queue, bounded by
``max_queued_messages``, and are sent in order after the reconnect (at least once: a message
in flight when the link broke is sent again with the DUP flag). When the queue is full a
publish is refused: it is counted in ``dropped``, logged, and ``publish`` returns False.
Nothing survives a restart of the process; business events reach HQ through the outbox,
not through this queue. QoS 0 messages published while disconnected are dropped (counted).

Reconnects: paho's own loop retries with exponential backoff from ``reconnect_min_s`` doubling
to ``reconnect_max_s``. Both bounds are scaled by a random factor per connection (0.75-1.25)
so that the edges of many stores do not hammer a restarted broker in lock-step.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from edge.clock import Clock, SystemClock
from edge.config.mqtt import MqttConfig
from edge.events.alerts import ComponentState, ComponentStatus
from edge.events.base import ms_to_datetime
from edge.mqtt.errors import MqttSubscribeError, MqttTopicError
from edge.mqtt.topics import status_topic

MessageHandler = Callable[[str, bytes], None]
"""``handler(topic, payload)``; runs on paho's network thread."""

ConnectionListener = Callable[[bool], None]
"""``listener(connected)``; called on paho's network thread after each connect/disconnect."""

STATUS_QOS = 1
STOP_PUBLISH_TIMEOUT_S = 2.0


def worth_logging(count: int) -> bool:
    """For a problem that can repeat thousands of times a second: log the first ten
    occurrences, then every thousandth (the counters keep the exact number)."""
    return count <= 10 or count % 1000 == 0


def _no_delay(_client: paho.Client, _userdata: Any, sock: Any) -> None:
    """Send small messages at once: with Nagle's algorithm on (paho's default), an alert or a
    recommendation waits for the previous packet's ACK, which delayed ACKs hold ~40 ms."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _drop_not_connected_noise(record: logging.LogRecord) -> bool:
    """paho logs "Client is not connected" as an error whenever its loop runs without a socket
    (after a clean stop, between reconnect attempts); our own messages say it better."""
    return not record.getMessage().startswith("Client is not connected")


@dataclass(frozen=True, slots=True)
class MqttCounters:
    published: int
    """Messages accepted by paho (sent, or queued until the reconnect)."""
    dropped: int
    """Messages refused: outgoing queue full, or QoS 0 while disconnected."""
    received: int
    reconnects: int
    """Successful connections after the first one."""
    handler_errors: int
    """Exceptions raised by subscription handlers (logged; the network loop goes on)."""


class MqttConnection:
    """The edge process's one connection to the broker (see the module docstring)."""

    def __init__(
        self,
        config: MqttConfig,
        store_id: str,
        component: str = "edge",
        *,
        client_id: str | None = None,
        logger: logging.Logger | None = None,
        clock: Clock | None = None,
        max_queued_messages: int = 10_000,
        reconnect_min_s: float = 1.0,
        reconnect_max_s: float = 30.0,
    ) -> None:
        self.config = config
        self.store_id = store_id
        self.component = component
        self.status_topic = status_topic(config.topic_prefix, store_id, component)
        self._log = logger or logging.getLogger(__name__)
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._stopping = False
        self._started = False
        self._ever_connected = False
        self._last_error = "no connection attempt yet"
        self._subscriptions: dict[str, tuple[MessageHandler, int]] = {}
        self._subscribed: dict[str, threading.Event] = {}
        self._pending_subscribes: dict[int, str] = {}
        self._listeners: list[ConnectionListener] = []
        self._published = self._dropped = self._received = 0
        self._reconnects = self._handler_errors = 0

        self.client_id = client_id or f"{config.client_id_prefix}-{store_id}-{component}"
        client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=paho.MQTTv311,
            clean_session=True,
        )
        paho_log = self._log.getChild("paho")
        if _drop_not_connected_noise not in paho_log.filters:
            paho_log.addFilter(_drop_not_connected_noise)
        client.enable_logger(paho_log)
        if config.tls:
            client.tls_set(ca_certs=config.ca_file)
        if config.username:
            client.username_pw_set(config.username, config.password)
        # The will carries no time: the broker sends it at a moment this process cannot know.
        client.will_set(
            self.status_topic,
            self._status_json(ComponentState.OFFLINE, with_ts=False),
            qos=STATUS_QOS,
            retain=True,
        )
        client.max_queued_messages_set(max_queued_messages)
        jitter = random.uniform(0.75, 1.25)
        client.reconnect_delay_set(
            min_delay=reconnect_min_s * jitter,  # type: ignore[arg-type]  # floats work
            max_delay=reconnect_max_s * jitter,  # type: ignore[arg-type]
        )
        client.on_connect = self._on_connect
        client.on_socket_open = _no_delay
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        self._client = client

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def broker(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        """Start the network thread and connect in the background (retrying until stop)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        self._log.info("MQTT connecting to %s as %s", self.broker, self.client_id)
        self._client.connect_async(
            self.config.host, self.config.port, keepalive=self.config.keepalive_s
        )
        self._client.loop_start()

    @property
    def last_error(self) -> str:
        """Why the connection is (or last was) down, e.g. "cannot reach the broker"."""
        return self._last_error

    def wait_connected(self, timeout_s: float) -> bool:
        """Block until the broker accepted the connection; False after ``timeout_s``."""
        return self._connected.wait(timeout_s)

    def stop(self) -> None:
        """Publish ``stopped`` (retained), disconnect cleanly, and end the network thread."""
        with self._lock:
            if not self._started or self._stopping:
                return
            self._stopping = True
        if self.connected:
            info = self._client.publish(
                self.status_topic,
                self._status_json(ComponentState.STOPPED),
                qos=STATUS_QOS,
                retain=True,
            )
            try:
                info.wait_for_publish(STOP_PUBLISH_TIMEOUT_S)
            except (RuntimeError, ValueError) as error:
                self._log.warning("MQTT could not publish 'stopped' to %s: %s", self.broker, error)
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()
        self._log.info("MQTT disconnected from %s", self.broker)

    # -- publish / subscribe ---------------------------------------------------------------

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> bool:
        """Send (or queue, see the module docstring); False when the message was dropped."""
        try:
            info = self._client.publish(topic, payload, qos=qos, retain=retain)
        except ValueError as error:
            raise MqttTopicError(f"cannot publish to {topic!r}: {error}") from None
        queued_offline = info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and qos > 0
        if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS or queued_offline:
            with self._lock:
                self._published += 1
            return True
        with self._lock:
            self._dropped += 1
            dropped = self._dropped
        if worth_logging(dropped):
            self._log.warning(
                "MQTT dropped a message to %s (%s; %d dropped so far)",
                topic,
                paho.error_string(info.rc),
                dropped,
            )
        return False

    def subscribe(self, topic_filter: str, handler: MessageHandler, qos: int = 1) -> None:
        """Call ``handler(topic, payload)`` for every message matching ``topic_filter``.

        The subscription is renewed after every reconnect (the session is clean).
        """
        with self._lock:
            if topic_filter in self._subscriptions:
                raise MqttSubscribeError(
                    f"{topic_filter!r} already has a handler on {self.broker}; "
                    "one handler per topic filter"
                )
            self._subscriptions[topic_filter] = (handler, qos)
            self._subscribed[topic_filter] = threading.Event()
            self._client.message_callback_add(topic_filter, self._dispatcher(handler))
            if self.connected:
                self._send_subscribe(topic_filter, qos)

    def wait_subscribed(self, topic_filter: str, timeout_s: float) -> bool:
        """Block until the broker acknowledged the subscription (SUBACK) since the last
        (re)connect; False after ``timeout_s`` or for a filter never subscribed."""
        with self._lock:
            done = self._subscribed.get(topic_filter)
        return done is not None and done.wait(timeout_s)

    def unsubscribe(self, topic_filter: str) -> None:
        """Stop delivering ``topic_filter``; unknown filters are ignored."""
        with self._lock:
            if self._subscriptions.pop(topic_filter, None) is None:
                return
            del self._subscribed[topic_filter]
            self._client.message_callback_remove(topic_filter)
            if self.connected:
                self._client.unsubscribe(topic_filter)

    def add_connection_listener(self, listener: ConnectionListener) -> None:
        """Tell ``listener(connected)`` about every connect and disconnect from now on."""
        with self._lock:
            self._listeners.append(listener)

    def remove_connection_listener(self, listener: ConnectionListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def counters(self) -> MqttCounters:
        with self._lock:
            return MqttCounters(
                published=self._published,
                dropped=self._dropped,
                received=self._received,
                reconnects=self._reconnects,
                handler_errors=self._handler_errors,
            )

    # -- paho callbacks (network thread) ----------------------------------------------------

    def _status_json(self, state: ComponentState, *, with_ts: bool = True) -> str:
        ts = ms_to_datetime(self._clock.now_ms()) if with_ts else None
        return ComponentStatus(component=self.component, state=state, ts=ts).model_dump_json()

    def _send_subscribe(self, topic_filter: str, qos: int) -> None:
        """Call with ``self._lock`` held, so the SUBACK cannot be handled before ``mid`` is
        recorded."""
        rc, mid = self._client.subscribe(topic_filter, qos=qos)
        if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and mid is not None:
            self._pending_subscribes[mid] = topic_filter

    def _on_subscribe(
        self,
        _client: paho.Client,
        _userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        _properties: Any,
    ) -> None:
        with self._lock:
            topic_filter = self._pending_subscribes.pop(mid, None)
            done = self._subscribed.get(topic_filter) if topic_filter is not None else None
        if done is None:
            return
        refused = [code for code in reason_codes if code.is_failure]
        if refused:
            self._log.error(
                "MQTT %s refused the subscription to %r: %s", self.broker, topic_filter, refused[0]
            )
        else:
            done.set()

    def _dispatcher(self, handler: MessageHandler) -> Callable[[paho.Client, Any, Any], None]:
        def dispatch(_client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
            with self._lock:
                self._received += 1
            try:
                handler(message.topic, bytes(message.payload))
            except Exception:
                # An exception escaping here would end paho's network thread.
                with self._lock:
                    self._handler_errors += 1
                    failures = self._handler_errors
                if worth_logging(failures):
                    self._log.exception(
                        "MQTT handler for %s failed (%d failures so far)", message.topic, failures
                    )

        return dispatch

    def _on_connect(
        self,
        client: paho.Client,
        _userdata: Any,
        _flags: Any,
        reason_code: ReasonCode,
        _properties: Any,
    ) -> None:
        if reason_code.is_failure:
            self._last_error = f"broker refused the connection: {reason_code}"
            self._log.error("MQTT %s refused the connection: %s", self.broker, reason_code)
            return
        with self._lock:
            if self._ever_connected:
                self._reconnects += 1
            self._ever_connected = True
            self._last_error = "connected"
            for topic_filter, (_handler, qos) in self._subscriptions.items():
                self._send_subscribe(topic_filter, qos)
            listeners = list(self._listeners)
        client.publish(
            self.status_topic, self._status_json(ComponentState.ONLINE), qos=STATUS_QOS, retain=True
        )
        self._connected.set()
        self._log.info("MQTT connected to %s", self.broker)
        self._notify(listeners, True)

    def _on_connect_fail(self, _client: paho.Client, _userdata: Any) -> None:
        self._last_error = "cannot reach the broker"
        self._log.warning("MQTT cannot reach %s; retrying with backoff", self.broker)

    def _on_disconnect(
        self,
        _client: paho.Client,
        _userdata: Any,
        _flags: Any,
        reason_code: ReasonCode,
        _properties: Any,
    ) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        with self._lock:
            self._pending_subscribes.clear()
            for done in self._subscribed.values():
                done.clear()
        if self._stopping or not was_connected:
            return  # a refused or failed attempt: _on_connect(_fail) said why
        self._last_error = f"connection lost: {reason_code}"
        self._log.warning("MQTT lost %s (%s); reconnecting", self.broker, reason_code)
        with self._lock:
            listeners = list(self._listeners)
        self._notify(listeners, False)

    def _notify(self, listeners: list[ConnectionListener], connected: bool) -> None:
        for listener in listeners:
            try:
                listener(connected)
            except Exception:
                self._log.exception("MQTT connection listener failed")
