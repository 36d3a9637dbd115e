"""Shared fixtures: the demo catalog, a recommender retrained in seconds, live stock views."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from edge.config.loader import load_store_config
from edge.config.store import StoreConfig
from edge.recommend.catalog import Catalog
from edge.recommend.runtime import DEMO_CATALOG, Recommender
from models.recommender.history import generate_history
from models.recommender.train import TrainResult, train
from tests.recommend.helpers import make_recommender

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def store() -> StoreConfig:
    return load_store_config(REPO_ROOT / "firmware_configs" / "demo_store.yaml")


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.load(DEMO_CATALOG)


@pytest.fixture(scope="session")
def trained(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """The demo model retrained on a smaller synthetic history (a few seconds)."""
    history = generate_history(
        catalog, start=date(2025, 11, 1), end=date(2026, 2, 28), sessions_per_day=15, seed=3
    )
    return train(catalog, history, tmp_path_factory.mktemp("model"), history_source="test")


@pytest.fixture
def recommender(store: StoreConfig, catalog: Catalog, trained: TrainResult) -> Recommender:
    return make_recommender(store, catalog, trained.model_path)
