"""Stores (with their credentials) and staff bearer tokens."""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_sync.hq import schemas
from cloud_sync.hq.core.security import (
    Vault,
    new_key_id,
    new_secret,
    new_staff_token,
    token_digest,
)
from cloud_sync.hq.crud.base import ConflictError, NotFoundError, as_utc, audit
from cloud_sync.hq.models import (
    StaffToken,
    Store,
)


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
