"""The edge's FastAPI application: ``create_app(config)`` assembles the routers.

With ``services`` (the running edge, :mod:`edge.runtime.services`), ``devices`` (paired
tablets and staff devices) and ``hub`` (live events for WebSocket clients) it also serves the
tablet, staff and dashboard pages and their API; their static files come from
``edge/api/static`` (no CDN, no build step).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from edge.api.routes import alerts, dashboard, health, live, members, pages, rooms, sales
from edge.api.routes import devices as device_routes
from edge.clock import Clock, SystemClock
from edge.config.store import StoreConfig

if TYPE_CHECKING:
    from edge.api.devices import DeviceRegistry
    from edge.api.hub import EventHub
    from edge.runtime.services import EdgeServices
    from edge.vision.enrolment import FaceService

STATIC_DIR = Path(__file__).parent / "static"


def create_app(
    config: StoreConfig,
    *,
    face_service: FaceService | None = None,
    clock: Clock | None = None,
    services: EdgeServices | None = None,
    devices: DeviceRegistry | None = None,
    hub: EventHub | None = None,
) -> FastAPI:
    """The app for one store. ``face_service`` is built on first use unless given (tests and
    the runtime pass the one sharing the running gallery)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if hub is not None:
            hub.attach(asyncio.get_running_loop())
        yield
        if hub is not None:
            hub.detach()

    app = FastAPI(
        title=f"o2o-edge {config.store_id}",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.clock = clock or SystemClock()
    app.state.face_service = face_service
    app.state.services = services
    app.state.devices = devices
    app.state.hub = hub
    app.include_router(members.router)
    app.include_router(sales.router)
    for router in (
        device_routes.router,
        rooms.router,
        alerts.router,
        dashboard.router,
        live.router,
    ):
        app.include_router(router)
    app.include_router(pages.router)
    app.include_router(health.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
