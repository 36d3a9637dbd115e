"""Start-up configuration errors (issue 11, area 7): each gives exit 2 and a clear message naming
the file, the key and the value, never a traceback. Checked through the real command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import ConfigError, load_store_config

DEMO = Path(__file__).resolve().parents[2] / "firmware_configs" / "demo_store.yaml"


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", "run", "--config", str(path), "--validate-config"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _demo_text() -> str:
    return DEMO.read_text(encoding="utf-8")


def test_the_demo_store_still_validates_through_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "STORE.yaml"
    path.write_text(_demo_text(), encoding="utf-8")
    result = _validate(path)
    assert result.returncode == 0, result.stderr


def test_a_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    text = _demo_text()
    lines = text.splitlines()
    store_line = next(i for i, line in enumerate(lines) if line.startswith("store_id:"))
    lines.insert(store_line + 1, "store_id: other-store")
    path = tmp_path / "STORE.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = _validate(path)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert str(path) in result.stderr
    assert "duplicate key 'store_id'" in result.stderr
    assert f"first at line {store_line + 1}, again at line {store_line + 2}" in result.stderr


def test_a_duplicate_nested_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "STORE.yaml"
    path.write_text(_demo_text() + "api:\n  port: 8081\n  port: 8082\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"duplicate key 'port' \(first at line \d+, again"):
        load_store_config(path)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_a_utf16_or_utf32_file_is_named(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "STORE.yaml"
    path.write_bytes(_demo_text().encode(encoding))  # Python writes the byte-order mark

    result = _validate(path)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{path}: the file is UTF-16 or UTF-32")


def test_a_binary_file_is_named_with_the_offending_byte(tmp_path: Path) -> None:
    path = tmp_path / "STORE.yaml"
    path.write_bytes(b"store_id: demo\nzones:\n\xff\xd8\xff\xe0 jpeg\n")

    result = _validate(path)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"{path}: not UTF-8 text: byte 0xff at line 3 (offset 22); save the file as UTF-8"
    )


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "STORE.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + _demo_text().encode("utf-8"))
    assert load_store_config(path).store_id == load_store_config(DEMO).store_id


def _with_sync(secret_line: str) -> str:
    return _demo_text() + (
        "sync:\n"
        "  enabled: true\n"
        "  hq_url: https://hq.example.com\n"
        "  api_key_id: key-1\n"
        f"{secret_line}\n"
    )


def test_a_plaintext_api_secret_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / "STORE.yaml"
    path.write_text(_with_sync("  api_secret: hunter2-very-secret"), encoding="utf-8")

    result = _validate(path)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{path}: sync -> api_secret: a plaintext secret is not allowed" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_an_api_secret_from_the_environment_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("O2O_TEST_SYNC_SECRET", "from-the-environment")
    path = tmp_path / "STORE.yaml"
    path.write_text(_with_sync("  api_secret: ${O2O_TEST_SYNC_SECRET}"), encoding="utf-8")
    config = load_store_config(path)
    assert config.sync.api_secret == "from-the-environment"


def test_an_antenna_to_a_missing_zone_names_the_key_path(tmp_path: Path) -> None:
    text = _demo_text()
    assert "2: fitting-2" in text
    path = tmp_path / "STORE.yaml"
    path.write_text(text.replace("2: fitting-2", "2: fitting-9", 1), encoding="utf-8")

    result = _validate(path)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "(top level)" not in result.stderr
    assert "readers -> 1 -> antennas -> 2: Reader room-reader antenna 2 maps to zone " in (
        result.stderr
    )
