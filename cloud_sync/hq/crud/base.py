"""What every part of HQ's records shares: errors, UTC times, the audit log, and the
downlink version counters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_sync.hq import models
from cloud_sync.hq.core.db import insert_for
from cloud_sync.hq.models import (
    AuditEntry,
    DownlinkVersion,
)

GALLERY = "gallery"
CATALOG = "catalog"


class NotFoundError(LookupError):
    """Answered 404 with the message as detail."""


class ConflictError(ValueError):
    """Answered 409 with the message as detail."""


def as_utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything HQ writes is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    session.add(AuditEntry(at=now, actor=actor, action=action, subject=subject, detail=detail))


def bump_version(session: Session, *, name: str) -> None:
    table = models.table(DownlinkVersion)
    stmt = insert_for(session.get_bind().dialect.name, table).values(name=name, version=1)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.name], set_={"version": table.c.version + 1}
        )
    )


def version_of(session: Session, *, name: str) -> int:
    return session.scalar(select(DownlinkVersion.version).where(DownlinkVersion.name == name)) or 0


def audit_trail(session: Session, *, subject: str) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.subject == subject).order_by(AuditEntry.id)
        )
    )
