"""The systemd units in scripts/systemd: systemd accepts them, they carry the restart policy,
state, secrets and hardening the operations guide promises, and their command lines are ones
``o2o-edge`` and ``o2o-hq`` accept."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from cloud_sync.hq.cli import build_parser as hq_parser
from edge.cli import build_parser as edge_parser

UNITS = Path(__file__).resolve().parents[2] / "scripts" / "systemd"
VENV_BIN = "/opt/o2o/venv/bin/"
BACKOFF_KEYS = ("RestartSteps", "RestartMaxDelaySec")
"""systemd 254 added these; older versions warn that they are unknown and ignore them."""


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> every value (systemd keys may repeat, so no configparser)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in (UNITS / name).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if match := re.fullmatch(r"\[(\w+)\]", line):
            current = sections.setdefault(match.group(1), {})
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{name}: not a key=value line: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(section: dict[str, list[str]], key: str) -> str:
    values = section[key]
    assert len(values) == 1, f"{key} is set {len(values)} times"
    return values[0]


def command(line: str, program: str) -> list[str]:
    words = shlex.split(line)
    assert words[0] == VENV_BIN + program
    return words[1:]


def check_common(service: dict[str, list[str]], user: str, state: str, env_file: str) -> None:
    assert one(service, "Restart") == "always"
    assert float(one(service, "RestartSec")) > 0
    assert one(service, "RestartMaxDelaySec") == "60"
    assert one(service, "User") == user
    assert one(service, "StateDirectory") == state
    assert one(service, "WorkingDirectory") == f"/var/lib/{state}"
    assert one(service, "EnvironmentFile") == env_file
    for key, value in {
        "ProtectSystem": "strict",
        "ProtectHome": "true",
        "PrivateTmp": "true",
        "NoNewPrivileges": "true",
        "CapabilityBoundingSet": "",
    }.items():
        assert one(service, key) == value, key


def test_edge_unit() -> None:
    edge = unit("o2o-edge.service")
    assert one(edge["Unit"], "StartLimitIntervalSec") == "0"
    service = edge["Service"]
    check_common(service, "o2o", "o2o-edge", "/etc/o2o/edge.env")
    assert "dialout" in one(service, "SupplementaryGroups").split()
    assert "char-ttyUSB rw" in service["DeviceAllow"]
    args = edge_parser().parse_args(command(one(service, "ExecStart"), "o2o-edge"))
    assert (args.command, args.config, args.log_json) == ("run", Path("/etc/o2o/store.yaml"), True)
    check = edge_parser().parse_args(command(one(service, "ExecStartPre"), "o2o-edge"))
    assert check.validate_config
    assert one(edge["Install"], "WantedBy") == "multi-user.target"


def test_hq_unit() -> None:
    hq = unit("o2o-hq.service")
    assert "postgresql.service" in one(hq["Unit"], "After").split()
    service = hq["Service"]
    check_common(service, "o2o-hq", "o2o-hq", "/etc/o2o/hq.env")
    args = hq_parser().parse_args(command(one(service, "ExecStart"), "o2o-hq"))
    assert args.command == "run" and args.log_json and args.workers > 1
    assert args.database_url is None  # from O2O_HQ_DATABASE_URL in the environment file
    example = (UNITS / "hq.env.example").read_text(encoding="utf-8")
    assert re.search(r"^O2O_HQ_DATABASE_URL=postgresql\+psycopg://", example, re.MULTILINE)


def test_edge_env_example_names_the_secrets() -> None:
    example = (UNITS / "edge.env.example").read_text(encoding="utf-8")
    names = set(re.findall(r"^(O2O_\w+)=", example, re.MULTILINE))
    assert {"O2O_GALLERY_KEY", "O2O_SYNC_API_SECRET"} <= names


def systemd_version() -> int:
    out = subprocess.run(
        ["systemd-analyze", "--version"], capture_output=True, text=True, check=True
    ).stdout
    return int(out.split()[1])


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not found")
def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    """The units as installed, with the venv's commands where verify can find them."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for program in ("o2o-edge", "o2o-hq"):
        (bin_dir / program).write_text("#!/bin/sh\n", encoding="utf-8")
        (bin_dir / program).chmod(0o755)
    for name in ("o2o-edge.service", "o2o-hq.service"):
        text = (UNITS / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace(VENV_BIN, f"{bin_dir}/"), encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", "o2o-edge.service", "o2o-hq.service"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    complaints = [line for line in result.stderr.splitlines() if line.strip()]
    if systemd_version() < 254:
        complaints = [
            line
            for line in complaints
            if not any(f"Unknown key '{key}'" in line for key in BACKOFF_KEYS)
        ]
    assert result.returncode == 0 and not complaints, result.stderr
