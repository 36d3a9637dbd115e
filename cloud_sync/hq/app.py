"""The HQ application factory: ``create_app(settings)``; ``app_from_env`` for uvicorn workers."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from cloud_sync.api_docs import serve_docs
from cloud_sync.auth_first import AuthFirst
from cloud_sync.body_limit import BodyLimit, RouteLimit
from cloud_sync.hq import crud, notify, rollups
from cloud_sync.hq.api.deps import (
    CurrentStaff,
    StoreKeyCache,
    valid_staff_token,
)
from cloud_sync.hq.api.routes import (
    admin,
    availability,
    catalog,
    downlink,
    events,
    me,
    members,
    reports,
    reservations,
    sold,
)
from cloud_sync.hq.console import routes as console
from cloud_sync.hq.core import metrics
from cloud_sync.hq.core.config import Settings
from cloud_sync.hq.core.db import make_engine, make_sessionmaker
from cloud_sync.hq.core.security import Vault
from cloud_sync.hq.enrolment import PhotoEnroller
from cloud_sync.http_errors import (
    CountRefusals,
    RefuseNul,
    document_no_nul,
    validation_error,
)

log = logging.getLogger(__name__)

PURGE_INTERVAL_S = 60.0
"""Retention is counted in days: checking every minute is plenty (and an erasure with a
retention of 0 days purges at once, in the request)."""


class BackgroundLoop:
    """Per worker: delivers due notifications, pumps the queued events into the rollups,
    purges erased members' personal data and refreshes the RFM segments snapshot."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hq-background", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        state = self._app.state
        settings: Settings = state.settings
        next_purge_s = next_segments_s = 0.0
        with httpx.Client(timeout=notify.SEND_TIMEOUT_S) as client:
            adapter = notify.make_adapter(settings, client)
            while not self._stop.wait(settings.background_interval_s):
                try:
                    now = datetime.now(UTC)
                    if adapter is not None:
                        notify.deliver_due(state.sessions, adapter, settings=settings, now=now)
                    with state.sessions() as session:
                        # A whole batch pumped: a backlog, go on without waiting.
                        while rollups.pump(session) == rollups.PUMP_BATCH:
                            if self._stop.is_set():
                                break
                    with state.sessions() as session:
                        rollups.fold_chain(session)
                    if time.monotonic() >= next_segments_s:
                        next_segments_s = time.monotonic() + settings.segments_refresh_s
                        with state.sessions() as session:
                            rollups.refresh_segments(session, as_of=now)
                    if time.monotonic() >= next_purge_s:
                        next_purge_s = time.monotonic() + PURGE_INTERVAL_S
                        with state.sessions() as session:
                            crud.purge_erased(
                                session,
                                retention_days=settings.personal_data_retention_days,
                                now=now,
                            )
                except Exception:
                    log.exception("background step failed; retrying next period")


def create_app(settings: Settings) -> FastAPI:
    vault = Vault(settings.secret_key)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.effective_database_url, pool_size=settings.db_pool_size)
        app.state.engine = engine
        app.state.sessions = make_sessionmaker(engine)
        app.state.counters_engine = make_engine(
            settings.effective_database_url, pool_size=2, durable_commits=False
        )
        loop = BackgroundLoop(app)
        loop.start()
        # Everything alive now (modules, schemas, pools) lives as long as the worker: out of
        # the collector's sight, full collections no longer walk it on the ingestion path.
        gc.freeze()
        try:
            yield
        finally:
            loop.stop()
            engine.dispose()
            app.state.counters_engine.dispose()

    app = FastAPI(
        title="o2o headquarters", version="1", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    serve_docs(app, title="o2o headquarters API")
    app.state.settings = settings
    app.state.vault = vault
    app.state.store_keys = StoreKeyCache()
    app.state.enroller = PhotoEnroller(settings.vision)
    app.state.code_requests = me.CodeRequestThrottle(limit=10, window_s=600)
    for module in (
        events,
        downlink,
        admin,
        catalog,
        members,
        reports,
        availability,
        me,
        reservations,
        sold,
    ):
        app.include_router(module.router)
    app.include_router(catalog.models_router)
    app.include_router(reports.exports_router)
    console.install(app)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_middleware(RefuseNul)
    app.add_middleware(AuthFirst, fastapi=app, valid=valid_staff_token)
    document_no_nul(app)
    # Bodies are bounded before anything buffers them (a signed batch is read whole to check
    # its signature); only the model upload may be larger.
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        routes=[
            RouteLimit(
                "POST",
                r"/api/v1/models",
                max(catalog.MAX_MODEL_BYTES, settings.max_body_bytes),
            )
        ],
    )
    # Outermost: the refusals of every middleware above are counted too.
    app.add_middleware(
        CountRefusals,
        count=lambda route, code: metrics.HTTP_REFUSED.labels(route=route, status=code).inc(),
    )

    @app.exception_handler(crud.NotFoundError)
    async def _not_found(_request: Request, exc: crud.NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(crud.ConflictError)
    async def _conflict(_request: Request, exc: crud.ConflictError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.get(
        "/metrics",
        tags=["health"],
        response_class=Response,
        responses={200: {"description": "Prometheus text format", "content": {"text/plain": {}}}},
    )
    def prometheus_metrics(staff: CurrentStaff) -> Response:
        """Prometheus text format; scrape with a bearer token (analyst role suffices)."""
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    @app.get("/healthz", tags=["health"])
    def healthz(request: Request) -> JSONResponse:
        """200 while the database answers (load balancers route only to such workers)."""
        try:
            with request.app.state.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            log.warning("health check: database unreachable: %s", error)
            return JSONResponse({"status": "failing", "database": "unreachable"}, 503)
        return JSONResponse({"status": "ok", "database": "ok"})

    return app


def app_from_env() -> FastAPI:
    return create_app(Settings.from_env())
