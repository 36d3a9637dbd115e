"""Reports (JSON, or CSV with ``?format=csv``), EPCIS export and the notification log."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from cloud_sync.hq import empty, epcis, reports
from cloud_sync.hq.api.deps import CurrentStaff, SessionDep, SettingsDep
from cloud_sync.hq.crud import as_utc
from cloud_sync.hq.models import DeliveryAttempt, Notification, StoredEvent

router = APIRouter(
    prefix="/api/v1/reports",
    tags=["reports"],
    responses={
        200: {"description": "Rows as JSON, or as CSV with format=csv", "content": {"text/csv": {}}}
    },
)
exports_router = APIRouter(prefix="/api/v1/exports", tags=["exports"])

EXPORT_LIMIT = 100_000


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"


def _window(store_id: str | None, day_from: date | None, day_to: date | None) -> reports.Window:
    return reports.Window(store_id=store_id, day_from=day_from, day_to=day_to)


def _render(
    rows: list[dict[str, Any]], fmt: Format, name: str, why_empty: Callable[[], str] | None = None
) -> Response:
    if fmt is Format.JSON:
        body: dict[str, Any] = {"rows": rows}
        if not rows and why_empty is not None:
            body["why_empty"] = why_empty()
        return JSONResponse(body)
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


StoreQ = Annotated[str | None, Query()]
FromQ = Annotated[date | None, Query(alias="from")]
ToQ = Annotated[date | None, Query(alias="to")]


@router.get("/conversion")
def conversion(
    session: SessionDep,
    staff: CurrentStaff,
    group_by: reports.ConversionGroup = reports.ConversionGroup.PRODUCT,
    store_id: StoreQ = None,
    day_from: FromQ = None,
    day_to: ToQ = None,
    format: Format = Format.JSON,
) -> Response:
    """Try-on -> purchase conversion per product, category, store or day."""
    rows = reports.conversion(session, group=group_by, window=_window(store_id, day_from, day_to))
    return _render(
        rows,
        format,
        f"conversion-{group_by.value}",
        lambda: empty.no_data(
            session, what="try-ons", store_id=store_id, day_from=day_from, day_to=day_to
        ),
    )


@router.get("/tried-not-bought")
def tried_not_bought(
    session: SessionDep,
    staff: CurrentStaff,
    store_id: StoreQ = None,
    day_from: FromQ = None,
    day_to: ToQ = None,
    min_tries: Annotated[int, Query(ge=1)] = 5,
    max_conversion: Annotated[float, Query(ge=0, le=1)] = 0.1,
    format: Format = Format.JSON,
) -> Response:
    """Merchandising list: products tried often and bought rarely. When nothing qualifies,
    ``why_empty`` says which threshold kept the products out."""
    window = _window(store_id, day_from, day_to)
    rows = reports.tried_not_bought(
        session, window=window, min_tries=min_tries, max_conversion=max_conversion
    )

    def why() -> str:
        tried = reports.conversion(session, group=reports.ConversionGroup.PRODUCT, window=window)
        if not tried:
            return empty.no_data(
                session, what="try-ons", store_id=store_id, day_from=day_from, day_to=day_to
            )
        most = max(r["tries"] for r in tried)
        return empty.nothing_flagged(most, min_tries, max_conversion)

    return _render(rows, format, "tried-not-bought", why)


@router.get("/hourly")
def hourly(
    session: SessionDep,
    staff: CurrentStaff,
    store_id: StoreQ = None,
    day_from: FromQ = None,
    day_to: ToQ = None,
    format: Format = Format.JSON,
) -> Response:
    """Visits and try-ons per hour (UTC) per store."""
    return _render(
        reports.hourly(session, window=_window(store_id, day_from, day_to)),
        format,
        "hourly",
        lambda: empty.no_data(
            session, what="visits or try-ons", store_id=store_id, day_from=day_from, day_to=day_to
        ),
    )


@router.get("/shrink")
def shrink(
    session: SessionDep,
    staff: CurrentStaff,
    store_id: StoreQ = None,
    day_from: FromQ = None,
    day_to: ToQ = None,
    format: Format = Format.JSON,
) -> Response:
    """Items lost (and recovered) through the exit gates by store, hour (UTC) and product."""
    return _render(
        reports.shrink(session, window=_window(store_id, day_from, day_to)),
        format,
        "shrink",
        lambda: empty.no_data(
            session,
            what="exit alarms closed as lost or recovered",
            store_id=store_id,
            day_from=day_from,
            day_to=day_to,
        ),
    )


@router.get("/gate-false-alarms")
def gate_false_alarms(
    session: SessionDep,
    staff: CurrentStaff,
    store_id: StoreQ = None,
    day_from: FromQ = None,
    day_to: ToQ = None,
    format: Format = Format.JSON,
) -> Response:
    """Closed exit alarms and the false-alarm rate per store and exit."""
    rows = reports.gate_false_alarms(session, window=_window(store_id, day_from, day_to))
    return _render(
        rows,
        format,
        "gate-false-alarms",
        lambda: empty.no_data(
            session, what="closed exit alarms", store_id=store_id, day_from=day_from, day_to=day_to
        ),
    )


@router.get("/rfm")
def rfm(
    session: SessionDep,
    staff: CurrentStaff,
    store_id: StoreQ = None,
    day_from: FromQ = None,
    day_to: ToQ = None,
    format: Format = Format.JSON,
) -> Response:
    """Member recency (days), frequency (purchases), monetary (net amount), 1..5 scores and
    segment."""
    rows = reports.rfm(session, as_of=datetime.now(UTC), window=_window(store_id, day_from, day_to))
    return _render(
        rows,
        format,
        "rfm",
        lambda: empty.no_data(
            session, what="member purchases", store_id=store_id, day_from=day_from, day_to=day_to
        ),
    )


@router.get("/revenue")
def revenue(
    session: SessionDep,
    settings: SettingsDep,
    staff: CurrentStaff,
    store_id: StoreQ = None,
    day_from: FromQ = None,
    day_to: ToQ = None,
    format: Format = Format.JSON,
) -> Response:
    """Revenue per store with the home-store share rules applied."""
    rows = reports.revenue_share(
        session, settings=settings, window=_window(store_id, day_from, day_to)
    )
    return _render(
        rows,
        format,
        "revenue",
        lambda: empty.no_data(
            session, what="sales", store_id=store_id, day_from=day_from, day_to=day_to
        ),
    )


@router.get("/notifications")
def notifications(
    session: SessionDep,
    staff: CurrentStaff,
    member_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Delivery log: each queued notification with its attempts."""
    stmt = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if member_id is not None:
        stmt = stmt.where(Notification.member_id == member_id)
    out = []
    for n in session.scalars(stmt):
        attempts = session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.notification_id == n.id)
            .order_by(DeliveryAttempt.id)
        )
        out.append(
            {
                "id": n.id,
                "member_id": n.member_id,
                "kind": n.kind,
                "data": n.data,
                "status": n.status,
                "attempts": n.attempts,
                "last_error": n.last_error,
                "log": [
                    {
                        "at": as_utc(a.at).isoformat(),
                        "channel": a.channel,
                        "ok": a.ok,
                        "status_code": a.status_code,
                        "error": a.error,
                    }
                    for a in attempts
                ],
            }
        )
    return {"notifications": out}


@exports_router.get("/epcis")
def export_epcis(
    session: SessionDep,
    staff: CurrentStaff,
    store_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """RFID observations of one store as an EPCIS 2.0 document (at most 100,000 events)."""
    stmt = (
        select(StoredEvent.body)
        .where(StoredEvent.store_id == store_id, StoredEvent.type.in_(epcis.TAG_TYPES))
        .order_by(StoredEvent.ts, StoredEvent.event_id)
        .limit(EXPORT_LIMIT)
    )
    if since is not None:
        stmt = stmt.where(StoredEvent.ts >= since)
    if until is not None:
        stmt = stmt.where(StoredEvent.ts < until)
    return epcis.document(session.scalars(stmt), now=datetime.now(UTC))
