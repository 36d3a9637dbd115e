"""The committed Alembic revisions create exactly what models.py describes, on both engines."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config

from cloud_sync.hq.core.db import MIGRATIONS_DIR, upgrade


def check(url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = url
    command.check(config)  # raises when autogenerate would produce a new revision


@pytest.mark.network
def test_postgres_schema_matches_models(hq_database_url: str) -> None:
    check(hq_database_url)


def test_sqlite_schema_matches_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hq.sqlite3'}"
    upgrade(url)
    upgrade(url)  # idempotent: a restart finds the database at head
    check(url)
