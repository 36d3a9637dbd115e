"""The pages (plain HTML + JS from edge/api/static; the data comes from the API with the
device's token) and the catalog's placeholder pictures."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse, Response

from edge.api.catalog_art import product_svg
from edge.api.deps import ConfigDep, StoreDep

router = APIRouter(include_in_schema=False)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_ZONE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    # Everything comes from the edge itself: no CDN, no inline script, no framing.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC_DIR / name, media_type="text/html", headers=PAGE_HEADERS)


@router.get("/")
def dashboard_page() -> FileResponse:
    return _page("dashboard.html")


@router.get("/staff")
def staff_page() -> FileResponse:
    return _page("staff.html")


@router.get("/tablet/{zone}")
def tablet_page(zone: str, config: ConfigDep) -> FileResponse:
    if not _ZONE.match(zone) or zone not in config.zones_by_id():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Zone not found")
    return _page("tablet.html")


@router.get("/static/catalog/{gtin}.svg")
def catalog_picture(gtin: str, store: StoreDep) -> Response:
    catalog = store.catalog
    product = catalog.get(gtin) if catalog is not None else None
    if product is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Product not found")
    return Response(
        product_svg(product),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )
