"""The ``sync`` section of STORE.yaml: defaults, secrets from the environment or a file, and
errors that name the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge.config.base import ConfigError
from edge.config.loader import parse_store_config
from edge.config.sync import SyncConfig

ZONES = [{"id": "shelf-a", "kind": "shelf"}]


def _store(sync: dict[str, Any]) -> dict[str, Any]:
    return {"store_id": "s1", "zones": ZONES, "sync": sync}


def test_sync_is_off_by_default_and_existing_files_stay_valid() -> None:
    config = parse_store_config({"store_id": "s1", "zones": ZONES})
    assert config.sync.enabled is False
    assert config.sync.max_batch_events == 500 and config.sync.outbox_retention_h == 24


def test_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O2O_TEST_SYNC_SECRET", "from-env")
    config = parse_store_config(
        _store(
            {
                "enabled": True,
                "hq_url": "https://hq.example.com",
                "api_key_id": "k1",
                "api_secret": "${O2O_TEST_SYNC_SECRET}",
            }
        )
    )
    assert config.sync.secret() == "from-env"


def test_secret_from_a_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "hq.key"
    key_file.write_text("from-file\n")
    config = SyncConfig(
        enabled=True, hq_url="http://hq:8300", api_key_id="k1", api_secret_file=key_file
    )
    assert config.secret() == "from-file"
    empty = SyncConfig(api_secret_file=tmp_path / "missing.key")
    with pytest.raises(ValueError, match=r"sync -> api_secret_file: cannot read"):
        empty.secret()


@pytest.mark.parametrize(
    ("sync", "message"),
    [
        ({"enabled": True, "api_key_id": "k", "api_secret": "x"}, "sync -> hq_url is not set"),
        (
            {"enabled": True, "hq_url": "https://hq", "api_secret": "x"},
            "sync -> api_key_id is not set",
        ),
        (
            {"enabled": True, "hq_url": "https://hq", "api_key_id": "k"},
            "neither sync -> api_secret nor sync -> api_secret_file",
        ),
        ({"hq_url": "ftp://hq"}, "sync -> hq_url: String should match pattern"),
        ({"api_secret": "${O2O_UNSET_VARIABLE_XYZ}"}, "O2O_UNSET_VARIABLE_XYZ is not set"),
        ({"max_batch_events": 0}, "sync -> max_batch_events: Input should be greater than"),
        ({"batch_size": 10}, "sync -> batch_size: unknown key"),
        (
            {"api_secret": "a", "api_secret_file": "/k"},
            "give api_secret or api_secret_file, not both",
        ),
        (
            {"nearby_stock_poll_s": 400},
            "sync -> nearby_stock_max_age_s (600) must be at least twice "
            "sync -> nearby_stock_poll_s (400)",
        ),
        ({"nearby_stock_poll_s": 0}, "sync -> nearby_stock_poll_s: Input should be greater"),
    ],
    ids=[
        "no-url",
        "no-key",
        "no-secret",
        "bad-scheme",
        "unset-env",
        "zero-batch",
        "typo",
        "both",
        "nearby-too-old-for-the-poll",
        "nearby-zero-poll",
    ],
)
def test_invalid_sync_sections_name_the_key(sync: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_store_config(_store(sync), "STORE.yaml")
    assert message in str(error.value)
    assert "STORE.yaml" in str(error.value)
