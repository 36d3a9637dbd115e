"""Peers for the LLRP driver that no one here wrote: llrpkit's reader emulator (MIT), run as
its CLI ``llrpkit emulate`` on 127.0.0.1 as it is, and ``BlackHoleShim``, a TCP relay that can
make a live reader fall silent (what the emulator cannot do: a hung reader, a cable cut behind
a switch)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

LLRPKIT = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "llrpkit"
EMULATED_EPC_PREFIX = "E2000017010B01621000"
"""llrpkit's default tag population: E2 00 00 17 01 0B 01 62 10 00 then the tag number."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Emulator:
    """``llrpkit emulate`` in a child process; restartable on the same port."""

    def __init__(self, tags: int = 12, antennas: int = 4, rate: float = 200.0) -> None:
        self.port = _free_port()
        self._args = [
            str(LLRPKIT) if LLRPKIT.exists() else "llrpkit",
            "emulate",
            "--port", str(self.port),
            "--tags", str(tags),
            "--antennas", str(antennas),
            "--rate", str(rate),
        ]  # fmt: skip
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            self._args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        assert b"emulated" in line, line

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(5)
            self._process = None


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator()
    emu.start()
    try:
        yield emu
    finally:
        emu.kill()


class BlackHoleShim:
    """A TCP relay between the driver and the emulator; ``freeze()`` makes it swallow all the
    reader sends, on every connection, until ``thaw()``: a reader that stops answering."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream = ("127.0.0.1", upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.frozen = threading.Event()
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._upstream, timeout=2)
            except OSError:
                client.close()
                continue
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_reader: bool) -> None:
        try:
            while data := source.recv(65536):
                if not (from_reader and self.frozen.is_set()):
                    sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()
