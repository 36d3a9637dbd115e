"""Members: one id across channels, their identities, tags and consent."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cloud_sync.hq import rollups, schemas
from cloud_sync.hq.crud.base import (
    GALLERY,
    ConflictError,
    NotFoundError,
    audit,
    bump_version,
    version_of,
)
from cloud_sync.hq.crud.stores import _get_store, nearest_store
from cloud_sync.hq.models import (
    Consent,
    Embedding,
    Member,
    MemberIdentity,
    MemberTag,
)


def get_member(session: Session, *, member_id: str) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFoundError("Member not found")
    return member


def resolve_member(session: Session, *, member_id: str) -> Member | None:
    """The live member behind an id (following merges), or None if unknown or erased."""
    member = session.get(Member, member_id)
    seen: set[str] = set()
    while member is not None and member.merged_into and member.id not in seen:
        seen.add(member.id)
        member = session.get(Member, member.merged_into)
    if member is None or member.erased_at is not None:
        return None
    return member


def _add_identities(
    session: Session, *, member: Member, identities: Sequence[schemas.Identity]
) -> None:
    for identity in identities:
        owner = session.scalar(
            select(MemberIdentity.member_id).where(
                MemberIdentity.channel == identity.channel, MemberIdentity.value == identity.value
            )
        )
        if owner is not None and owner != member.id:
            raise ConflictError(f"{identity.channel} already belongs to another member")
        if owner is None:
            session.add(
                MemberIdentity(member_id=member.id, channel=identity.channel, value=identity.value)
            )


def _set_tags(session: Session, *, member: Member, tags: dict[str, str | None]) -> None:
    for key, value in tags.items():
        row = session.scalars(
            select(MemberTag).where(MemberTag.member_id == member.id, MemberTag.key == key)
        ).first()
        if value is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(MemberTag(member_id=member.id, key=key, value=value))
        else:
            row.value = value


def create_member(
    session: Session, *, data: schemas.MemberCreate, actor: str, now: datetime
) -> Member:
    home = data.home_store_id
    if home is not None:
        _get_store(session, home)
    elif data.latitude is not None and data.longitude is not None:
        nearest = nearest_store(session, latitude=data.latitude, longitude=data.longitude)
        home = nearest.id if nearest is not None else None
    if data.id is not None and session.get(Member, data.id) is not None:
        raise ConflictError(f"Member {data.id} already exists")
    member = Member(
        id=data.id or "m_" + uuid.uuid4().hex[:20],
        name=data.name,
        tier=data.tier,
        home_store_id=home,
        created_at=now,
        updated_at=now,
    )
    session.add(member)
    session.flush()
    _add_identities(session, member=member, identities=data.identities)
    _set_tags(session, member=member, tags=dict(data.tags))
    audit(
        session,
        actor=actor,
        action="member.create",
        subject=f"member:{member.id}",
        detail={"home_store_id": home},
        now=now,
    )
    _commit_unique(session)
    return member


def _commit_unique(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError:
        # Two requests raced for the same phone / e-mail / openid.
        session.rollback()
        raise ConflictError("Identity already belongs to another member") from None


def _live(session: Session, member_id: str) -> Member:
    member = get_member(session, member_id=member_id)
    if member.erased_at is not None:
        raise ConflictError("Member is erased")
    if member.merged_into is not None:
        raise ConflictError(f"Member was merged into {member.merged_into}")
    return member


def update_member(
    session: Session, *, member_id: str, data: schemas.MemberUpdate, actor: str, now: datetime
) -> Member:
    member = _live(session, member_id)
    if data.name is not None:
        member.name = data.name
    if data.tier is not None:
        member.tier = data.tier
    if data.home_store_id is not None:
        _get_store(session, data.home_store_id)
        rollups.move_home(
            session, member_id=member.id, old=member.home_store_id, new=data.home_store_id
        )
        member.home_store_id = data.home_store_id
    if data.identities is not None:
        _add_identities(session, member=member, identities=data.identities)
    if data.tags is not None:
        _set_tags(session, member=member, tags=data.tags)
    member.updated_at = now
    audit(
        session,
        actor=actor,
        action="member.update",
        subject=f"member:{member.id}",
        detail=data.model_dump(exclude_none=True, exclude={"identities"}),
        now=now,
    )
    _commit_unique(session)
    return member


def find_member(session: Session, *, channel: str, value: str) -> Member:
    member_id = session.scalar(
        select(MemberIdentity.member_id).where(
            MemberIdentity.channel == channel, MemberIdentity.value == value
        )
    )
    if member_id is None:
        raise NotFoundError("Member not found")
    return get_member(session, member_id=member_id)


def current_consents(session: Session, *, member_id: str) -> list[Consent]:
    latest: dict[str, Consent] = {}
    rows = session.scalars(
        select(Consent).where(Consent.member_id == member_id).order_by(Consent.at, Consent.id)
    )
    for row in rows:
        latest[row.scope] = row
    return list(latest.values())


def has_consent(session: Session, *, member_id: str, scope: schemas.ConsentScope) -> bool:
    return any(
        c.scope == scope.value and c.given for c in current_consents(session, member_id=member_id)
    )


def record_consent(
    session: Session, *, member_id: str, data: schemas.ConsentCreate, actor: str, now: datetime
) -> None:
    member = _live(session, member_id)
    consent = Consent(
        member_id=member.id,
        scope=data.scope.value,
        given=data.given,
        at=data.at or now,
        source=data.source,
    )
    session.add(consent)
    if data.scope is schemas.ConsentScope.FACE_RECOGNITION:
        if not data.given:
            # Withdrawal of face consent removes the biometric data, not just its use.
            session.execute(delete(Embedding).where(Embedding.member_id == member.id))
        bump_version(session, name=GALLERY)
        consent.gallery_version = version_of(session, name=GALLERY)
    audit(
        session,
        actor=actor,
        action="consent.record",
        subject=f"member:{member.id}",
        detail={"scope": data.scope.value, "given": data.given, "source": data.source},
        now=now,
    )
    session.commit()
