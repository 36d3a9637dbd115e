"""Members: one id across channels, consent, points, biometrics, merge and erasure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from cloud_sync.hq import crud, schemas
from cloud_sync.hq.api.deps import AdminStaff, CurrentStaff, SessionDep, SettingsDep, VaultDep
from cloud_sync.hq.enrolment import PhotoEnroller, PhotoRejected

router = APIRouter(
    prefix="/api/v1/members",
    tags=["members"],
    responses={
        404: {"description": "Not found (the message names what)"},
        409: {"description": "Conflicts with what exists (the message says how)"},
    },
)


def _now() -> datetime:
    return datetime.now(UTC)


@router.post("", status_code=201)
def create_member(
    data: schemas.MemberCreate, session: SessionDep, staff: AdminStaff
) -> schemas.MemberPublic:
    member = crud.create_member(session, data=data, actor=staff.name, now=_now())
    return crud.member_public(session, member=member)


@router.get("/lookup")
def lookup_member(
    channel: str, value: str, session: SessionDep, staff: CurrentStaff
) -> schemas.MemberPublic:
    """Find a member by any channel identity (phone, email, wechat_openid, ...)."""
    member = crud.find_member(session, channel=channel, value=value)
    return crud.member_public(session, member=member)


@router.get("/{member_id}")
def read_member(member_id: str, session: SessionDep, staff: CurrentStaff) -> schemas.MemberPublic:
    return crud.member_public(session, member=crud.get_member(session, member_id=member_id))


@router.patch("/{member_id}")
def update_member(
    member_id: str, data: schemas.MemberUpdate, session: SessionDep, staff: AdminStaff
) -> schemas.MemberPublic:
    member = crud.update_member(
        session, member_id=member_id, data=data, actor=staff.name, now=_now()
    )
    return crud.member_public(session, member=member)


@router.post("/{member_id}/merge")
def merge_member(
    member_id: str, data: schemas.MemberMerge, session: SessionDep, staff: AdminStaff
) -> schemas.MemberPublic:
    """Fold ``duplicate_id`` into this member: identities, tags, points move here."""
    member = crud.merge_members(
        session, member_id=member_id, duplicate_id=data.duplicate_id, actor=staff.name, now=_now()
    )
    return crud.member_public(session, member=member)


@router.post("/{member_id}/consents", status_code=201)
def record_consent(
    member_id: str, data: schemas.ConsentCreate, session: SessionDep, staff: AdminStaff
) -> schemas.MemberPublic:
    crud.record_consent(session, member_id=member_id, data=data, actor=staff.name, now=_now())
    return crud.member_public(session, member=crud.get_member(session, member_id=member_id))


@router.get("/{member_id}/points")
def points(member_id: str, session: SessionDep, staff: CurrentStaff) -> dict[str, Any]:
    member = crud.get_member(session, member_id=member_id)
    entries = crud.points_entries(session, member_id=member.id)
    return {
        "member_id": member.id,
        "balance": sum(e.delta for e in entries),
        "entries": [
            schemas.PointsEntryPublic(
                delta=e.delta, cause=e.cause, ref=e.ref, note=e.note, at=crud.as_utc(e.at)
            ).model_dump(mode="json")
            for e in entries
        ],
    }


@router.post("/{member_id}/points", status_code=201)
def adjust_points(
    member_id: str,
    data: schemas.PointsAdjust,
    session: SessionDep,
    settings: SettingsDep,
    staff: AdminStaff,
) -> dict[str, Any]:
    inserted = crud.adjust_points(
        session, member_id=member_id, data=data, settings=settings, actor=staff.name, now=_now()
    )
    return {"applied": inserted, "balance": crud.points_balance(session, member_id=member_id)}


@router.post("/{member_id}/embeddings", status_code=201)
def add_embeddings(
    member_id: str,
    data: schemas.EmbeddingsCreate,
    session: SessionDep,
    vault: VaultDep,
    staff: AdminStaff,
) -> schemas.MemberPublic:
    """Face embeddings computed elsewhere (never images); needs face-recognition consent."""
    crud.add_embeddings(
        session,
        member_id=member_id,
        vectors=data.embeddings,
        vault=vault,
        actor=staff.name,
        now=_now(),
    )
    return crud.member_public(session, member=crud.get_member(session, member_id=member_id))


MAX_ENROLMENT_PHOTOS = 20


class _InMemoryParser(MultiPartParser):
    """Starlette spools parts above 1 MiB to temporary files: a face photo must not touch the
    disk, and the body limit (``max_body_bytes``) already bounds the memory."""

    spool_max_size = 1 << 40


async def _enrolment_photos(request: Request) -> list[tuple[str, bytes]]:
    """multipart/form-data with ``photos`` files (several photos), or the body itself (one
    photo or a short video, named by ``X-Photo-Name``). Kept in memory, never on disk."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return [(request.headers.get("X-Photo-Name", "photo"), await request.body())]
    parser = _InMemoryParser(request.headers, request.stream(), max_files=MAX_ENROLMENT_PHOTOS)
    try:
        form = await parser.parse()
    except MultiPartException as error:
        raise HTTPException(status_code=400, detail=error.message) from None
    try:
        photos = []
        for number, upload in enumerate(form.getlist("photos"), start=1):
            if isinstance(upload, UploadFile):
                await upload.seek(0)
                photos.append((upload.filename or f"photo-{number}", await upload.read()))
    finally:
        await form.close()
    if not photos:
        raise HTTPException(status_code=400, detail="No photo uploaded (multipart field photos)")
    return photos


@router.post(
    "/{member_id}/photos",
    status_code=201,
    responses={
        400: {"description": "A multipart body without photos, or more than 20"},
        422: {"description": "No usable photo (each photo's reason listed)"},
    },
)
async def enrol_photo(
    member_id: str, request: Request, session: SessionDep, vault: VaultDep, staff: AdminStaff
) -> schemas.PhotoEnrolmentPublic:
    """One enrolment: a photo or a short video as the body, or several photos as
    multipart/form-data ``photos``. The best few by quality are averaged into one template
    (as the stores enrol); each photo's outcome is in ``photos``. Consent is checked before
    any photo is looked at; photos are never stored."""
    member = await run_in_threadpool(crud.get_member, session, member_id=member_id)
    consented = await run_in_threadpool(
        crud.has_consent, session, member_id=member.id, scope=schemas.ConsentScope.FACE_RECOGNITION
    )
    if not consented:
        raise HTTPException(status_code=409, detail="No face-recognition consent")
    enroller: PhotoEnroller = request.app.state.enroller
    photos = await _enrolment_photos(request)
    try:
        template = await run_in_threadpool(enroller.template, photos)
    except PhotoRejected as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    await run_in_threadpool(
        crud.add_embeddings,
        session,
        member_id=member.id,
        vectors=[[float(x) for x in row] for row in template.embeddings],
        vault=vault,
        actor=staff.name,
        now=_now(),
    )
    public = await run_in_threadpool(crud.member_public, session, member=member)
    return schemas.PhotoEnrolmentPublic(
        **public.model_dump(),
        photos=[
            schemas.PhotoOutcome(
                name=p.name,
                accepted=p.accepted,
                problem=p.problem.value if p.problem else None,
                message=p.message,
                quality=p.quality,
                notes=list(p.notes),
            )
            for p in template.photos
        ],
    )


@router.delete("/{member_id}")
def erase_member(
    member_id: str, session: SessionDep, settings: SettingsDep, staff: AdminStaff
) -> dict[str, Any]:
    """Erasure: embeddings removed now (and from every store at its next sync); personal
    data after ``personal_data_retention_days`` (0 = now)."""
    now = _now()
    erasure = crud.erase_member(session, member_id=member_id, actor=staff.name, now=now)
    purged = crud.purge_erased(
        session, retention_days=settings.personal_data_retention_days, now=now
    )
    return {"member_id": member_id, "seq": erasure.seq, "personal_data_purged": member_id in purged}


@router.get("/{member_id}/audit")
def audit_trail(member_id: str, session: SessionDep, staff: CurrentStaff) -> list[dict[str, Any]]:
    return [
        {
            "at": crud.as_utc(a.at).isoformat(),
            "actor": a.actor,
            "action": a.action,
            "detail": a.detail,
        }
        for a in crud.audit_trail(session, subject=f"member:{member_id}")
    ]
