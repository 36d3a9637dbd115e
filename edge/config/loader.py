"""Read STORE.yaml and report every problem as ``file: a -> b -> c: message (value: x)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from edge.config.base import ConfigError
from edge.config.store import StoreConfig


def format_validation_error(source: str, error: ValidationError) -> str:
    lines = [f"{source}: invalid configuration ({error.error_count()} problem(s))"]
    for item in error.errors():
        path = " -> ".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        value = item.get("input")
        shown = "" if isinstance(value, dict | list) else f" (value: {value!r})"
        lines.append(f"  {path}: {message}{shown}")
    return "\n".join(lines)


def parse_store_config(data: Any, source: str = "<config>") -> StoreConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys to values")
    try:
        return StoreConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(format_validation_error(source, error)) from None


def load_store_config(path: str | Path) -> StoreConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    config = parse_store_config(data, str(path))
    return config.resolve_paths(path.parent)
