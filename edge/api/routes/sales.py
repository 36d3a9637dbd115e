"""POS sales over HTTP: ``POST /api/v1/sales`` (bearer token of a till, staff or admin device).

The body is a :class:`~edge.fusion.sales.SaleSubmission`. It is checked completely before
anything happens: a bad one gets 422 ``{"detail": "Invalid sale: nothing was recorded",
"problems": ["lines -> 0: ...", ...]}``. A valid one goes to the store through
:meth:`~edge.service.store.StoreService.record_sale` (the MQTT topic ``o2o/{store}/pos/sales``
uses the same method). Answers: 201 recorded, 200 duplicate (the same sale again: nothing
changed, the first answer is repeated), 409 conflict (the sale id was recorded with another
body), 503 when the store does not answer in time (retrying is safe: the sale id makes it
idempotent).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from cloud_sync.http_errors import unprocessable
from edge.api.deps import SalesDep, StoreDep
from edge.events.base import ms_to_datetime
from edge.fusion.sales import SaleStatus, SaleSubmission

INVALID = "Invalid sale: nothing was recorded"


def _problems(error: RequestValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        loc = [str(part) for part in item.get("loc", ())]
        where = " -> ".join(loc[1:] if loc[:1] == ["body"] else loc) or "body"
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        if item.get("type") == "extra_forbidden":
            message = "unknown field"
        problems.append(f"{where}: {message}")
    return problems


class _SaleRoute(APIRoute):
    """Answers a bad body with the problems listed one per line (the app's default 422 body
    repeats the input and pydantic internals, which a till integrator cannot act on)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                return JSONResponse(
                    status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                    content={"detail": INVALID, "problems": _problems(error)},
                )

        return route


router = APIRouter(prefix="/api/v1/sales", tags=["sales"], route_class=_SaleRoute)


class SalePublic(BaseModel):
    sale_id: str
    status: SaleStatus
    message: str
    recorded: datetime
    purchased_tryons: int
    epcs_sold: list[str]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "Duplicate: the same sale was recorded before; nothing changed"},
        409: {"description": "The sale id was recorded with a different body"},
        503: {"description": "The store did not answer in time; retrying the same sale is safe"},
        422: unprocessable("Invalid sale; nothing was recorded (the problems listed)"),
    },
)
def record_sale(sale: SaleSubmission, _: SalesDep, store: StoreDep) -> Any:
    result = store.record_sale(sale.to_payload())
    if result.status is SaleStatus.CONFLICT:
        raise HTTPException(status.HTTP_409_CONFLICT, result.message)
    body = SalePublic(
        sale_id=result.sale_id,
        status=result.status,
        message=result.message,
        recorded=ms_to_datetime(result.recorded_ms),
        purchased_tryons=result.purchased_tryons,
        epcs_sold=list(result.epcs_sold),
    )
    if result.status is SaleStatus.DUPLICATE:
        return JSONResponse(status_code=status.HTTP_200_OK, content=body.model_dump(mode="json"))
    return body
