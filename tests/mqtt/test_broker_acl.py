"""An authenticated store broker: a private Mosquitto with a password file and the ACL that
``o2o-edge broker-acl`` writes from STORE.yaml (two stores on one broker). Anonymous clients
and wrong passwords are refused; a till cannot write another store's sales and a reader
cannot write sales at all; the real edge, with its own credentials, records the sale its own
till publishes and nothing the others try."""

from __future__ import annotations

import json
import queue
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest

from edge.app.compose import EdgeOptions
from edge.clock import VirtualClock
from edge.config.mqtt import MqttConfig
from edge.config.readers import ZebraMqttReader
from edge.config.store import StoreConfig
from edge.mqtt.acl import broker_users
from edge.mqtt.topics import event_topic, pos_sales_topic
from tests.conftest import run_cli
from tests.edge_harness import running_edge
from tests.fusion.fusion_store import SWEATER_NAVY_M, T0, epc, store_config

pytestmark = pytest.mark.network
MOSQUITTO = Path("/usr/sbin/mosquitto")
PASSWD = Path("/usr/bin/mosquitto_passwd")
QUIET_S = 1.5


def password(user: str) -> str:
    return f"pw-{user}"


@dataclass(frozen=True)
class Broker:
    port: int
    stores: dict[str, StoreConfig]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def store(store_id: str, tmp: Path) -> StoreConfig:
    config = store_config(store_id, cameras=[], data_dir=str(tmp / store_id))
    room = ZebraMqttReader(
        id="room-reader",
        kind="zebra_mqtt",
        topic=f"zebra/{store_id}/data",
        antennas={1: "fitting-1"},
    )
    return config.model_copy(update={"readers": [room]})


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if not MOSQUITTO.exists() or not PASSWD.exists():
        pytest.skip(
            "mosquitto and mosquitto_passwd are needed (scripts/bootstrap.sh installs them)"
        )
    tmp = tmp_path_factory.mktemp("broker")
    stores = {s: store(s, tmp) for s in ("acl-a", "acl-b")}
    acl = ""
    for store_id, config in stores.items():
        path = tmp / f"{store_id}.yaml"
        path.write_text(json.dumps(json.loads(config.model_dump_json())), encoding="utf-8")
        # The ACL exactly as the command writes it from the store's file.
        acl += run_cli("broker-acl", "--config", str(path), "--tills", "2", check=True).stdout
    (tmp / "acl").write_text(acl, encoding="utf-8")
    passwd = tmp / "passwd"
    users = [u.name for config in stores.values() for u in broker_users(config, 2)]
    for number, user in enumerate(users):
        create = ["-c"] if number == 0 else []
        subprocess.run([str(PASSWD), *create, "-b", str(passwd), user, password(user)], check=True)
    port = free_port()
    (tmp / "mosquitto.conf").write_text(
        "\n".join(
            [
                "per_listener_settings false",
                "allow_anonymous false",
                f"password_file {passwd}",
                f"acl_file {tmp / 'acl'}",
                "persistence false",
                "user root",  # the files live in a private temporary folder
                f"listener {port} 127.0.0.1",
                "",
            ]
        ),
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [str(MOSQUITTO), "-c", str(tmp / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        raise RuntimeError(
            f"mosquitto did not start: {process.stderr.read() if process.stderr else ''}"
        )
    yield Broker(port, stores)
    process.terminate()
    process.wait(5)


class Client:
    """A paho client; ``refused`` holds the CONNACK reason when the broker said no."""

    def __init__(self, port: int, user: str | None, secret: str | None = None) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.connected = queue.Queue[Any]()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        if user is not None:
            self.client.username_pw_set(user, secret if secret is not None else password(user))
        self.client.on_connect = lambda _c, _u, _f, reason, _p: self.connected.put(reason)
        self.client.on_message = lambda _c, _u, m: self.messages.put((m.topic, m.payload))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.reason = self.connected.get(timeout=10)

    @property
    def ok(self) -> bool:
        return not self.reason.is_failure

    def subscribe(self, topic: str) -> None:
        done = queue.Queue[Any]()
        self.client.on_subscribe = lambda *args: done.put(args)
        self.client.subscribe(topic, qos=1)
        done.get(timeout=10)

    def publish(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def got(self, within_s: float = QUIET_S) -> list[tuple[str, bytes]]:
        deadline = time.monotonic() + within_s
        out = []
        while time.monotonic() < deadline:
            try:
                out.append(self.messages.get(timeout=0.05))
            except queue.Empty:
                continue
        return out

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def sale(sale_id: str) -> str:
    line = {"epc": epc(SWEATER_NAVY_M, 7), "amount": 89.0}
    return json.dumps({"sale_id": sale_id, "till_id": "till-1", "total": 89.0, "lines": [line]})


def test_anonymous_and_wrong_passwords_are_refused(broker: Broker) -> None:
    anonymous = Client(broker.port, None)
    wrong = Client(broker.port, "till-acl-a-1", "guess")
    unknown = Client(broker.port, "intruder", "pw-intruder")
    try:
        assert [c.ok for c in (anonymous, wrong, unknown)] == [False, False, False]
        assert str(anonymous.reason) == "Not authorized"
    finally:
        for client in (anonymous, wrong, unknown):
            client.close()


def test_tills_and_readers_write_only_their_own_topics(broker: Broker) -> None:
    pos_a, pos_b = (pos_sales_topic("o2o", s) for s in ("acl-a", "acl-b"))
    edge_a, edge_b = Client(broker.port, "edge-acl-a"), Client(broker.port, "edge-acl-b")
    till_a = Client(broker.port, "till-acl-a-1")
    reader_a = Client(broker.port, "reader-acl-a-room-reader")
    staff_a = Client(broker.port, "staff-acl-a")
    try:
        edge_a.subscribe(pos_a)
        edge_b.subscribe(pos_b)
        edge_a.subscribe("zebra/acl-a/data")
        # Another store's sales, a reader writing sales, staff writing sales: all dropped.
        till_a.publish(pos_b, sale("forged-at-b"))
        reader_a.publish(pos_a, sale("from-a-reader"))
        staff_a.publish(pos_a, sale("from-staff"))
        # The edge of store B cannot even read store A's till topic.
        edge_b.subscribe(pos_a)
        assert edge_b.got() == []
        assert edge_a.got(0.2) == []
        # Each writes what it is for.
        till_a.publish(pos_a, sale("real"))
        reader_a.publish("zebra/acl-a/data", "{}")
        got = edge_a.got()
        assert sorted(topic for topic, _ in got) == [pos_a, "zebra/acl-a/data"]
        assert json.loads(dict(got)[pos_a])["sale_id"] == "real"
        assert edge_b.got(0.2) == []
    finally:
        for client in (edge_a, edge_b, till_a, reader_a, staff_a):
            client.close()


def test_the_edge_with_credentials_records_only_its_own_tills_sales(
    broker: Broker, tmp_path: Path
) -> None:
    config = broker.stores["acl-a"]
    mqtt = MqttConfig(
        host="127.0.0.1", port=broker.port, username="edge-acl-a", password=password("edge-acl-a")
    )
    config = config.model_copy(update={"mqtt": mqtt, "data_dir": tmp_path})
    clock = VirtualClock(T0)
    options = EdgeOptions(clock=clock, wall_clock=clock, sync=False)
    watcher = Client(broker.port, "edge-acl-a")
    watcher.subscribe(event_topic("o2o", "acl-a", "sale"))
    till, other_till = Client(broker.port, "till-acl-a-2"), Client(broker.port, "till-acl-b-1")
    try:
        with running_edge(config, options) as edge:
            assert edge.runtime.store_inputs.wait_subscribed(10)
            other_till.publish(pos_sales_topic("o2o", "acl-a"), sale("forged"))
            till.publish(pos_sales_topic("o2o", "acl-a"), sale("paid"))
            recorded = [json.loads(payload)["payload"]["sale_id"] for _, payload in watcher.got(3)]
            assert recorded == ["paid"]
            assert edge.owner.call(lambda core: core.fusion.stats.sales_recorded) == 1
    finally:
        for client in (watcher, till, other_till):
            client.close()
