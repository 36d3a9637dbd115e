"""A local HTTP server that plays the R700's event stream (``GET /api/v1/data/stream``).

Each connection is served the next scripted :class:`Session`: an HTTP status, body pieces
sent as they come (chunked transfer encoding, as a streaming server sends them, or a body
delimited by the connection's end), and an ending: a clean end, a cut (the socket closed in
the middle of the body, no final chunk), or a hang (nothing more until the server stops).
Requests must carry the expected basic-auth header, else the answer is 401. Raw sockets, so
that every byte and every cut is exactly where the test puts it.
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

STREAM_PATH = "/api/v1/data/stream"


@dataclass
class Session:
    pieces: list[bytes] = field(default_factory=list)
    ending: Literal["end", "cut", "hang"] = "end"
    status: int = 200
    framing: Literal["chunked", "close"] = "chunked"
    pause_s: float = 0.0
    """Between pieces, so that the client reads them as separate chunks."""


class NdjsonServer:
    def __init__(self, sessions: list[Session], username: str, password: str) -> None:
        self.sessions = list(sessions)
        self._auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self.requests: list[tuple[str, str | None]] = []
        """(request line, Authorization header) of every connection."""
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._stop.set()
        self._accepter.join(5)
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def __enter__(self) -> NdjsonServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            session = self.sessions.pop(0) if self.sessions else Session(ending="hang")
            thread = threading.Thread(target=self._serve, args=(conn, session), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket, session: Session) -> None:
        with conn:
            head = self._read_head(conn)
            if head is None:
                return
            request_line, authorization = head
            self.requests.append((request_line, authorization))
            if authorization != self._auth:
                conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
                return
            if not request_line.startswith(f"GET {STREAM_PATH} "):
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                return
            if session.status != 200:
                reason = b"Internal Server Error" if session.status == 500 else b"Error"
                conn.sendall(
                    b"HTTP/1.1 %d %s\r\nContent-Length: 0\r\n\r\n" % (session.status, reason)
                )
                return
            framing = (
                b"Transfer-Encoding: chunked\r\n"
                if session.framing == "chunked"
                else b"Connection: close\r\n"
            )
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + framing + b"\r\n"
            )
            for piece in session.pieces:
                if session.framing == "chunked":
                    conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    conn.sendall(piece)
                if session.pause_s:
                    time.sleep(session.pause_s)
            if session.ending == "hang":
                self._stop.wait()
            elif session.ending == "end" and session.framing == "chunked":
                conn.sendall(b"0\r\n\r\n")
            # "cut", and the end of a close-delimited body: the socket just closes.

    def _read_head(self, conn: socket.socket) -> tuple[str, str | None] | None:
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            try:
                more = conn.recv(4096)
            except OSError:
                return None
            if not more:
                return None
            data += more
        lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return lines[0], headers.get("authorization")
