"""Downlink: what each store pulls, by version (ETag / If-None-Match -> 304)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from cryptography.fernet import Fernet
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from cloud_sync import protocol
from cloud_sync.hq import crud, stock
from cloud_sync.hq.api.deps import SessionDep, SettingsDep, StoreAuth, VaultDep
from cloud_sync.hq.core.db import insert_for
from cloud_sync.hq.models import RecommenderModel, StoreConfirmation, StorePickup, table
from cloud_sync.hq.schemas import ProductPublic
from edge.events.stock import NearbyStock

router = APIRouter(
    prefix="/api/v1/stores",
    tags=["downlink"],
    responses={401: {"description": "Missing or bad store signature, or unknown store key"}},
)


def _picked_up(session: Session, store_id: str, resource: str, version: str) -> None:
    """First fetch of this version by this store (later fetches change nothing)."""
    bind = session.get_bind()
    session.execute(
        insert_for(bind.dialect.name, table(StorePickup))
        .values(store_id=store_id, resource=resource, version=version, first_at=datetime.now(UTC))
        .on_conflict_do_nothing()
    )
    session.commit()


GZIP_ABOVE_BYTES = 1024


def _versioned(request: Request, etag: str, build: Any) -> Response:
    """304 when the store holds ``etag``, else ``build()``: a JSON document, or its bytes."""
    if etag in {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}:
        return Response(status_code=304, headers={"ETag": etag})
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    body = build()
    if isinstance(body, bytes):
        if len(body) > GZIP_ABOVE_BYTES and "gzip" in request.headers.get("Accept-Encoding", ""):
            # Stores' links are often slow (DSL, 4G): a nearby-stock answer shrinks ~10 times.
            body = gzip.compress(body, compresslevel=5)
            headers |= {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        return Response(body, media_type="application/json", headers=headers)
    return JSONResponse(body, headers=headers)


@router.get("/{store_id}/catalog")
def catalog(store_id: str, store: StoreAuth, session: SessionDep, request: Request) -> Response:
    version = str(crud.version_of(session, name=crud.CATALOG))
    # A 304 too: the store holds this version.
    _picked_up(session, store_id, "catalog", version)
    return _versioned(
        request,
        f'"catalog-{version}"',
        lambda: {
            "version": version,
            # The one product definition, every field as HQ was given it (style, i18n, ...);
            # fields at their defaults are left out, as a catalog file may leave them out.
            "products": [
                ProductPublic.model_validate(p, from_attributes=True).model_dump(
                    mode="json", exclude_defaults=True
                )
                for p in crud.list_products(session)
            ],
        },
    )


@router.get("/{store_id}/gallery")
def gallery(
    store_id: str, store: StoreAuth, session: SessionDep, vault: VaultDep, request: Request
) -> Response:
    version = str(crud.version_of(session, name=crud.GALLERY))

    def build() -> dict[str, Any]:
        plain = json.dumps(crud.gallery(session, vault=vault)).encode()
        token = Fernet(protocol.derive_key(store.secret, "gallery")).encrypt(plain)
        return {"version": version, "token": token.decode()}

    return _versioned(request, f'"gallery-{version}"', build)


def _model_public(store_id: str, model: RecommenderModel) -> dict[str, Any]:
    return {
        "version": model.version,
        "sha256": model.sha256,
        "size": model.size,
        "url": f"/api/v1/stores/{store_id}/model/{model.version}",
    }


@router.get("/{store_id}/model")
def model(store_id: str, store: StoreAuth, session: SessionDep, request: Request) -> Response:
    current = crud.current_model(session)
    if current is None:
        raise HTTPException(status_code=404, detail="No model")
    return _versioned(
        request, f'"model-{current.sha256}"', lambda: _model_public(store_id, current)
    )


@router.get("/{store_id}/model/{version}")
def model_bytes(store_id: str, version: str, store: StoreAuth, session: SessionDep) -> Response:
    found = session.get(RecommenderModel, version)
    if found is None:
        raise HTTPException(status_code=404, detail="Model not found")
    _picked_up(session, store_id, "model", found.version)
    return Response(
        found.data,
        media_type="application/octet-stream",
        headers={"ETag": f'"model-{found.sha256}"'},
    )


@router.get("/{store_id}/erasures")
def erasures(
    store_id: str, store: StoreAuth, session: SessionDep, request: Request, since: int = 0
) -> Response:
    rows = crud.erasures_since(session, since=since)
    last = rows[-1].seq if rows else since
    return _versioned(
        request,
        f'"erasures-{since}-{last}"',
        lambda: {
            "erasures": [
                {
                    "seq": r.seq,
                    "member_id": r.member_id,
                    "erased_at": crud.as_utc(r.erased_at).isoformat().replace("+00:00", "Z"),
                }
                for r in rows
            ]
        },
    )


@router.get(
    "/{store_id}/nearby-stock",
    response_model=NearbyStock,
    responses={304: {"description": "Unchanged (If-None-Match)"}},
)
def nearby_stock(
    store_id: str,
    store: StoreAuth,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> Response:
    """The chain's stock of the catalog at the stores near this one (its tablets say where a
    size it lacks can be found). Stock only: nothing about members."""
    stores = stock.nearby_stores(
        session,
        store_id=store_id,
        radius_km=settings.nearby_radius_km,
        max_age_s=settings.stock_max_age_s,
        now=datetime.now(UTC),
    )
    version = stock.nearby_version(
        stores,
        catalog_version=crud.version_of(session, name=crud.CATALOG),
        settings=f"{settings.nearby_radius_km}|{settings.stock_max_age_s}|{settings.nearby_stores}",
    )

    def build() -> bytes:
        counts = stock.nearby_counts(session, stores, per_gtin=settings.nearby_stores)
        # Plain dicts and orjson: a store in a dense city gets some 15,000 entries, which
        # pydantic objects would take 7 times longer to build and dump (o2o-hq bench nearby).
        # The shape is NearbyStock's (response_model above; the edge validates with it).
        return orjson.dumps(
            {
                "radius_km": settings.nearby_radius_km,
                "max_age_s": settings.stock_max_age_s,
                "stores": [
                    {
                        "store_id": s.store_id,
                        "name": s.name,
                        "distance_km": s.distance_km,
                        "as_of": s.as_of.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    }
                    for s in stores
                ],
                "stock": {
                    gtin: [{"store_id": i, "count": n} for i, n in found]
                    for gtin, found in counts.items()
                },
            }
        )

    # Checked before the counts are read: an unchanged answer costs one small query.
    return _versioned(request, f'"nearby-{version}"', build)


class Confirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resource: Literal["gallery", "erasures"] = Field(description="What the store applied")
    version: int = Field(ge=0, le=2**31 - 1, description="Gallery version or last erasure seq")


@router.post(
    "/{store_id}/confirmations",
    status_code=204,
    responses={401: {"description": "Bad signature"}, 422: {"description": "Malformed body"}},
)
def confirm(store_id: str, store: StoreAuth, session: SessionDep) -> Response:
    """The store applied this gallery version or these erasures: the member page shows when
    each store confirmed a withdrawal or an erasure."""
    try:
        data = Confirmation.model_validate_json(store.body)
    except ValidationError as error:
        raise HTTPException(status_code=422, detail=error.errors(include_input=False)) from None
    session.add(
        StoreConfirmation(
            store_id=store_id, resource=data.resource, version=data.version, at=datetime.now(UTC)
        )
    )
    session.commit()
    return Response(status_code=204)
