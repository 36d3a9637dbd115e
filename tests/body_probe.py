"""Sends oversized request bodies to a real server over a raw socket and watches its memory.

A raw socket, because the point is what the server does while a client is still sending:
an HTTP client library would buffer, retry or hide an early answer."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import psutil

CHUNK = 256 * 1024


def rss_bytes(pid: int) -> int:
    """Resident memory of the server: the process and its children (uvicorn workers)."""
    process = psutil.Process(pid)
    total: int = process.memory_info().rss
    for child in process.children(recursive=True):
        total += child.memory_info().rss
    return total


def _connect(base_url: str) -> socket.socket:
    parts = urlsplit(base_url)
    return socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=30)


def _read_status(sock: socket.socket) -> int:
    data = b""
    sock.settimeout(30)
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    status_line = data.split(b"\r\n", 1)[0].decode()
    return int(status_line.split()[1])


def send_chunked(
    base_url: str,
    path: str,
    total_bytes: int,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> tuple[int, int]:
    """Streams ``total_bytes`` as a chunked body until the server answers; returns the status
    and how many bytes were sent before the answer came."""

    def chunks() -> Iterator[bytes]:
        block = b"x" * CHUNK
        for _ in range(total_bytes // CHUNK):
            yield block

    host = urlsplit(base_url).netloc
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    sent = 0
    with _connect(base_url) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
            f"{extra}Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        for block in chunks():
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(f"{len(block):x}\r\n".encode() + block + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(block)
        else:
            sock.sendall(b"0\r\n\r\n")
        return _read_status(sock), sent


def send_declared(
    base_url: str, path: str, content_length: int, headers: dict[str, str] | None = None
) -> tuple[int, float]:
    """Declares a huge Content-Length, sends no body, and returns the status and how long the
    answer took: a server that waits for the body before answering times out here."""
    host = urlsplit(base_url).netloc
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    with _connect(base_url) as sock:
        started = time.monotonic()
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"{extra}Content-Length: {content_length}\r\n\r\n".encode()
        )
        status = _read_status(sock)
        return status, time.monotonic() - started
