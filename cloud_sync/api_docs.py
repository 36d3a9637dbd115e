"""Swagger UI served by the servers themselves, from the ``swagger-ui-bundle-v2`` package
(Apache-2.0, Swagger UI 5: OpenAPI 3.1), not from a CDN: a store network is often offline,
and the docs must still open there. Both servers, at ``/docs``."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs-assets"


def serve_docs(app: FastAPI, *, title: str, aliases: tuple[str, ...] = ()) -> None:
    """Swagger UI at ``/docs`` (and a redirect from each of ``aliases``). The app must be built
    with ``docs_url=None, redoc_url=None``."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=title,
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )

    for alias in aliases:
        app.add_api_route(
            alias,
            lambda: RedirectResponse("/docs"),
            include_in_schema=False,
            methods=["GET"],
        )
