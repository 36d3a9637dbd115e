"""Database operations for everything but the ingestion hot path. Keyword-only arguments."""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cloud_sync.hq import models, schemas
from cloud_sync.hq.core.config import NotifyChannel, Settings
from cloud_sync.hq.core.db import insert_for
from cloud_sync.hq.core.security import (
    Vault,
    new_key_id,
    new_secret,
    new_staff_token,
    token_digest,
)
from cloud_sync.hq.models import (
    AuditEntry,
    Consent,
    DownlinkVersion,
    Embedding,
    Erasure,
    Member,
    MemberIdentity,
    MemberTag,
    Notification,
    PointsEntry,
    Product,
    RecommenderModel,
    StaffToken,
    Store,
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


# --- stores and staff -------------------------------------------------------------------


def create_store(
    session: Session, *, data: schemas.StoreCreate, vault: Vault, now: datetime
) -> schemas.StoreCredentials:
    if session.get(Store, data.id) is not None:
        raise ConflictError("Store already exists")
    secret = new_secret()
    store = Store(
        id=data.id,
        name=data.name,
        latitude=data.latitude,
        longitude=data.longitude,
        key_id=new_key_id(),
        secret_encrypted=vault.encrypt(secret.encode()),
        active=True,
        created_at=now,
    )
    session.add(store)
    session.commit()
    return schemas.StoreCredentials(**store_public(store).model_dump(), secret=secret)


def _get_store(session: Session, store_id: str) -> Store:
    store = session.get(Store, store_id)
    if store is None:
        raise NotFoundError("Store not found")
    return store


def update_store(
    session: Session, *, store_id: str, data: schemas.StoreUpdate, actor: str, now: datetime
) -> Store:
    store = _get_store(session, store_id)
    changes = data.model_dump(exclude_none=True)
    for key, value in changes.items():
        setattr(store, key, value)
    audit(
        session,
        actor=actor,
        action="store.update",
        subject=f"store:{store_id}",
        detail=changes,
        now=now,
    )
    session.commit()
    return store


def rotate_store_key(
    session: Session, *, store_id: str, vault: Vault, actor: str, now: datetime
) -> schemas.StoreCredentials:
    """A new key id and secret; the old key stops working (within the workers' key cache TTL)."""
    store = _get_store(session, store_id)
    secret = new_secret()
    old_key = store.key_id
    store.key_id = new_key_id()
    store.secret_encrypted = vault.encrypt(secret.encode())
    audit(
        session,
        actor=actor,
        action="store.rotate_key",
        subject=f"store:{store_id}",
        detail={"old_key_id": old_key, "key_id": store.key_id},
        now=now,
    )
    session.commit()
    return schemas.StoreCredentials(**store_public(store).model_dump(), secret=secret)


def store_public(store: Store) -> schemas.StorePublic:
    return schemas.StorePublic(
        id=store.id,
        name=store.name,
        latitude=store.latitude,
        longitude=store.longitude,
        key_id=store.key_id,
        active=store.active,
        created_at=as_utc(store.created_at),
    )


def list_stores(session: Session) -> list[Store]:
    return list(session.scalars(select(Store).order_by(Store.id)))


def store_by_key(session: Session, *, key_id: str) -> Store | None:
    return session.scalars(select(Store).where(Store.key_id == key_id)).first()


def nearest_store(session: Session, *, latitude: float, longitude: float) -> Store | None:
    stores = session.scalars(select(Store).where(Store.active.is_(True))).all()
    return min(
        stores,
        key=lambda s: haversine_km(latitude, longitude, s.latitude, s.longitude),
        default=None,
    )


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def create_staff_token(
    session: Session, *, data: schemas.StaffTokenCreate, actor: str, now: datetime
) -> schemas.StaffTokenPublic:
    token = new_staff_token()
    row = StaffToken(
        name=data.name, role=data.role.value, token_sha256=token_digest(token), created_at=now
    )
    session.add(row)
    session.flush()
    audit(
        session,
        actor=actor,
        action="staff.create",
        subject=f"staff:{row.id}",
        detail={"name": data.name, "role": data.role.value},
        now=now,
    )
    session.commit()
    return schemas.StaffTokenPublic(id=row.id, name=row.name, role=data.role, token=token)


def staff_by_token(session: Session, *, token: str) -> StaffToken | None:
    return session.scalars(
        select(StaffToken).where(StaffToken.token_sha256 == token_digest(token))
    ).first()


# --- downlink versions, catalog, models --------------------------------------------------


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


def upsert_products(
    session: Session, *, products: Sequence[schemas.ProductCreate], actor: str, now: datetime
) -> None:
    for product in products:
        session.merge(Product(**product.model_dump()))
    bump_version(session, name=CATALOG)
    audit(
        session,
        actor=actor,
        action="catalog.upsert",
        subject="catalog",
        detail={"gtins": [p.gtin for p in products]},
        now=now,
    )
    session.commit()


def delete_product(session: Session, *, gtin: str, actor: str, now: datetime) -> None:
    product = session.get(Product, gtin)
    if product is None:
        raise NotFoundError("Product not found")
    session.delete(product)
    bump_version(session, name=CATALOG)
    audit(
        session, actor=actor, action="catalog.delete", subject=f"product:{gtin}", detail={}, now=now
    )
    session.commit()


def list_products(session: Session) -> list[Product]:
    return list(session.scalars(select(Product).order_by(Product.gtin)))


def add_model(
    session: Session, *, version: str, data: bytes, actor: str, now: datetime
) -> RecommenderModel:
    if session.get(RecommenderModel, version) is not None:
        raise ConflictError("Model version already exists")
    model = RecommenderModel(
        version=version,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        data=data,
        created_at=now,
    )
    session.add(model)
    audit(
        session,
        actor=actor,
        action="model.upload",
        subject=f"model:{version}",
        detail={"sha256": model.sha256, "size": model.size},
        now=now,
    )
    session.commit()
    return model


def current_model(session: Session) -> RecommenderModel | None:
    return session.scalars(
        select(RecommenderModel).order_by(RecommenderModel.created_at.desc()).limit(1)
    ).first()


# --- members ------------------------------------------------------------------------------


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


def find_member(session: Session, *, channel: str, value: str) -> Member:
    member_id = session.scalar(
        select(MemberIdentity.member_id).where(
            MemberIdentity.channel == channel, MemberIdentity.value == value
        )
    )
    if member_id is None:
        raise NotFoundError("Member not found")
    return get_member(session, member_id=member_id)


# --- consent --------------------------------------------------------------------------------


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


# --- notifications -----------------------------------------------------------------------


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


# --- points -----------------------------------------------------------------------------------


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


# --- biometrics, merge, erasure ---------------------------------------------------------------


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


def audit_trail(session: Session, *, subject: str) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.subject == subject).order_by(AuditEntry.id)
        )
    )
