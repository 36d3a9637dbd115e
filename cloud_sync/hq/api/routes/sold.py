"""Sold EPCs: online orders set them sold (or unsold: returns), and each store downloads the
chain's recent sales as a compact set for its exit gate (docs/hq.md, "Sold EPCs")."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Self

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import select, text

from cloud_sync.hq import crud, projections, sold
from cloud_sync.hq.api.deps import ChannelClient, SessionDep, SettingsDep, StoreAuth
from cloud_sync.hq.models import SaleLine
from edge.events import limits

router = APIRouter(tags=["sold"])

Epc = Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{24,64}$")]

SOLD_SET_MEDIA_TYPE = "application/vnd.o2o.sold-set"


class ChannelOrderLine(BaseModel):
    """One line of an online order, in the order's currency."""

    model_config = ConfigDict(extra="forbid")

    gtin: str = Field(pattern=r"^\d{8,14}$")
    quantity: int = Field(default=1, ge=1, le=limits.MAX_QUANTITY)
    amount: float = Field(ge=0, le=limits.MAX_LINE_AMOUNT, description="Amount of the line")


class ChannelOrder(BaseModel):
    """An order of an online channel, or its return. Its EPCs (items shipped from a warehouse
    or a store) become sold chain-wide for the exit gates; with a member and lines it is also
    a sale of the chain's online store: sale lines in the reports and points for the member,
    credited once however often the order is posted (docs/hq.md, "Online orders")."""

    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=limits.SALE_ID_MAX, pattern=r"^[\x21-\x7e]+$")
    epcs: list[Epc] = Field(default=[], max_length=1000, description="EPCs of the items")
    lines: list[ChannelOrderLine] = Field(default=[], max_length=1000)
    member_id: str | None = Field(
        default=None, min_length=1, max_length=limits.MEMBER_ID_MAX, pattern=r"^[\x21-\x7e]+$"
    )
    total: float | None = Field(
        default=None, ge=0, le=limits.MAX_SALE_TOTAL, description="Default: sum of the lines"
    )
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    returned: bool = Field(default=False, description="A return: the EPCs are unsold again")
    ts: datetime | None = Field(
        default=None, description="When it was sold or returned (default: now); the newest wins"
    )

    @model_validator(mode="after")
    def _has_items(self) -> Self:
        if not self.epcs and not self.lines:
            raise ValueError("an order needs epcs, lines or both")
        if self.member_id is not None and not self.lines:
            raise ValueError("an order naming a member needs its lines (what was paid)")
        return self


class ChannelOrderResult(BaseModel):
    order_id: str
    epcs: int = Field(description="EPCs whose state changed (older news changes nothing)")
    recorded: bool = Field(
        default=False, description="Lines recorded as a sale now (false when posted before)"
    )


# Online orders are projected as the sales of one pseudo-store per channel; the event id is
# derived from the order, so a repeated post projects nothing twice.
_ORDER_NAMESPACE = uuid.UUID("5b0d3f0e-7d7c-4d54-9a55-0f2a3c1e9b61")


def _order_sale_row(order: ChannelOrder, channel: str, ts: datetime) -> dict[str, Any]:
    kind = "return" if order.returned else "sale"
    event_id = str(uuid.uuid5(_ORDER_NAMESPACE, f"{channel}\x1f{order.order_id}\x1f{kind}"))
    total = order.total
    if total is None:
        total = min(limits.MAX_SALE_TOTAL, sum(line.amount for line in order.lines))
    payload: dict[str, Any] = {
        "sale_id": order.order_id,
        "till_id": channel,
        "member_id": order.member_id,
        "lines": [line.model_dump() for line in order.lines],
        "total": total,
        "currency": order.currency,
        "returned": order.returned,
    }
    store_id = f"online:{channel}"[: limits.STORE_ID_MAX]
    return {
        "event_id": event_id,
        "store_id": store_id,
        "type": "sale",
        "ts": ts,
        "body": {"type": "sale", "store_id": store_id, "payload": payload},
    }


@router.post(
    "/api/v1/channel/orders",
    response_model=ChannelOrderResult,
    responses={
        401: {"description": "No or bad token"},
        403: {"description": "Wrong role"},
        404: {"description": "Member not found (unknown or erased)"},
    },
)
def post_order(
    order: ChannelOrder, client: ChannelClient, session: SessionDep, settings: SettingsDep
) -> ChannelOrderResult:
    now = datetime.now(UTC)
    ts = order.ts if order.ts is not None else now
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    member = order.member_id
    if member is not None and crud.resolve_member(session, member_id=member) is None:
        raise HTTPException(404, "Member not found")
    changes = [
        sold.SoldChange(epc, not order.returned, ts, f"channel:{client.name}"[:200], order.order_id)
        for epc in order.epcs
    ]
    written = sold.apply(session, changes)
    recorded = False
    if order.lines:
        row = _order_sale_row(order, client.name, ts)
        if session.get_bind().dialect.name == "postgresql":
            # Two workers posting the same order at once: the second waits, then finds it.
            session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": row["event_id"]}
            )
        # The same projection as a store's synced sale: lines, points (once per member,
        # cause and ref), notifications, reservation outcomes.
        if session.scalar(select(SaleLine.id).where(SaleLine.event_id == row["event_id"])) is None:
            projections.project(session, [row], settings=settings, now=now)
            recorded = True
    session.commit()
    return ChannelOrderResult(order_id=order.order_id, epcs=written, recorded=recorded)


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
