"""What the store takes from MQTT: staff acknowledgements and sales from the tills.

- ``o2o/{store}/alerts/ack``: ``{"alert_id": "...", "staff_id": "..."}``, timed on receipt;
  for an exit alarm, ``"outcome"`` (recovered, false_alarm, lost) also closes it.
- ``o2o/{store}/pos/sales``: a :class:`~edge.fusion.sales.SaleSubmission`, the same JSON as
  ``POST /api/v1/sales``, handed to the same ``submit_sale`` as the HTTP route.

A malformed message is counted by reason, logged with what is wrong and dropped; the next one
is processed as usual. Handlers run on paho's network thread and hand their input to the
store (:class:`~edge.service.store.StoreService`, through the composition root), waiting for
its answer (a few milliseconds): a refused sale (conflict) or an acknowledgement of an unknown
alert must be counted here, there being no reply channel to the till or the handheld.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge.clock import Clock
from edge.events import limits
from edge.events.alerts import GateOutcome
from edge.events.fusion import SalePayload
from edge.fusion.sales import SaleResult, SaleStatus, SaleSubmission, validation_problems
from edge.mqtt.client import MqttConnection, worth_logging
from edge.mqtt.topics import alert_ack_topic, pos_sales_topic

SubmitAck = Callable[[str, str, int], bool]
"""``submit_ack(alert_id, staff_id, ts_ms)``: False when no such alert is known."""

SubmitSale = Callable[[SalePayload], SaleResult]

SubmitOutcome = Callable[[str, GateOutcome, str, int], bool]
"""``submit_outcome(alarm_id, outcome, staff_id, ts_ms)``: closes an exit alarm; False when
it is not open."""


class AckMessage(BaseModel):
    """An acknowledgement from a handheld."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alert_id: str = Field(min_length=1, max_length=100)
    staff_id: limits.Text = Field(min_length=1, max_length=limits.STAFF_ID_MAX)
    outcome: GateOutcome | None = Field(
        default=None, description="Exit alarms: also close it with this outcome"
    )


class StoreMqttInputs:
    def __init__(
        self,
        connection: MqttConnection,
        prefix: str,
        store_id: str,
        *,
        clock: Clock,
        submit_ack: SubmitAck,
        submit_sale: SubmitSale,
        submit_outcome: SubmitOutcome | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self._submit_outcome = submit_outcome
        self.ack_topic = alert_ack_topic(prefix, store_id)
        self.sales_topic = pos_sales_topic(prefix, store_id)
        self.rejected: Counter[str] = Counter()
        """Dropped messages by reason: ``ack_invalid``, ``ack_unknown_alert``,
        ``ack_unknown_alarm`` (an outcome for no open exit alarm), ``sale_invalid``,
        ``sale_conflict``."""
        self.accepted: Counter[str] = Counter()
        self._connection = connection
        self._clock = clock
        self._submit_ack = submit_ack
        self._submit_sale = submit_sale
        self._log = logger or logging.getLogger(__name__)

    @property
    def handled(self) -> int:
        """Messages taken so far, accepted or rejected (the replayer waits on it)."""
        return sum(self.accepted.values()) + sum(self.rejected.values())

    def start(self) -> None:
        self._connection.subscribe(self.ack_topic, self._on_ack)
        self._connection.subscribe(self.sales_topic, self._on_sale)

    def wait_subscribed(self, timeout_s: float) -> bool:
        return all(
            self._connection.wait_subscribed(topic, timeout_s)
            for topic in (self.ack_topic, self.sales_topic)
        )

    def stop(self) -> None:
        self._connection.unsubscribe(self.ack_topic)
        self._connection.unsubscribe(self.sales_topic)

    def _on_ack(self, topic: str, payload: bytes) -> None:
        try:
            ack = AckMessage.model_validate_json(payload)
        except ValidationError as error:
            self._reject("ack_invalid", _invalid(topic, error))
            return
        now_ms = self._clock.now_ms()
        if not self._submit_ack(ack.alert_id, ack.staff_id, now_ms):
            self._reject("ack_unknown_alert", f"{topic}: no alert {ack.alert_id!r}")
            return
        self.accepted["ack"] += 1
        close = self._submit_outcome
        if (
            ack.outcome is not None
            and close is not None
            and not close(ack.alert_id, ack.outcome, ack.staff_id, now_ms)
        ):
            self._reject("ack_unknown_alarm", f"{topic}: no open exit alarm {ack.alert_id!r}")

    def _on_sale(self, topic: str, payload: bytes) -> None:
        try:
            sale = SaleSubmission.model_validate_json(payload)
        except ValidationError as error:
            self._reject("sale_invalid", _invalid(topic, error))
            return
        result = self._submit_sale(sale.to_payload())
        if result.status is SaleStatus.CONFLICT:
            self._reject("sale_conflict", f"{topic}: {result.message}")
            return
        self.accepted[f"sale_{result.status.value}"] += 1

    def _reject(self, reason: str, message: str) -> None:
        self.rejected[reason] += 1
        count = self.rejected[reason]
        if worth_logging(count):
            self._log.warning("%s; message dropped (%s: %d so far)", message, reason, count)


def _invalid(topic: str, error: ValidationError) -> str:
    return f"{topic}: invalid message: {'; '.join(validation_problems(error))}"
