"""Live stock for online channels: which stores near the shopper have the item, and how
fresh each count is (docs/hq.md, "Availability"). Also the store's side of the stock
stream: whether HQ wants a new snapshot."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from cloud_sync.hq import stock
from cloud_sync.hq.api.deps import ChannelClient, SessionDep, SettingsDep, StoreAuth

router = APIRouter(tags=["availability"])


class StoreStockPublic(BaseModel):
    store_id: str
    name: str
    distance_km: float | None = Field(description="From the given point; null without one")
    floor: int | None = Field(description="Items on the sales floor; null when unknown")
    backroom: int | None = Field(description="Items in the backroom; null when unknown")
    as_of: datetime | None = Field(description="Time of the store's last stock report")
    age_s: float | None = Field(description="Seconds since as_of; null when unknown")
    status: str = Field(
        description="in_stock, out_of_stock, stale (older than max_age_s) or "
        "unknown (no complete count: HQ awaits a snapshot from the store)"
    )
    in_stock: bool = Field(description="True only for a fresh, complete count above zero")


class AvailabilityPublic(BaseModel):
    gtin: str = Field(description="The GTIN counted (the size's sibling when size was given)")
    max_age_s: float = Field(description="Counts older than this are never in stock")
    stores: list[StoreStockPublic]


class StockRequestsPublic(BaseModel):
    snapshot_requests: int = Field(description="Grows each time HQ wants a full snapshot")


@router.get(
    "/api/v1/availability",
    response_model=AvailabilityPublic,
    responses={
        401: {"description": "No or bad token"},
        403: {"description": "Wrong role"},
        404: {"description": "Unknown GTIN or size"},
    },
)
def availability(
    client: ChannelClient,
    session: SessionDep,
    settings: SettingsDep,
    gtin: Annotated[str, Query(pattern=r"^\d{14}$", description="GTIN-14 of the product")],
    size: Annotated[str | None, Query(max_length=20, description="Size wanted")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    radius_km: Annotated[float, Query(gt=0, le=20_000)] = 50.0,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> AvailabilityPublic:
    if (lat is None) != (lon is None):
        raise HTTPException(
            status_code=422,
            detail=[
                {
                    "loc": ["query", "lat" if lat is None else "lon"],
                    "msg": "give lat and lon together",
                    "type": "value_error",
                }
            ],
        )
    try:
        counted = stock.resolve_gtin(session, gtin, size)
    except stock.UnknownProductError as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    found = stock.availability(
        session,
        gtin=counted,
        near=None if lat is None or lon is None else (lat, lon),
        radius_km=radius_km,
        limit=limit,
        max_age_s=settings.stock_max_age_s,
        now=datetime.now(UTC),
    )
    return AvailabilityPublic(
        gtin=counted,
        max_age_s=settings.stock_max_age_s,
        stores=[
            StoreStockPublic(
                store_id=a.store_id,
                name=a.name,
                distance_km=a.distance_km,
                floor=a.floor,
                backroom=a.backroom,
                as_of=a.as_of,
                age_s=a.age_s,
                status=a.status,
                in_stock=a.in_stock,
            )
            for a in found
        ],
    )


@router.get(
    "/api/v1/stores/{store_id}/stock/requests",
    response_model=StockRequestsPublic,
    tags=["downlink"],
    responses={
        304: {"description": "Unchanged (If-None-Match)"},
        401: {"description": "Bad signature"},
    },
)
def stock_requests(
    store_id: str, store: StoreAuth, session: SessionDep, request: Request
) -> Response | StockRequestsPublic:
    count = stock.snapshot_requests(session, store_id)
    etag = f'"stock-requests-{count}"'
    if etag in {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(
        StockRequestsPublic(snapshot_requests=count).model_dump_json(),
        media_type="application/json",
        headers={"ETag": etag, "Cache-Control": "no-cache"},
    )
