"""The members' own page: ``/me`` and its API under ``/api/v1/me`` (cookie session, CSRF
header on every change). docs/hq.md, "Members' page"."""

from __future__ import annotations

import collections
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Cookie, Depends, Header, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from cloud_sync.hq import crud, member_page, schemas
from cloud_sync.hq.api.deps import SessionDep, SettingsDep, VaultDep
from cloud_sync.hq.enrolment import PhotoEnroller, PhotoRejected
from cloud_sync.hq.models import MemberSession

STATIC = Path(__file__).resolve().parents[2] / "member_static"
COOKIE = "o2o_member"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
MAX_SELFIE_BYTES = 8 * 1024 * 1024

router = APIRouter(tags=["member page"])
_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in (or the session ended)"}
}
_CHANGE: dict[int | str, dict[str, Any]] = {
    **_UNAUTHORIZED,
    403: {"description": "Missing or wrong X-CSRF-Token"},
}


class CodeRequestThrottle:
    """At most ``limit`` code requests per client address per ``window_s`` (per worker; one
    per app, made by ``create_app``)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self._seen: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, address: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:  # forget the quiet ones rather than grow
                self._seen = {
                    a: d for a, d in self._seen.items() if d and d[-1] > now - self.window_s
                }
            seen = self._seen.setdefault(address, collections.deque())
            while seen and seen[0] <= now - self.window_s:
                seen.popleft()
            if len(seen) >= self.limit:
                return False
            seen.append(now)
            return True


class CodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Literal["phone", "email"]
    value: str = Field(min_length=3, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")


class LoginRequest(CodeRequest):
    code: str = Field(pattern=r"^\d{6}$")


class ConsentChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    given: bool


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/me", include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(STATIC / "me.html", media_type="text/html", headers=PAGE_HEADERS)


@router.get("/me/static/{name}", include_in_schema=False)
def asset(name: Literal["me.js", "me.css"]) -> FileResponse:
    kind = "text/javascript" if name.endswith(".js") else "text/css"
    return FileResponse(STATIC / name, media_type=kind, headers={"Cache-Control": "no-cache"})


@router.post(
    "/api/v1/me/code",
    status_code=202,
    responses={
        409: {"description": "No notification channel configured at HQ"},
        429: {"description": "Too many code requests from this address"},
    },
)
def request_code(
    data: CodeRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> dict[str, str]:
    """Send a login code to the member with this phone number or e-mail. The answer is the
    same whether or not there is one."""
    address = request.client.host if request.client else "?"
    throttle: CodeRequestThrottle = request.app.state.code_requests
    if not throttle.allow(address):
        raise HTTPException(status_code=429, detail="Too many code requests; try again later")
    try:
        member_page.request_code(
            session, channel=data.channel, value=data.value, settings=settings, now=_now()
        )
    except member_page.NoChannelError as error:
        raise HTTPException(status_code=409, detail=str(error)) from None
    return {"detail": "If this is a member's, a code is on its way"}


@router.post(
    "/api/v1/me/login",
    status_code=204,
    responses={401: {"description": "Wrong, used or expired code"}},
)
def log_in(data: LoginRequest, request: Request, session: SessionDep) -> Response:
    try:
        made = member_page.log_in(
            session, channel=data.channel, value=data.value, code=data.code, now=_now()
        )
    except member_page.LoginError as error:
        raise HTTPException(status_code=401, detail=str(error)) from None
    response = Response(status_code=204)
    response.set_cookie(
        COOKIE,
        made.token,
        max_age=int(member_page.SESSION_TTL.total_seconds()),
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
        path="/",
    )
    return response


def _session(
    session: SessionDep, o2o_member: Annotated[str | None, Cookie()] = None
) -> MemberSession:
    found = member_page.current_session(session, o2o_member, _now()) if o2o_member else None
    if found is None:
        raise HTTPException(status_code=401, detail="Not logged in")
    return found


def _change(
    current: Annotated[MemberSession, Depends(_session)],
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> MemberSession:
    if x_csrf_token != current.csrf_token:
        raise HTTPException(status_code=403, detail="Missing or wrong X-CSRF-Token")
    return current


Reader = Annotated[MemberSession, Depends(_session)]
Changer = Annotated[MemberSession, Depends(_change)]


@router.get("/api/v1/me", responses=_UNAUTHORIZED)
def me(current: Reader, session: SessionDep) -> dict[str, Any]:
    return member_page.overview(session, current.member_id) | {"csrf_token": current.csrf_token}


@router.put("/api/v1/me/consents/{scope}", responses=_CHANGE)
def change_consent(
    scope: schemas.ConsentScope, data: ConsentChange, current: Changer, session: SessionDep
) -> dict[str, Any]:
    """Give or withdraw a consent. Withdrawing face recognition deletes the member's face
    embeddings at HQ at once and, through the next gallery sync, at every store; the answer
    lists each store and when it confirmed."""
    crud.record_consent(
        session,
        member_id=current.member_id,
        data=schemas.ConsentCreate(scope=scope, given=data.given, source="member page"),
        actor=f"member:{current.member_id}",
        now=_now(),
    )
    return member_page.overview(session, current.member_id)


@router.post(
    "/api/v1/me/photos",
    status_code=201,
    responses={
        **_CHANGE,
        409: {"description": "No face-recognition consent"},
        413: {"description": "Photo too large"},
        422: {"description": "No usable face (the reason says what to change)"},
    },
)
async def add_selfie(
    request: Request, current: Changer, session: SessionDep, vault: VaultDep
) -> dict[str, Any]:
    """A selfie (JPEG or PNG bytes as the body) -> one embedding; the photo is never stored."""
    member_id = current.member_id
    consented = await run_in_threadpool(
        crud.has_consent, session, member_id=member_id, scope=schemas.ConsentScope.FACE_RECOGNITION
    )
    if not consented:
        raise HTTPException(status_code=409, detail="Give face-recognition consent first")
    if int(request.headers.get("content-length") or 0) > MAX_SELFIE_BYTES:
        raise HTTPException(status_code=413, detail="Photo too large (8 MB at most)")
    body = await request.body()
    if len(body) > MAX_SELFIE_BYTES:
        raise HTTPException(status_code=413, detail="Photo too large (8 MB at most)")
    enroller: PhotoEnroller = request.app.state.enroller
    try:
        vector = await run_in_threadpool(enroller.embedding, "selfie", body)
    except PhotoRejected as error:
        raise HTTPException(status_code=422, detail=str(error)) from None
    await run_in_threadpool(
        crud.add_embeddings,
        session,
        member_id=member_id,
        vectors=[vector],
        vault=vault,
        actor=f"member:{member_id}",
        now=_now(),
    )
    return await run_in_threadpool(member_page.overview, session, member_id)


@router.get("/api/v1/me/export", responses=_UNAUTHORIZED)
def export(current: Reader, session: SessionDep) -> JSONResponse:
    """All the member's data as a JSON download (right of access)."""
    return JSONResponse(
        member_page.export(session, current.member_id),
        headers={"Content-Disposition": f'attachment; filename="{current.member_id}-data.json"'},
    )


@router.post("/api/v1/me/erase", responses=_CHANGE)
def erase(
    current: Changer, session: SessionDep, settings: SettingsDep, response: Response
) -> dict[str, Any]:
    """Erase me: face data now and at every store at its next sync; personal data after the
    retention period. The session ends."""
    now = _now()
    erasure = crud.erase_member(
        session, member_id=current.member_id, actor=f"member:{current.member_id}", now=now
    )
    crud.purge_erased(session, retention_days=settings.personal_data_retention_days, now=now)
    member_page.end_sessions(session, current.member_id)
    response.delete_cookie(COOKIE, path="/")
    return {
        "seq": erasure.seq,
        "stores": member_page.store_confirmations(
            session, resource="erasures", version=erasure.seq
        ),
    }


@router.post("/api/v1/me/logout", status_code=204, responses=_CHANGE)
def log_out(
    current: Changer, session: SessionDep, o2o_member: Annotated[str | None, Cookie()] = None
) -> Response:
    if o2o_member:
        member_page.log_out(session, o2o_member)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/")
    return response
