"""The edge for integration tests, built by the composition root exactly as ``o2o-edge run``
builds it (:func:`edge.app.compose.build_edge`), on a private copy of a store configuration:
serial readers on idle pseudo-terminals (a port that answers nothing), MQTT reader topics under
a prefix of their own (tests share one broker)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from edge.app.compose import Edge, EdgeOptions, build_edge
from edge.config.readers import ImpinjMqttReader, R2000SerialReader, ZebraMqttReader
from edge.config.store import StoreConfig
from edge.replay.replayer import PseudoTerminal

IdleSerialPort = PseudoTerminal
"""A reader that never answers: the test writes the bytes it wants the driver to read."""


@dataclass
class PrivateStore:
    config: StoreConfig
    serial_ports: dict[str, IdleSerialPort]
    """Reader id -> the pseudo-terminal its driver reads (write reader bytes to it)."""


@contextmanager
def private_store(config: StoreConfig, topic_prefix: str) -> Iterator[PrivateStore]:
    """``config`` with idle serial ports and MQTT reader topics under ``topic_prefix``."""
    ports: dict[str, IdleSerialPort] = {}
    readers = []
    for reader in config.readers:
        if isinstance(reader, R2000SerialReader):
            port = ports[reader.id] = IdleSerialPort()
            reader = reader.model_copy(update={"port": port.path})
        elif isinstance(reader, ZebraMqttReader | ImpinjMqttReader):
            reader = reader.model_copy(update={"topic": f"{topic_prefix}/{reader.topic}"})
        readers.append(reader)
    try:
        yield PrivateStore(config.model_copy(update={"readers": readers}), ports)
    finally:
        for port in ports.values():
            port.close()


@contextmanager
def running_edge(config: StoreConfig, options: EdgeOptions | None = None) -> Iterator[Edge]:
    """The edge built and started (not served); stopped on exit."""
    edge = build_edge(config, options)
    edge.start()
    try:
        yield edge
    finally:
        edge.stop()
