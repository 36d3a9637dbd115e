"""Administration: stores (with their credentials) and staff tokens."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request

from cloud_sync.hq import crud, schemas
from cloud_sync.hq.api.deps import AdminStaff, CurrentStaff, SessionDep, SettingsDep, VaultDep

router = APIRouter(
    prefix="/api/v1/admin",
    tags=["admin"],
    responses={
        404: {"description": "Not found (the message names what)"},
        409: {"description": "Conflicts with what exists (the message says how)"},
    },
)


@router.post("/stores", status_code=201)
def create_store(
    data: schemas.StoreCreate, session: SessionDep, vault: VaultDep, staff: AdminStaff
) -> schemas.StoreCredentials:
    now = datetime.now(UTC)
    created = crud.create_store(session, data=data, vault=vault, now=now)
    crud.audit(
        session,
        actor=staff.name,
        action="store.create",
        subject=f"store:{data.id}",
        detail={"key_id": created.key_id},
        now=now,
    )
    session.commit()
    return created


@router.get("/stores")
def list_stores(session: SessionDep, staff: CurrentStaff) -> list[schemas.StorePublic]:
    return [crud.store_public(s) for s in crud.list_stores(session)]


@router.patch("/stores/{store_id}")
def update_store(
    store_id: str,
    data: schemas.StoreUpdate,
    session: SessionDep,
    staff: AdminStaff,
    request: Request,
) -> schemas.StorePublic:
    store = crud.update_store(
        session, store_id=store_id, data=data, actor=staff.name, now=datetime.now(UTC)
    )
    request.app.state.store_keys.clear()
    return crud.store_public(store)


@router.post("/stores/{store_id}/rotate-key")
def rotate_store_key(
    store_id: str, session: SessionDep, vault: VaultDep, staff: AdminStaff, request: Request
) -> schemas.StoreCredentials:
    """New credentials, shown once; the old key is refused from now on (by other workers
    within their 30 s key cache)."""
    created = crud.rotate_store_key(
        session, store_id=store_id, vault=vault, actor=staff.name, now=datetime.now(UTC)
    )
    request.app.state.store_keys.clear()
    return created


@router.post("/staff", status_code=201)
def create_staff_token(
    data: schemas.StaffTokenCreate, session: SessionDep, staff: AdminStaff
) -> schemas.StaffTokenPublic:
    return crud.create_staff_token(session, data=data, actor=staff.name, now=datetime.now(UTC))


@router.post("/purge")
def purge(session: SessionDep, settings: SettingsDep, staff: AdminStaff) -> dict[str, list[str]]:
    """Run the retention purge of erased members now (the background loop also runs it)."""
    purged = crud.purge_erased(
        session, retention_days=settings.personal_data_retention_days, now=datetime.now(UTC)
    )
    return {"purged": purged}
