"""Shared fixtures: the real Mosquitto broker, the real PostgreSQL, the shared face photographs,
and a way to run the command line exactly as a user would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
MQTT_HOST = os.environ.get("O2O_TEST_MQTT_HOST", "127.0.0.1")
MQTT_PORT = int(os.environ.get("O2O_TEST_MQTT_PORT", "1883"))
DATABASE_URL = os.environ.get(
    "O2O_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ARTIFACTS = REPO_ROOT / "test-artifacts"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def face_data_dir() -> Path | None:
    """The shared face photographs: $O2O_FACE_DATA or ../shared/data/faces beside the repo."""
    configured = os.environ.get("O2O_FACE_DATA")
    candidate = Path(configured) if configured else REPO_ROOT.parent / "shared" / "data" / "faces"
    return candidate if (candidate / "INDEX.csv").is_file() else None


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    found = face_data_dir()
    if found is None:
        pytest.skip(
            "face photographs not found: put the shared data set in ../shared/data/faces "
            "(beside the repository) or name its folder in O2O_FACE_DATA"
        )
    return found


@pytest.fixture(scope="session")
def mqtt_broker() -> tuple[str, int]:
    if not _port_open(MQTT_HOST, MQTT_PORT):
        pytest.fail(
            f"no MQTT broker at {MQTT_HOST}:{MQTT_PORT}; start it with "
            "`mosquitto -d -c /etc/mosquitto/mosquitto.conf` (scripts/test.sh does)"
        )
    return MQTT_HOST, MQTT_PORT


@pytest.fixture(scope="session")
def database_url() -> str:
    if not _port_open("127.0.0.1", 5432):
        pytest.fail("no PostgreSQL at 127.0.0.1:5432; scripts/test.sh starts it")
    return DATABASE_URL


@pytest.fixture
def store_id() -> str:
    """A store id no other test uses, so topics on the shared broker never cross."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_cli(
    *args: str, timeout: float = 300, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run ``o2o-edge ARGS`` in a child process, as a user would."""
    result = subprocess.run(
        [sys.executable, "-m", "edge.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(),
        cwd=REPO_ROOT,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"o2o-edge {' '.join(args)} exited {result.returncode}\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


@pytest.fixture
def tmp_data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    path.mkdir()
    yield path


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The number of generated requests and messages the contract and fuzz tests tried."""
    from tests.contract_counts import TRIED

    if TRIED:
        tried = ", ".join(f"{n} {what}" for what, n in sorted(TRIED.items()))
        terminalreporter.write_line(f"generated inputs tried: {tried}")
