"""A member as the API shows them: identities, tags, current consents, points balance and
how many face templates they have."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud_sync.hq import schemas
from cloud_sync.hq.crud.base import as_utc
from cloud_sync.hq.crud.members import current_consents
from cloud_sync.hq.crud.points import points_balance
from cloud_sync.hq.models import Embedding, Member, MemberIdentity, MemberTag


def member_public(session: Session, *, member: Member) -> schemas.MemberPublic:
    identities = session.scalars(
        select(MemberIdentity)
        .where(MemberIdentity.member_id == member.id)
        .order_by(MemberIdentity.id)
    )
    tags = session.scalars(select(MemberTag).where(MemberTag.member_id == member.id))
    return schemas.MemberPublic(
        id=member.id,
        name=member.name,
        tier=member.tier,
        home_store_id=member.home_store_id,
        identities=[schemas.Identity(channel=i.channel, value=i.value) for i in identities],
        tags={t.key: t.value for t in tags},
        consents={
            c.scope: schemas.ConsentPublic(
                scope=schemas.ConsentScope(c.scope), given=c.given, at=as_utc(c.at), source=c.source
            )
            for c in current_consents(session, member_id=member.id)
        },
        points_balance=points_balance(session, member_id=member.id),
        embeddings=session.scalar(
            select(func.count()).select_from(Embedding).where(Embedding.member_id == member.id)
        )
        or 0,
        merged_into=member.merged_into,
        erased_at=as_utc(member.erased_at) if member.erased_at else None,
        created_at=as_utc(member.created_at),
    )
