"""serve_api: a real uvicorn in a thread, on a free port, stopped gracefully and restartable."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from edge.api.server import ApiServerError, serve_api
from edge.app.compose import build_edge
from edge.config.api import ApiConfig
from tests.api.harness import demo_config


def test_serve_stop_and_serve_again_on_the_same_port(tmp_path: Path) -> None:
    app = build_edge(demo_config("srvtest", tmp_path)).http  # served only, never started
    server = serve_api(app, "127.0.0.1", 0)
    port = server.port
    assert httpx.get(f"{server.url}/staff").status_code == 200
    server.stop()
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/staff")
    again = serve_api(app, "127.0.0.1", port)
    try:
        assert httpx.get(f"{again.url}/").status_code == 200
    finally:
        again.stop()


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    app = build_edge(demo_config("srvtest", tmp_path)).http  # served only, never started
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(ApiServerError, match=r"cannot listen on 127\.0\.0\.1"):
            serve_api(app, "127.0.0.1", taken.getsockname()[1])


def test_api_configuration_defaults_and_bounds() -> None:
    config = ApiConfig()
    assert (config.enabled, config.host, config.port) == (True, "0.0.0.0", 8080)
    with pytest.raises(ValueError, match="less than or equal to 65535"):
        ApiConfig(port=70000)
