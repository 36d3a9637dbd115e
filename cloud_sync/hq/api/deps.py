"""Dependencies: the database session, store authentication (API key + HMAC), staff roles."""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from cloud_sync import protocol
from cloud_sync.hq import crud
from cloud_sync.hq.core import metrics
from cloud_sync.hq.core.config import Settings
from cloud_sync.hq.core.ratelimit import retry_after_s
from cloud_sync.hq.core.security import Role, Vault

KEY_CACHE_TTL_S = 30.0
"""How long a worker trusts a store key it looked up (a revoked key stops within this)."""


@dataclass(frozen=True, slots=True)
class StoreKey:
    store_id: str
    secret: str
    active: bool


class StoreKeyCache:
    """key id -> decrypted store secret, so ingestion does not query and decrypt every time."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, StoreKey | None]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every key (this worker); other workers catch up within the TTL."""
        with self._lock:
            self._entries.clear()

    def lookup(self, factory: sessionmaker[Session], vault: Vault, key_id: str) -> StoreKey | None:
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key_id)
        if hit is not None and now - hit[0] < KEY_CACHE_TTL_S:
            return hit[1]
        with factory() as session:
            store = crud.store_by_key(session, key_id=key_id)
            key = (
                StoreKey(store.id, vault.decrypt(store.secret_encrypted).decode(), store.active)
                if store is not None
                else None
            )
        with self._lock:
            if len(self._entries) > 100_000:
                self._entries.clear()
            self._entries[key_id] = (now, key)
        return key


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


def get_session(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
VaultDep = Annotated[Vault, Depends(get_vault)]


@dataclass(frozen=True, slots=True)
class AuthenticatedStore:
    store_id: str
    secret: str
    body: bytes


def _refused(status_code: int, detail: str, **headers: str) -> HTTPException:
    metrics.REFUSED.labels(reason=detail).inc()
    return HTTPException(status_code=status_code, detail=detail, headers=headers or None)


def _unauthorized(detail: str) -> HTTPException:
    return _refused(401, detail)


async def store_auth(request: Request, store_id: str) -> AuthenticatedStore:
    """Checks the X-O2O-* headers against the exact bytes received, then the rate limit."""
    key_id = request.headers.get(protocol.HEADER_KEY_ID)
    raw_ts = request.headers.get(protocol.HEADER_TIMESTAMP)
    signature = request.headers.get(protocol.HEADER_SIGNATURE)
    if not key_id or not raw_ts or not signature:
        raise _unauthorized("Missing signature headers")
    try:
        timestamp = int(raw_ts)
    except ValueError:
        raise _unauthorized("Stale timestamp") from None
    if not protocol.timestamp_fresh(timestamp, time.time()):
        raise _unauthorized("Stale timestamp")
    state = request.app.state
    key = await run_in_threadpool(state.store_keys.lookup, state.sessions, state.vault, key_id)
    if key is None or not key.active:
        raise _unauthorized("Unknown key")
    body = await request.body()
    if len(body) > state.settings.max_body_bytes:
        raise _refused(413, "Body too large")
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not protocol.signature_valid(key.secret, timestamp, request.method, path, body, signature):
        raise _unauthorized("Bad signature")
    if key.store_id != store_id:
        raise _refused(403, "Key does not belong to this store")
    settings: Settings = state.settings
    wait_s = await run_in_threadpool(
        retry_after_s,
        state.counters_engine,
        store_id=store_id,
        now_s=time.time(),
        limit=settings.rate_limit_requests,
        window_s=settings.rate_limit_window_s,
    )
    if wait_s:
        raise _refused(429, "Rate limit exceeded", **{"Retry-After": str(wait_s)})
    return AuthenticatedStore(store_id=store_id, secret=key.secret, body=body)


StoreAuth = Annotated[AuthenticatedStore, Depends(store_auth)]


@dataclass(frozen=True, slots=True)
class Staff:
    name: str
    role: Role


_bearer = HTTPBearer(auto_error=False)


def current_staff(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Staff:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status_code=401, detail="Not authenticated", headers={"WWW-Authenticate": "Bearer"}
        )
    staff = staff_for_token(request.app, credentials.credentials)
    if staff is None:
        raise HTTPException(
            status_code=401, detail="Invalid token", headers={"WWW-Authenticate": "Bearer"}
        )
    return staff


def staff_for_token(app: Any, token: str) -> Staff | None:
    """The staff member (or machine client) a bearer token belongs to; None if unknown."""
    settings: Settings = app.state.settings
    if settings.admin_token and hmac.compare_digest(token, settings.admin_token):
        return Staff(name="bootstrap-admin", role=Role.ADMIN)
    with app.state.sessions() as session:
        row = crud.staff_by_token(session, token=token)
    return None if row is None else Staff(name=row.name, role=Role(row.role))


async def valid_staff_token(app: Any, token: str) -> bool:
    """For AuthFirst: the database look-up off the event loop."""
    return await run_in_threadpool(staff_for_token, app, token) is not None


def require_admin(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
    if staff.role is not Role.ADMIN:
        raise HTTPException(status_code=403, detail="Admin role required")
    return staff


def require_staff(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
    if staff.role is Role.CHANNEL:
        raise HTTPException(
            status_code=403, detail="Staff role required (this token is an online channel's)"
        )
    return staff


def require_channel(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
    if staff.role not in (Role.ADMIN, Role.CHANNEL):
        raise HTTPException(status_code=403, detail="Channel or admin role required")
    return staff


CurrentStaff = Annotated[Staff, Depends(require_staff)]
"""Any authenticated staff member: admins and analysts (read-only endpoints)."""
ChannelClient = Annotated[Staff, Depends(require_channel)]
"""An online channel's machine client (or an admin): the availability API."""
AdminStaff = Annotated[Staff, Depends(require_admin)]
