"""Read STORE.yaml and report every problem as ``file: a -> b -> c: message (value: x)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from edge.config.base import ConfigError, KeyPathError
from edge.config.store import StoreConfig


def format_validation_error(source: str, error: ValidationError) -> str:
    lines = [f"{source}: invalid configuration ({error.error_count()} problem(s))"]
    for item in error.errors():
        loc = item["loc"]
        message = item["msg"]
        cause = (item.get("ctx") or {}).get("error")
        if isinstance(cause, KeyPathError):
            loc = (*loc, *cause.path)
            message = str(cause)
        path = " -> ".join(str(part) for part in loc) or "(top level)"
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


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML lets the last of two equal keys win silently; a repeated key in STORE.yaml is
    almost always a paste error, so it is refused, naming both lines."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: construct_mapping reports it
            continue
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first at line {first.start_mark.line + 1}, "
                f"again at line {key_node.start_mark.line + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _unique_mapping,
)

_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def decode_config(raw: bytes, source: str) -> str:
    """UTF-8, with or without a byte-order mark (Windows editors add one); anything else is
    refused naming the file and the offending byte, rather than a UnicodeDecodeError trace."""
    if raw.startswith(_UTF16_32_BOMS):
        raise ConfigError(
            f"{source}: the file is UTF-16 or UTF-32 (byte-order mark found); save it as UTF-8"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"{source}: not UTF-8 text: byte 0x{raw[error.start]:02x} at line {line} "
            f"(offset {error.start}); save the file as UTF-8"
        ) from None


def check_no_plaintext_secrets(data: dict[str, Any], source: str) -> None:
    """The docs promise the sync secret never sits in STORE.yaml (it is copied to backups and
    tickets): only ``${ENV_VAR}`` or ``api_secret_file`` are accepted there."""
    sync = data.get("sync")
    if not isinstance(sync, dict):
        return
    secret = sync.get("api_secret")
    if secret is None or (isinstance(secret, str) and secret.startswith("${")):
        return
    raise ConfigError(
        f"{source}: sync -> api_secret: a plaintext secret is not allowed in the file "
        "(value: <hidden>); use ${ENV_VAR} or sync -> api_secret_file"
    )


def load_store_config(path: str | Path) -> StoreConfig:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration: {error.strerror}") from None
    text = decode_config(raw, str(path))
    try:
        # A SafeLoader subclass: no arbitrary Python objects from the file.
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if isinstance(data, dict):
        check_no_plaintext_secrets(data, str(path))
    config = parse_store_config(data, str(path))
    return config.resolve_paths(path.parent)
