"""Member faces over HTTP: enrol from photos, forget, identify. Administrative (bearer token).

Photos are read into memory, turned into at most one embedding each, and dropped; responses
carry member ids, counts and distances, never an embedding. Bad input gets a 4xx whose body
names the problem: ``{"detail": "...", ...}``.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, UploadFile, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.formparsers import MultiPartParser

from cloud_sync.http_errors import unprocessable
from edge.api.deps import AdminDep, FaceServiceDep
from edge.vision.consent import ConsentError
from edge.vision.enrolment import MemberIdError, PhotoInput, check_member_id

router = APIRouter(prefix="/api/v1/members", tags=["members"])

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTOS = 50
# Starlette spools uploads above 1 MiB to temporary files; a face photo must not touch the
# disk at all, so uploads stay in memory up to well past the size accepted here.
MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, 8 * MAX_PHOTO_BYTES)


class PhotoPublic(BaseModel):
    name: str
    """The photo's file name; a video's sampled frames are ``name @ 1.5 s``."""
    accepted: bool
    """Part of the member's template."""
    problem: str | None
    message: str
    quality: float | None = None
    """0-1, the score photos are ranked by (photos with a usable face only)."""
    notes: list[str] = []
    """What makes a usable photo weaker: small face, slightly blurred, slightly turned..."""


class EnrolmentPublic(BaseModel):
    member_id: str
    added: int
    """Embeddings added: one mean template of the kept photos (``vision.mean_templates``)."""
    photos_used: int
    embeddings: int
    photos: list[PhotoPublic]


class ForgetPublic(BaseModel):
    member_id: str
    embeddings_removed: int
    consent_removed: bool


class IdentifyPublic(BaseModel):
    member_id: str | None
    distance: float | None
    """None when the gallery is empty."""
    margin: float | None
    """None when no second member exists to compare with."""


def _finite(value: float) -> float | None:
    return round(value, 4) if math.isfinite(value) else None


def _read(upload: UploadFile) -> bytes:
    data = upload.file.read(MAX_PHOTO_BYTES + 1)
    if len(data) > MAX_PHOTO_BYTES:
        raise HTTPException(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            f"Photo {upload.filename} is larger than {MAX_PHOTO_BYTES // (1024 * 1024)} MiB",
        )
    return data


def _uploads(photos: list[UploadFile] | None) -> list[UploadFile]:
    uploads = [photo for photo in photos or [] if photo.filename or photo.size]
    if not uploads:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "No photo uploaded")
    if len(uploads) > MAX_PHOTOS:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"Too many photos: at most {MAX_PHOTOS} per request"
        )
    return uploads


def _in_memory(upload: UploadFile, number: int) -> PhotoInput:
    data = _read(upload)
    return PhotoInput(upload.filename or f"photo-{number}", lambda: data)


_PHOTO_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad member id, an empty upload, or too many photos"},
    413: {"description": "A photo or the request is too large"},
    503: {"description": "Face recognition is not set up on this edge (no gallery key)"},
}


@router.post(
    "/{member_id}/faces",
    status_code=status.HTTP_201_CREATED,
    responses={
        **_PHOTO_ERRORS,
        409: {"description": "No face-recognition consent recorded for the member"},
        422: unprocessable("No usable photo (each photo's problem listed)"),
    },
)
def enrol(
    member_id: str,
    _: AdminDep,
    service: FaceServiceDep,
    photos: Annotated[
        list[UploadFile],
        File(description="One face per photo, or a short video (MP4/AVI/MKV); the best kept"),
    ],
    consent_reference: Annotated[
        str | None, Form(description="Records the member's consent (signed form id) first")
    ] = None,
) -> Any:
    try:
        check_member_id(member_id)
    except MemberIdError as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
    if consent_reference is not None and not consent_reference.strip():
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "consent_reference is empty")
    inputs = [_in_memory(upload, n) for n, upload in enumerate(_uploads(photos), start=1)]
    try:
        report = service.enroll(member_id, inputs, consent_reference=consent_reference)
    except ConsentError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    body = EnrolmentPublic(
        member_id=report.member_id,
        added=report.added,
        photos_used=report.photos_used,
        embeddings=report.total,
        photos=[
            PhotoPublic(
                name=p.name,
                accepted=p.accepted,
                problem=p.problem.value if p.problem else None,
                message=p.message,
                quality=p.quality,
                notes=list(p.notes),
            )
            for p in report.photos
        ],
    )
    if not report.added:
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={"detail": "No usable photo", **body.model_dump(mode="json")},
        )
    return body


@router.delete("/{member_id}", responses={404: {"description": "Member not found"}})
def forget(member_id: str, _: AdminDep, service: FaceServiceDep) -> ForgetPublic:
    report = service.forget(member_id)
    if not report.found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Member not found")
    return ForgetPublic(
        member_id=report.member_id,
        embeddings_removed=report.embeddings_removed,
        consent_removed=report.consent_removed,
    )


@router.post(
    "/identify",
    responses={**_PHOTO_ERRORS, 422: unprocessable("No member matched, or no usable face")},
)
def identify(
    _: AdminDep,
    service: FaceServiceDep,
    photo: Annotated[UploadFile, File(description="A photo with one face")],
) -> Any:
    (upload,) = _uploads([photo])
    report = service.identify(_in_memory(upload, 1))
    if report.match is None:
        problem = report.problem.value if report.problem else None
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={"detail": report.message, "problem": problem},
        )
    return IdentifyPublic(
        member_id=report.match.member_id,
        distance=_finite(report.match.distance),
        margin=_finite(report.match.margin),
    )
