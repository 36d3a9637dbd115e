"""Store configuration (STORE.yaml) as pydantic models, one module per concern."""

from edge.config.base import ConfigError, StrictModel
from edge.config.loader import load_store_config
from edge.config.store import StoreConfig

__all__ = ["ConfigError", "StoreConfig", "StrictModel", "load_store_config"]
