"""Biometric templates, merging duplicate members, erasure and the purge of personal data."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cloud_sync.hq import rollups, schemas
from cloud_sync.hq.core.security import (
    Vault,
)
from cloud_sync.hq.crud.base import GALLERY, ConflictError, audit, bump_version
from cloud_sync.hq.crud.members import _live, get_member, has_consent
from cloud_sync.hq.crud.points import add_points_entry, points_balance
from cloud_sync.hq.models import (
    Consent,
    Embedding,
    Erasure,
    Member,
    MemberIdentity,
    MemberTag,
)


def add_embeddings(
    session: Session,
    *,
    member_id: str,
    vectors: Sequence[Sequence[float]],
    vault: Vault,
    actor: str,
    now: datetime,
) -> None:
    member = _live(session, member_id)
    if not has_consent(session, member_id=member.id, scope=schemas.ConsentScope.FACE_RECOGNITION):
        raise ConflictError("No face-recognition consent")
    for vector in vectors:
        session.add(
            Embedding(
                member_id=member.id,
                vector_encrypted=vault.encrypt(json.dumps([float(x) for x in vector]).encode()),
                created_at=now,
            )
        )
    bump_version(session, name=GALLERY)
    audit(
        session,
        actor=actor,
        action="embeddings.add",
        subject=f"member:{member.id}",
        detail={"count": len(vectors)},
        now=now,
    )
    session.commit()


def gallery(session: Session, *, vault: Vault) -> dict[str, Any]:
    """Embeddings of members whose current face-recognition consent is given, plus erasures."""
    members: dict[str, list[list[float]]] = {}
    rows = session.execute(
        select(Embedding.member_id, Embedding.vector_encrypted)
        .join(Member, Member.id == Embedding.member_id)
        .where(Member.erased_at.is_(None), Member.merged_into.is_(None))
        .order_by(Embedding.member_id, Embedding.id)
    )
    for member_id, blob in rows:
        members.setdefault(member_id, []).append(json.loads(vault.decrypt(blob)))
    # Latest face-recognition consent record per member, in one query.
    latest: dict[str, bool] = {}
    consents = session.execute(
        select(Consent.member_id, Consent.given)
        .where(Consent.scope == schemas.ConsentScope.FACE_RECOGNITION.value)
        .order_by(Consent.at, Consent.id)
    )
    for member_id, given in consents:
        latest[member_id] = given
    consented = [m for m in members if latest.get(m, False)]
    erased = list(session.scalars(select(Erasure.member_id).order_by(Erasure.seq)))
    return {
        "members": [{"member_id": m, "embeddings": members[m]} for m in consented],
        "erased": erased,
    }


def erasures_since(session: Session, *, since: int) -> list[Erasure]:
    return list(session.scalars(select(Erasure).where(Erasure.seq > since).order_by(Erasure.seq)))


def merge_members(
    session: Session, *, member_id: str, duplicate_id: str, actor: str, now: datetime
) -> Member:
    if member_id == duplicate_id:
        raise ConflictError("Cannot merge a member into itself")
    target = _live(session, member_id)
    dup = _live(session, duplicate_id)
    session.execute(
        update(MemberIdentity).where(MemberIdentity.member_id == dup.id).values(member_id=target.id)
    )
    target_keys = set(
        session.scalars(select(MemberTag.key).where(MemberTag.member_id == target.id))
    )
    for tag in session.scalars(select(MemberTag).where(MemberTag.member_id == dup.id)).all():
        if tag.key in target_keys:
            session.delete(tag)
        else:
            tag.member_id = target.id
    # Consent is not transferable: the merged member keeps only the target's own records.
    session.execute(delete(Embedding).where(Embedding.member_id == dup.id))
    balance = points_balance(session, member_id=dup.id)
    if balance:
        add_points_entry(
            session,
            member_id=dup.id,
            delta=-balance,
            cause="merge_out",
            ref=target.id,
            note=f"merged into {target.id}",
            now=now,
        )
        add_points_entry(
            session,
            member_id=target.id,
            delta=balance,
            cause="merge_in",
            ref=dup.id,
            note=f"merged from {dup.id}",
            now=now,
        )
    dup.merged_into = target.id
    dup.updated_at = target.updated_at = now
    bump_version(session, name=GALLERY)
    audit(
        session,
        actor=actor,
        action="member.merge",
        subject=f"member:{target.id}",
        detail={"duplicate_id": dup.id, "points": balance},
        now=now,
    )
    session.commit()
    return target


def erase_member(session: Session, *, member_id: str, actor: str, now: datetime) -> Erasure:
    """Biometric data goes at once; personal data when the retention period ends (purge)."""
    member = get_member(session, member_id=member_id)
    if member.erased_at is not None:
        raise ConflictError("Member is already erased")
    removed = session.execute(delete(Embedding).where(Embedding.member_id == member.id))
    removed_count = int(getattr(removed, "rowcount", 0))
    member.erased_at = now
    rollups.forget_member(session, member_id=member.id)
    member.updated_at = now
    erasure = Erasure(member_id=member.id, erased_at=now)
    session.add(erasure)
    bump_version(session, name=GALLERY)
    audit(
        session,
        actor=actor,
        action="member.erase",
        subject=f"member:{member.id}",
        detail={"embeddings_removed": removed_count},
        now=now,
    )
    session.commit()
    return erasure


def purge_erased(session: Session, *, retention_days: int, now: datetime) -> list[str]:
    """Remove the personal data of members erased more than ``retention_days`` ago.

    Kept: the member id (random, not personal), points ledger and sales lines (accounting),
    the audit trail. Removed: name, identities (phone, e-mail, external ids), tags, consents.
    """
    cutoff = now - timedelta(days=retention_days)
    # SKIP LOCKED: workers purging at the same moment each take different members.
    due = session.scalars(
        select(Member)
        .where(
            Member.erased_at.is_not(None), Member.erased_at <= cutoff, Member.purged_at.is_(None)
        )
        .with_for_update(skip_locked=True)
    ).all()
    for member in due:
        for table in (MemberIdentity, MemberTag, Consent):
            session.execute(delete(table).where(table.member_id == member.id))
        member.name = None
        member.purged_at = now
        audit(
            session,
            actor="system",
            action="member.purge",
            subject=f"member:{member.id}",
            detail={"retention_days": retention_days},
            now=now,
        )
    session.commit()
    return [m.id for m in due]
