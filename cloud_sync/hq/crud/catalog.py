"""The product catalog and the recommender models the stores download."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_sync.hq import schemas
from cloud_sync.hq.crud.base import CATALOG, ConflictError, NotFoundError, audit, bump_version
from cloud_sync.hq.models import (
    Product,
    RecommenderModel,
)


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
