"""docs/config.md stays true to the configuration models."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import yaml

from edge.config.loader import parse_store_config

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "gen_config_docs.py"
DOC = REPO_ROOT / "docs" / "config.md"
DEMO = REPO_ROOT / "firmware_configs" / "demo_store_cameras.yaml"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_config_docs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def documented_keys() -> set[str]:
    return set(re.findall(r"^\| `([^`]+)` \|", DOC.read_text(encoding="utf-8"), re.MULTILINE))


def test_config_reference_is_up_to_date() -> None:
    """Fails when a configuration model changed without regenerating the reference."""
    assert DOC.read_text(encoding="utf-8") == generator().render(), (
        "docs/config.md is out of date; regenerate it with `python scripts/gen_config_docs.py`"
    )


def test_every_key_of_the_demo_store_is_documented() -> None:
    """Every key path the shipped demo store uses appears in the reference."""

    def paths(value: object, prefix: str) -> set[str]:
        if isinstance(value, dict) and not prefix.endswith(("antennas", "departed_after_s")):
            found = {prefix} if prefix and not prefix.endswith("[]") else set()
            for key, item in value.items():
                found |= paths(item, f"{prefix}.{key}" if prefix else str(key))
            return found
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return {prefix} | set().union(*(paths(item, f"{prefix}[]") for item in value))
        return {prefix}

    raw = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    parse_store_config(raw, str(DEMO))  # the example is valid
    assert paths(raw, "") - documented_keys() == set()
