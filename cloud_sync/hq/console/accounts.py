"""Console accounts: argon2id password hashes, cookie sessions with a CSRF token, roles with
a store scope, and login throttling per account and per address.

A wrong password, an unknown user and a disabled user all get the same answer, after the same
amount of hashing work, so the login form never tells whether an account exists.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from cloud_sync.hq import crud
from cloud_sync.hq.core.ratelimit import bump, count_in_window
from cloud_sync.hq.models import ConsoleSession, ConsoleUser, Store

SESSION_TTL = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 10
USERNAME = re.compile(r"^[A-Za-z0-9._@-]{2,100}$")
LOGIN_WINDOW_S = 900
FAILURES_PER_ACCOUNT = 5
"""Wrong passwords per account per window before the account's logins pause."""
FAILURES_PER_ADDRESS = 20
"""Wrong passwords from one address per window (guessing across accounts)."""
WRONG = "Wrong username or password"

_hasher = PasswordHasher()
# Verified against when the user does not exist, so that the answer takes as long.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class ConsoleRole(StrEnum):
    ADMIN = "admin"
    """Everything, including erasure."""
    ANALYST = "analyst"
    """Reads every page chain-wide; changes nothing."""
    STORE_MANAGER = "store_manager"
    """Reads the pages of their own stores and the members whose home store is one of them."""


class AccountError(ValueError):
    pass


class LoginRefused(Exception):
    def __init__(self, message: str, retry_after_s: int = 0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking, and what they may see and do."""

    user_id: int
    username: str
    role: ConsoleRole
    stores: frozenset[str] | None
    """None: every store."""
    csrf_token: str

    @property
    def actor(self) -> str:
        return f"console:{self.username}"

    @property
    def can_change(self) -> bool:
        return self.role is ConsoleRole.ADMIN

    def sees_store(self, store_id: str | None) -> bool:
        return self.stores is None or (store_id is not None and store_id in self.stores)


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    viewer: Viewer
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _throttle_key(kind: str, value: str) -> str:
    # The rate-window table keys on 64 characters: hash what the client chose.
    return f"login-{kind}:" + hashlib.sha256(value.lower().encode()).hexdigest()[:40]


def add_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: ConsoleRole,
    stores: list[str],
    actor: str,
    now: datetime,
) -> ConsoleUser:
    if not USERNAME.match(username):
        raise AccountError(
            f"username {username!r}: use 2-100 letters, digits and . _ @ - (no spaces)"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    if role is ConsoleRole.STORE_MANAGER and not stores:
        raise AccountError("a store manager needs at least one store (--store ID)")
    if role is not ConsoleRole.STORE_MANAGER and stores:
        raise AccountError(f"role {role.value} sees every store: --store is for store managers")
    known = set(session.scalars(select(Store.id).where(Store.id.in_(stores))))
    unknown = [s for s in stores if s not in known]
    if unknown:
        raise AccountError(f"unknown store(s): {', '.join(unknown)}")
    if session.scalars(select(ConsoleUser).where(ConsoleUser.username == username)).first():
        raise AccountError(f"user {username!r} exists already")
    user = ConsoleUser(
        username=username,
        password_hash=_hasher.hash(password),
        role=role.value,
        stores=sorted(set(stores)),
        disabled=False,
        created_at=now,
    )
    session.add(user)
    session.flush()
    crud.audit(
        session,
        actor=actor,
        action="console_user.add",
        subject=f"console_user:{username}",
        detail={"role": role.value, "stores": user.stores},
        now=now,
    )
    session.commit()
    return user


def list_users(session: Session) -> list[ConsoleUser]:
    return list(session.scalars(select(ConsoleUser).order_by(ConsoleUser.username)))


def set_disabled(
    session: Session, *, username: str, disabled: bool, actor: str, now: datetime
) -> ConsoleUser:
    user = session.scalars(select(ConsoleUser).where(ConsoleUser.username == username)).first()
    if user is None:
        raise AccountError(f"no user {username!r}")
    user.disabled = disabled
    if disabled:
        # A disabled account is logged out everywhere at once.
        session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
    crud.audit(
        session,
        actor=actor,
        action="console_user.disable" if disabled else "console_user.enable",
        subject=f"console_user:{username}",
        detail={},
        now=now,
    )
    session.commit()
    return user


def _viewer(user: ConsoleUser, csrf_token: str) -> Viewer:
    role = ConsoleRole(user.role)
    stores = frozenset(user.stores) if role is ConsoleRole.STORE_MANAGER else None
    return Viewer(user.id, user.username, role, stores, csrf_token)


def log_in(
    session: Session,
    counters: Engine,
    *,
    username: str,
    password: str,
    address: str,
    now: datetime,
) -> NewSession:
    """A session for the right password; ``LoginRefused`` (one message for every wrong case,
    or a pause when this account or address guessed too often)."""
    now_s = now.timestamp()
    keys = (
        (_throttle_key("user", username), FAILURES_PER_ACCOUNT),
        (_throttle_key("addr", address), FAILURES_PER_ADDRESS),
    )
    for key, limit in keys:
        if count_in_window(counters, key=key, now_s=now_s, window_s=LOGIN_WINDOW_S) >= limit:
            wait = LOGIN_WINDOW_S - int(now_s) % LOGIN_WINDOW_S
            raise LoginRefused(
                f"Too many failed logins: try again in {max(1, wait // 60)} min", wait
            )
    user = session.scalars(select(ConsoleUser).where(ConsoleUser.username == username)).first()
    ok: bool
    try:
        ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if user is None or user.disabled or not ok:
        for key, _limit in keys:
            bump(counters, key=key, now_s=now_s, window_s=LOGIN_WINDOW_S)
        raise LoginRefused(WRONG)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    expires = now + SESSION_TTL
    session.add(
        ConsoleSession(
            token_sha256=_digest(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=expires,
        )
    )
    user.last_login_at = now
    crud.audit(
        session,
        actor=f"console:{user.username}",
        action="console.login",
        subject=f"console_user:{user.username}",
        detail={"address": address},
        now=now,
    )
    session.commit()
    return NewSession(token, _viewer(user, csrf), expires)


def current_viewer(session: Session, token: str, now: datetime) -> Viewer | None:
    found = session.get(ConsoleSession, _digest(token))
    if found is None or crud.as_utc(found.expires_at) <= now:
        return None
    user = session.get(ConsoleUser, found.user_id)
    if user is None or user.disabled:
        return None
    return _viewer(user, found.csrf_token)


def log_out(session: Session, token: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_sha256 == _digest(token)))
    session.commit()
