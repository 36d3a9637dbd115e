"""The store broker's users and access control list, from STORE.yaml (docs/operations.md,
"An authenticated broker").

Mosquitto in production refuses anonymous clients and gives each client the least it needs:

- ``edge-{store}``: the edge, everything under ``{prefix}/{store}/`` and the readers' topics;
- ``till-{store}-{n}``: a till, publish to its own store's POS topic only;
- ``reader-{store}-{id}``: an MQTT reader, publish to its own configured topics only;
- ``staff-{store}``: staff handhelds, read the alerts, gate and status topics, publish acks;
- ``tablet-{store}``: fitting-room tablets that follow the recommendation topics.

So a till cannot write another store's sales, a reader cannot write sales, and nobody on the
store network can publish without a password. The file is Mosquitto's ``acl_file`` format;
passwords go into its ``password_file`` with ``mosquitto_passwd``.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.config.readers import ImpinjMqttReader, ZebraMqttReader
from edge.config.store import StoreConfig
from edge.mqtt.topics import alert_ack_topic, pos_sales_topic, status_topic


@dataclass(frozen=True, slots=True)
class BrokerUser:
    name: str
    role: str
    rules: tuple[tuple[str, str], ...]
    """(access, topic) pairs: access is ``read``, ``write`` or ``readwrite``."""


def broker_users(config: StoreConfig, tills: int = 1) -> list[BrokerUser]:
    prefix, store = config.mqtt.topic_prefix, config.store_id
    # "{prefix}/{store}" as the topic functions spell it.
    root = status_topic(prefix, store, "edge").rsplit("/", 2)[0]
    reader_topics = [
        (reader.id, topic)
        for reader in config.readers
        if isinstance(reader, ZebraMqttReader | ImpinjMqttReader)
        for topic in reader.topics()
    ]
    edge_rules = [("readwrite", f"{root}/#")]
    edge_rules += [("read", topic) for _reader, topic in reader_topics]
    users = [BrokerUser(f"edge-{store}", "the edge", tuple(edge_rules))]
    for reader in config.readers:
        if isinstance(reader, ZebraMqttReader | ImpinjMqttReader):
            rules = tuple(("write", topic) for topic in reader.topics())
            users.append(BrokerUser(f"reader-{store}-{reader.id}", f"reader {reader.id}", rules))
    pos = pos_sales_topic(prefix, store)
    users += [
        BrokerUser(f"till-{store}-{n}", f"till {n}", (("write", pos),)) for n in range(1, tills + 1)
    ]
    staff = (
        ("read", f"{root}/alerts/#"),
        ("write", alert_ack_topic(prefix, store)),
        ("read", f"{root}/gate/#"),
        ("read", f"{root}/status/#"),
    )
    users.append(BrokerUser(f"staff-{store}", "staff handhelds", staff))
    tablets = (("read", f"{root}/tablets/#"),)
    users.append(BrokerUser(f"tablet-{store}", "fitting-room tablets", tablets))
    return users


def acl_text(config: StoreConfig, tills: int = 1, source: str = "STORE.yaml") -> str:
    lines = [
        f"# Mosquitto acl_file for store {config.store_id}, from {source}",
        "# (o2o-edge broker-acl; docs/operations.md, 'An authenticated broker').",
        "# Anonymous clients are refused (allow_anonymous false); each user below has a",
        "# password in the password_file (mosquitto_passwd).",
        "",
    ]
    for user in broker_users(config, tills):
        lines.append(f"# {user.role}")
        lines.append(f"user {user.name}")
        lines += [f"topic {access} {topic}" for access, topic in user.rules]
        lines.append("")
    return "\n".join(lines)
