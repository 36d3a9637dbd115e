"""The ``recommend`` section of STORE.yaml: optional, validated with the key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from edge.config import ConfigError, load_store_config
from edge.config.loader import parse_store_config
from edge.config.zones import ZoneKind
from edge.recommend.runtime import SHIPPED_MODEL, default_paths

DEMO_STORE = Path(__file__).resolve().parents[2] / "firmware_configs" / "demo_store.yaml"


def _demo(**recommend: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEMO_STORE.read_text())
    data["recommend"] = recommend
    return data


def test_existing_store_files_stay_valid() -> None:
    config = load_store_config(DEMO_STORE)
    assert config.recommend.limit == 5


def test_section_is_read() -> None:
    config = parse_store_config(
        _demo(limit=3, stock_zone_kinds=["shelf"], complements={"shirt": ["belt"]})
    )
    assert config.recommend.limit == 3
    assert config.recommend.stock_zone_kinds == [ZoneKind.SHELF]
    assert config.recommend.complements == {"shirt": ["belt"]}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"limit": 0}, "recommend -> limit: Input should be greater than or equal to 1"),
        (
            {"stock_zone_kinds": ["pos"]},
            "recommend -> stock_zone_kinds: Value error, zone kind 'pos'",
        ),
        ({"history_weight": 2}, "recommend -> history_weight: Input should be less than or equal"),
        ({"colour": "red"}, "recommend -> colour: unknown key"),
    ],
    ids=["limit", "stock-kind", "history-weight", "unknown-key"],
)
def test_errors_name_the_key_path(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_store_config(_demo(**section), "STORE.yaml")
    assert message in str(raised.value)


def test_default_paths_prefer_the_downloaded_files(tmp_path: Path) -> None:
    config = load_store_config(DEMO_STORE).recommend
    model, catalog = default_paths(config, tmp_path)
    assert model == SHIPPED_MODEL and catalog.name == "demo_catalog.json"
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "recommender.onnx").write_bytes(b"x")
    (tmp_path / "catalog.json").write_text("{}")
    assert default_paths(config, tmp_path) == (
        tmp_path / "models" / "recommender.onnx",
        tmp_path / "catalog.json",
    )
