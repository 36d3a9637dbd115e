"""The headquarters every acceptance story runs against: ``o2o-hq run`` on a fresh
PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.bench.sync import HqProcess, fresh_database

ADMIN_TOKEN = "acceptance-admin-token-0123456789"


@pytest.fixture
def hq(database_url: str, tmp_path: Path) -> Iterator[HqProcess]:
    with fresh_database(database_url, "o2o_acceptance") as database:
        process = HqProcess(database, log_path=tmp_path / "hq.log", admin_token=ADMIN_TOKEN)
        process.start()
        try:
            yield process
        finally:
            process.stop()
