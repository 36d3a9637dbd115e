"""Base model for every configuration section and the error raised for a bad file."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo in STORE.yaml must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names file, key path and value."""


class KeyPathError(ValueError):
    """A cross-field check that knows which key is wrong: reported under ``path``, not under
    "(top level)", so that the operator finds the line (a model validator has no location)."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


def env_secret(value: str | None) -> str | None:
    """Resolve ``${VAR}`` from the environment so that secrets stay out of files."""
    if value and value.startswith("${") and value.endswith("}"):
        name = value[2:-1]
        if name not in os.environ:
            raise ValueError(f"environment variable {name} is not set")
        return os.environ[name]
    return value
