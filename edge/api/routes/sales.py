"""POS sales over HTTP: ``POST /api/v1/sales`` (bearer token, like the other admin calls).

The body is a :class:`~edge.fusion.sales.SaleSubmission`. It is checked completely before
anything happens: a bad one gets 422 ``{"detail": "Invalid sale: nothing was recorded",
"problems": ["lines -> 0: ...", ...]}``. A valid one goes to the owner loop through
``app.state.submit_sale(payload) -> SaleResult`` (the runtime sets it; the MQTT topic
``o2o/{store}/pos/sales`` uses the same function). Answers: 201 recorded, 200 duplicate (the
same sale again: nothing changed, the first answer is repeated), 409 conflict (the sale id was
recorded with another body), 503 when the runtime is not there or does not answer in time
(retrying is safe: the sale id makes it idempotent).
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from edge.api.deps import AdminDep
from edge.events.base import ms_to_datetime
from edge.fusion.mqtt_inputs import SubmitSale
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


def get_submit_sale(request: Request) -> SubmitSale:
    submit: SubmitSale | None = getattr(request.app.state, "submit_sale", None)
    if submit is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "Sales unavailable: the store runtime is not running",
        )
    return submit


SubmitSaleDep = Annotated[SubmitSale, Depends(get_submit_sale)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "Duplicate: the same sale was recorded before; nothing changed"},
        409: {"description": "The sale id was recorded with a different body"},
        422: {"description": "Invalid sale; nothing was recorded"},
    },
)
def record_sale(sale: SaleSubmission, _: AdminDep, submit: SubmitSaleDep) -> Any:
    try:
        result = submit(sale.to_payload())
    except (TimeoutError, queue.Empty):
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "The store runtime did not answer in time; retrying the same sale is safe",
        ) from None
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
