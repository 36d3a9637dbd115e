"""The edge's FastAPI application, built from one :class:`~edge.api.context.ApiContext`.

It serves the tablet, staff and dashboard pages and their API, members' faces, sales, live
events, health and metrics; static files come from ``edge/api/static`` (no CDN, no build
step). Service errors become HTTP statuses here, once (:data:`SERVICE_ERRORS`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from cloud_sync.api_docs import serve_docs
from cloud_sync.auth_first import AuthFirst
from cloud_sync.body_limit import BodyLimit, RouteLimit
from cloud_sync.http_errors import CountRefusals, validation_error
from edge.api.context import ApiContext
from edge.api.deps import device_for_token
from edge.api.routes import (
    alerts,
    dashboard,
    gate,
    health,
    live,
    members,
    pages,
    reservations,
    rooms,
    sales,
)
from edge.api.routes import devices as device_routes
from edge.service.errors import NotFound, RequestRejected, ServiceError, ServiceUnavailable

STATIC_DIR = Path(__file__).parent / "static"

SERVICE_ERRORS: dict[type[ServiceError], int] = {
    ServiceUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
    RequestRejected: status.HTTP_409_CONFLICT,
    NotFound: status.HTTP_404_NOT_FOUND,
}
"""Service error -> HTTP status; the body is ``{"detail": <the error's message>}``."""


async def _service_error(_request: Request, error: Exception) -> JSONResponse:
    code = next(
        (code for kind, code in SERVICE_ERRORS.items() if isinstance(error, kind)),
        status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
    return JSONResponse({"detail": str(error)}, status_code=code)


async def _valid_token(app: FastAPI, token: str) -> bool:
    return device_for_token(app.state.context, token) is not None


def create_app(context: ApiContext) -> FastAPI:
    hub = context.hub

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        hub.attach(asyncio.get_running_loop())
        yield
        hub.detach()

    app = FastAPI(
        title=f"o2o-edge {context.config.store_id}",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.context = context
    serve_docs(app, title=f"o2o-edge {context.config.store_id} API", aliases=("/api/docs",))
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    for router in (
        members.router,
        sales.router,
        device_routes.router,
        rooms.router,
        alerts.router,
        gate.router,
        reservations.router,
        dashboard.router,
        live.router,
        pages.router,
        health.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    api = context.config.api
    app.add_middleware(AuthFirst, fastapi=app, valid=_valid_token)
    # Added before CountRefusals, so inside it: the 413s it sends are counted too.
    app.add_middleware(
        BodyLimit,
        max_bytes=api.max_body_bytes,
        routes=[
            RouteLimit("POST", r"/api/v1/members/[^/]+/faces", api.max_upload_bytes),
            RouteLimit("POST", r"/api/v1/members/identify", api.max_upload_bytes),
        ],
    )
    rejections = context.metrics.rejections
    app.add_middleware(CountRefusals, count=lambda where, code: rejections.add("http", where, code))
    return app
