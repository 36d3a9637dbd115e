"""Reserve online, try in store: the online channels' API, the store's downlink of its open
reservations, and the reserve-to-buy report (docs/hq.md, "Reservations")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cloud_sync.hq import reservations, stock
from cloud_sync.hq.api.deps import ChannelClient, CurrentStaff, SessionDep, SettingsDep, StoreAuth

router = APIRouter(tags=["reservations"])


class ItemWanted(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gtin: str = Field(pattern=r"^\d{14}$")
    size: str | None = Field(default=None, max_length=20, pattern=r"^[^\x00-\x1f\x7f]*$")


class ReservationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: str = Field(min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f]+$")
    store_id: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
    items: list[ItemWanted] = Field(min_length=1, max_length=10)
    window_start: AwareDatetime
    window_end: AwareDatetime


_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or bad token"},
    403: {"description": "Not a channel's or an admin's token"},
    404: {"description": "Unknown member, store, GTIN or size"},
    409: {"description": "Closed store, sold out (with alternatives), or no current stock"},
    422: {"description": "Malformed request, or a window in the past or ending before it starts"},
}


@router.post("/api/v1/reservations", status_code=201, responses=_REFUSALS)
def create(
    data: ReservationCreate, client: ChannelClient, session: SessionDep, settings: SettingsDep
) -> JSONResponse:
    now = datetime.now(UTC)
    try:
        made = reservations.create(
            session,
            member_id=data.member_id,
            store_id=data.store_id,
            items=[(item.gtin, item.size) for item in data.items],
            window_start=data.window_start,
            window_end=data.window_end,
            channel=client.name,
            settings=settings,
            now=now,
        )
    except stock.UnknownProductError as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    except reservations.ReservationRefused as error:
        message = str(error)
        code = 422 if "window" in message.lower() or "7 days" in message else 409
        return JSONResponse(
            {"detail": message, "alternatives": error.alternatives}, status_code=code
        )
    return JSONResponse(reservations.public(session, made), status_code=201)


@router.get("/api/v1/reservations/{reservation_id}", responses=_REFUSALS)
def read(reservation_id: str, client: ChannelClient, session: SessionDep) -> dict[str, Any]:
    return reservations.public(session, reservations.get(session, reservation_id))


@router.delete("/api/v1/reservations/{reservation_id}", status_code=204, responses=_REFUSALS)
def cancel(reservation_id: str, client: ChannelClient, session: SessionDep) -> Response:
    reservations.cancel(session, reservation_id, actor=client.name, now=datetime.now(UTC))
    return Response(status_code=204)


@router.get("/api/v1/reports/reservations")
def report(
    staff: CurrentStaff,
    session: SessionDep,
    store_id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Reserve-to-buy conversion per store, over closed reservations."""
    return {"rows": reservations.report(session, store_id=store_id)}


@router.get(
    "/api/v1/stores/{store_id}/reservations",
    tags=["downlink"],
    responses={
        304: {"description": "Unchanged (If-None-Match)"},
        401: {"description": "Missing or bad store signature, or unknown store key"},
    },
)
def for_store(store_id: str, store: StoreAuth, session: SessionDep, request: Request) -> Response:
    version = reservations.store_version(session, store_id)
    etag = f'"reservations-{version}"'
    if etag in {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}:
        return Response(status_code=304, headers={"ETag": etag})
    body = {
        "version": str(version),
        "reservations": [
            r.model_dump(mode="json") for r in reservations.open_for_store(session, store_id)
        ],
    }
    return JSONResponse(body, headers={"ETag": etag, "Cache-Control": "no-cache"})
