"""Catalog administration (what stores download as their catalog) and recommender models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool

from cloud_sync.hq import crud, schemas
from cloud_sync.hq.api.deps import AdminStaff, CurrentStaff, SessionDep
from cloud_sync.http_errors import unprocessable

router = APIRouter(
    prefix="/api/v1/catalog",
    tags=["catalog"],
    responses={
        404: {"description": "Not found (the message names what)"},
        409: {"description": "Conflicts with what exists (the message says how)"},
    },
)
models_router = APIRouter(prefix="/api/v1/models", tags=["models"])

MAX_MODEL_BYTES = 200 * 1024 * 1024


@router.get("")
def list_products(session: SessionDep, staff: CurrentStaff) -> list[schemas.ProductPublic]:
    return [
        schemas.ProductPublic.model_validate(p, from_attributes=True)
        for p in crud.list_products(session)
    ]


@router.put("", status_code=204)
def upsert_products(data: schemas.CatalogUpsert, session: SessionDep, staff: AdminStaff) -> None:
    crud.upsert_products(session, products=data.products, actor=staff.name, now=datetime.now(UTC))


@router.delete("/{gtin}", status_code=204)
def delete_product(gtin: str, session: SessionDep, staff: AdminStaff) -> None:
    crud.delete_product(session, gtin=gtin, actor=staff.name, now=datetime.now(UTC))


@models_router.post(
    "",
    status_code=201,
    responses={
        409: {"description": "This version exists with other bytes"},
        422: unprocessable("Bad version, or the body is not a model file (1 B to 200 MiB)"),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def upload_model(
    request: Request,
    session: SessionDep,
    staff: AdminStaff,
    version: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")],
) -> schemas.ModelPublic:
    """The raw ONNX file as the body; it becomes the current model for every store."""
    data = await request.body()
    if not data or len(data) > MAX_MODEL_BYTES:
        raise HTTPException(status_code=422, detail="Body must be the model file (1 B to 200 MiB)")
    model = await run_in_threadpool(
        crud.add_model,
        session,
        version=version,
        data=data,
        actor=staff.name,
        now=datetime.now(UTC),
    )
    return schemas.ModelPublic(
        version=model.version,
        sha256=model.sha256,
        size=model.size,
        url=f"/api/v1/stores/{{store_id}}/model/{model.version}",
    )
