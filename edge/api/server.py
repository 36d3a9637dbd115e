"""Serve the API from inside the edge process: uvicorn in a thread, stopped gracefully.

``serve_api(app, host, port)`` returns once the server listens (port 0 picks a free port; the
handle's ``port`` says which). ``stop()`` stops accepting, closes WebSockets with 1012 ("service
restart", so pages reconnect) and waits for requests in flight, up to a few seconds.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn
from fastapi import FastAPI

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0
GRACEFUL_S = 3


class ApiServerError(RuntimeError):
    """The server did not start (port taken, bad address)."""


class ApiServer:
    def __init__(self, server: uvicorn.Server, thread: threading.Thread, port: int) -> None:
        self._server = server
        self._thread = thread
        self.port = port

    @property
    def host(self) -> str:
        return self._server.config.host

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = GRACEFUL_S + 5) -> None:
        self._server.should_exit = True
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(5)


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a taken port is an error for the caller."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ApiServerError(
            f"the API server cannot listen on {host}:{port}: {error.strerror}"
        ) from None
    sock.listen(128)
    return sock


def serve_api(app: FastAPI, host: str, port: int) -> ApiServer:
    sock = _listen(host, port)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        ws="websockets-sansio",
        timeout_graceful_shutdown=GRACEFUL_S,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="api-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise ApiServerError(f"the API server did not start on {host}:{port}")
        time.sleep(0.01)
    handle = ApiServer(server, thread, int(sock.getsockname()[1]))
    log.info("API listening on %s", handle.url)
    return handle
