"""Sold EPCs: online orders set them sold (or unsold: returns), and each store downloads the
chain's recent sales as a compact set for its exit gate (docs/hq.md, "Sold EPCs")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cloud_sync.hq import crud, sold
from cloud_sync.hq.api.deps import ChannelClient, SessionDep, SettingsDep, StoreAuth

router = APIRouter(tags=["sold"])

Epc = Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{24,64}$")]

SOLD_SET_MEDIA_TYPE = "application/vnd.o2o.sold-set"


class ChannelOrder(BaseModel):
    """An order of an online channel whose items carry EPCs (shipped from a warehouse or a
    store), or its return."""

    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")
    epcs: list[Epc] = Field(min_length=1, max_length=1000, description="EPCs of the items")
    returned: bool = Field(default=False, description="A return: the EPCs are unsold again")
    ts: datetime | None = Field(
        default=None, description="When it was sold or returned (default: now); the newest wins"
    )


class ChannelOrderResult(BaseModel):
    order_id: str
    epcs: int = Field(description="EPCs whose state changed (older news changes nothing)")


@router.post(
    "/api/v1/channel/orders",
    response_model=ChannelOrderResult,
    responses={401: {"description": "No or bad token"}, 403: {"description": "Wrong role"}},
)
def post_order(
    order: ChannelOrder, client: ChannelClient, session: SessionDep
) -> ChannelOrderResult:
    ts = order.ts if order.ts is not None else datetime.now(UTC)
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    changes = [
        sold.SoldChange(epc, not order.returned, ts, f"channel:{client.name}"[:200], order.order_id)
        for epc in order.epcs
    ]
    written = sold.apply(session, changes)
    session.commit()
    return ChannelOrderResult(order_id=order.order_id, epcs=written)


@router.get(
    "/api/v1/stores/{store_id}/sold-epcs",
    tags=["downlink"],
    response_class=Response,
    responses={
        200: {
            "description": "The sold set (edge.alerts.sold_set wire form)",
            "content": {SOLD_SET_MEDIA_TYPE: {}},
        },
        304: {"description": "Unchanged (If-None-Match)"},
        401: {"description": "Bad signature"},
    },
)
def sold_epcs(
    store_id: str,
    store: StoreAuth,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> Response:
    now = datetime.now(UTC)
    # The window moves every day even when nothing is sold: the day is part of the tag.
    version = crud.version_of(session, name=sold.VERSION_NAME)
    etag = f'"sold-{version}-{now:%Y%m%d}-{settings.sold_epcs_days}"'
    if etag in {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}:
        return Response(status_code=304, headers={"ETag": etag})
    body = sold.sold_set(session, days=settings.sold_epcs_days, now=now).to_bytes()
    return Response(
        body,
        media_type=SOLD_SET_MEDIA_TYPE,
        headers={"ETag": etag, "Cache-Control": "no-cache"},
    )
