"""The topic contract (docs/mqtt.md)."""

from __future__ import annotations

import pytest

from edge.mqtt.errors import MqttTopicError
from edge.mqtt.topics import (
    alert_ack_topic,
    alert_topic,
    event_topic,
    pos_sales_topic,
    status_topic,
    tablet_topic,
)


def test_topics() -> None:
    assert event_topic("o2o", "store-042", "tag.departed") == "o2o/store-042/events/tag.departed"
    assert alert_topic("o2o", "store-042", "exit_unsold") == "o2o/store-042/alerts/exit_unsold"
    assert alert_ack_topic("o2o", "store-042") == "o2o/store-042/alerts/ack"
    assert status_topic("o2o", "store-042", "edge") == "o2o/store-042/status/edge"
    assert (
        tablet_topic("o2o", "store-042", "fitting-1", "recommendations")
        == "o2o/store-042/tablets/fitting-1/recommendations"
    )
    assert pos_sales_topic("o2o", "store-042") == "o2o/store-042/pos/sales"


def test_prefix_may_have_levels() -> None:
    assert status_topic("acme/o2o", "s1", "edge") == "acme/o2o/s1/status/edge"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: event_topic("o2o", "s1/x", "tag.moved"), "store id 's1/x' must not contain '/'"),
        (lambda: event_topic("o2o", "s1", "tag.#"), "event type 'tag.#' must not contain '#'"),
        (lambda: status_topic("o2o", "+", "edge"), "store id '+' must not contain '+'"),
        (lambda: status_topic("o2o", "s1", ""), "component must not be empty"),
        (lambda: tablet_topic("o2o", "s1", "a/b", "x"), "zone 'a/b' must not contain '/'"),
        (lambda: event_topic("o2o/", "s1", "x"), "prefix 'o2o/' level must not be empty"),
        (lambda: alert_topic("o2o", "s1", "ack"), "alert kind 'ack' is reserved"),
    ],
    ids=["slash", "hash", "plus", "empty", "zone", "prefix", "ack"],
)
def test_bad_segments_are_refused(call: object, message: str) -> None:
    with pytest.raises(MqttTopicError, match=message.replace("+", r"\+")):
        call()  # type: ignore[operator]
