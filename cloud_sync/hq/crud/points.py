"""Member notifications (queued for delivery) and the points ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud_sync.hq import models, schemas
from cloud_sync.hq.core.config import NotifyChannel, Settings
from cloud_sync.hq.core.db import insert_for
from cloud_sync.hq.crud.base import ConflictError, audit
from cloud_sync.hq.crud.members import _live, has_consent
from cloud_sync.hq.models import (
    Notification,
    PointsEntry,
)


def queue_notification(
    session: Session,
    *,
    member_id: str,
    kind: str,
    data: dict[str, Any],
    settings: Settings,
    now: datetime,
    requested: bool = False,
) -> None:
    """Queue a member notification (delivered by notify.deliver_due), only when a channel is
    configured and the member's current marketing consent is given, or when the member asked
    for this very message (``requested``: a login code)."""
    if settings.notify_channel is NotifyChannel.NONE:
        return
    if not requested and not has_consent(
        session, member_id=member_id, scope=schemas.ConsentScope.MARKETING
    ):
        return
    session.add(
        Notification(
            member_id=member_id,
            kind=kind,
            data=data,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            last_error="",
        )
    )


def points_balance(session: Session, *, member_id: str) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(
                PointsEntry.member_id == member_id
            )
        )
        or 0
    )


def points_entries(session: Session, *, member_id: str) -> list[PointsEntry]:
    return list(
        session.scalars(
            select(PointsEntry).where(PointsEntry.member_id == member_id).order_by(PointsEntry.id)
        )
    )


def add_points_entry(
    session: Session, *, member_id: str, delta: int, cause: str, ref: str, note: str, now: datetime
) -> bool:
    """Insert one ledger entry unless (member, cause, ref) exists; True when inserted."""
    table = models.table(PointsEntry)
    result = session.execute(
        insert_for(session.get_bind().dialect.name, table)
        .values(member_id=member_id, delta=delta, cause=cause, ref=ref, note=note, at=now)
        .on_conflict_do_nothing(index_elements=[table.c.member_id, table.c.cause, table.c.ref])
        .returning(table.c.id)
    )
    return result.first() is not None


def adjust_points(
    session: Session,
    *,
    member_id: str,
    data: schemas.PointsAdjust,
    settings: Settings,
    actor: str,
    now: datetime,
) -> bool:
    member = _live(session, member_id)
    if data.delta < 0 and points_balance(session, member_id=member.id) + data.delta < 0:
        raise ConflictError("Insufficient points")
    inserted = add_points_entry(
        session,
        member_id=member.id,
        delta=data.delta,
        cause=data.cause,
        ref=data.ref,
        note=data.note,
        now=now,
    )
    if inserted:
        queue_notification(
            session,
            member_id=member.id,
            kind="points",
            data={"delta": data.delta, "cause": data.cause},
            settings=settings,
            now=now,
        )
    audit(
        session,
        actor=actor,
        action="points.adjust",
        subject=f"member:{member.id}",
        detail={"delta": data.delta, "cause": data.cause, "ref": data.ref},
        now=now,
    )
    session.commit()
    return inserted
