"""HQ fixtures: a private PostgreSQL schema per test session, the app in-process
(TestClient) and real ``o2o-hq run`` processes over the same database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from cloud_sync.hq.app import create_app
from cloud_sync.hq.core.config import Settings
from cloud_sync.hq.core.db import upgrade
from tests.hq.helpers import make_settings, start_hq, stop_hq, wait_ready


@contextmanager
def private_schema(database_url: str) -> Iterator[str]:
    """A new PostgreSQL schema, migrated to head, dropped afterwards: its database URL."""
    schema = f"hq_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in database_url else "?"
    url = f"{database_url}{sep}options=-csearch_path%3D{schema}"
    upgrade(url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def hq_database_url(database_url: str) -> Iterator[str]:
    with private_schema(database_url) as url:
        yield url


@pytest.fixture(scope="session")
def hq_settings(hq_database_url: str) -> Settings:
    return make_settings(hq_database_url, personal_data_retention_days=0)


@pytest.fixture(scope="session")
def client(hq_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(hq_settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def hq_servers(
    hq_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """Two real o2o-hq processes over the same database (one of them with two workers)."""
    logs = tmp_path_factory.mktemp("hq-logs")
    servers = [
        start_hq(hq_database_url, logs / "a.log", "--workers", "2"),
        start_hq(hq_database_url, logs / "b.log"),
    ]
    try:
        for server in servers:
            wait_ready(server)
        yield servers[0].base_url, servers[1].base_url
    finally:
        for server in servers:
            stop_hq(server)


@pytest.fixture
def hq_http(hq_servers: tuple[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hq_servers[0], timeout=30) as http:
        yield http
