"""The members' own page (docs/hq.md, "Members' page"): one-time-code login, their points and
consents, selfies for face recognition, their data as JSON, erasure on request.

Codes are 6 digits, stored hashed, single use, valid ``CODE_TTL``, at most ``MAX_TRIES``
wrong tries each and ``MAX_CODES`` per member per ``CODE_WINDOW``; sessions are a random
cookie token (only its hash is kept) with a CSRF token for every change.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import qrcode
from qrcode.image.svg import SvgPathImage
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cloud_sync.hq import crud, reservations, schemas
from cloud_sync.hq.core.config import NotifyChannel, Settings
from cloud_sync.hq.models import (
    Activity,
    AuditEntry,
    Consent,
    Embedding,
    Erasure,
    MemberIdentity,
    MemberLoginCode,
    MemberSession,
    MemberTag,
    Notification,
    PointsEntry,
    SaleLine,
    Store,
    StoreConfirmation,
)

CODE_TTL = timedelta(minutes=10)
CODE_WINDOW = timedelta(minutes=15)
MAX_CODES = 3
MAX_TRIES = 5
SESSION_TTL = timedelta(hours=12)
LOGIN_CHANNELS = ("phone", "email")


class LoginError(ValueError):
    """The code is wrong, used, expired or tried too often (one message for all: no oracle)."""


class NoChannelError(RuntimeError):
    """HQ has no notification channel configured: codes cannot reach anyone."""


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _code_hash(member_id: str, code: str) -> str:
    return _hash(f"{member_id}:{code}")


def _utc(value: datetime) -> datetime:
    return crud.as_utc(value)


def _member_id_for(session: Session, channel: str, value: str) -> str | None:
    member_id = session.scalar(
        select(MemberIdentity.member_id).where(
            MemberIdentity.channel == channel, MemberIdentity.value == value
        )
    )
    if member_id is None:
        return None
    member = crud.resolve_member(session, member_id=member_id)
    return None if member is None or member.erased_at is not None else member.id


def request_code(
    session: Session, *, channel: str, value: str, settings: Settings, now: datetime
) -> None:
    """Send a code to the member with this phone number or e-mail, if there is one. The answer
    is the same either way, so the page cannot be used to find out who is a member."""
    if settings.notify_channel is NotifyChannel.NONE:
        raise NoChannelError("Login codes cannot be sent: no notification channel is configured")
    member_id = _member_id_for(session, channel, value)
    if member_id is None:
        return
    recent = session.scalar(
        select(func.count())
        .select_from(MemberLoginCode)
        .where(
            MemberLoginCode.member_id == member_id, MemberLoginCode.created_at > now - CODE_WINDOW
        )
    )
    if (recent or 0) >= MAX_CODES:
        return  # throttled quietly: the member still has a recent code
    code = f"{secrets.randbelow(1_000_000):06d}"
    session.add(
        MemberLoginCode(
            member_id=member_id,
            code_sha256=_code_hash(member_id, code),
            created_at=now,
            expires_at=now + CODE_TTL,
            attempts=0,
        )
    )
    crud.queue_notification(
        session,
        member_id=member_id,
        kind="login_code",
        data={"code": code, "valid_minutes": int(CODE_TTL.total_seconds() // 60)},
        settings=settings,
        now=now,
        requested=True,
    )
    session.commit()


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    csrf_token: str
    member_id: str
    expires_at: datetime


def log_in(session: Session, *, channel: str, value: str, code: str, now: datetime) -> NewSession:
    member_id = _member_id_for(session, channel, value)
    if member_id is None:
        raise LoginError("Wrong or expired code")
    pending = session.scalars(
        select(MemberLoginCode)
        .where(MemberLoginCode.member_id == member_id, MemberLoginCode.used_at.is_(None))
        .order_by(MemberLoginCode.id.desc())
    ).first()
    if pending is None or _utc(pending.expires_at) <= now or pending.attempts >= MAX_TRIES:
        raise LoginError("Wrong or expired code")
    if not hmac.compare_digest(pending.code_sha256, _code_hash(member_id, code)):
        pending.attempts += 1
        session.commit()
        raise LoginError("Wrong or expired code")
    pending.used_at = now
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    expires = now + SESSION_TTL
    session.add(
        MemberSession(
            token_sha256=_hash(token),
            member_id=member_id,
            csrf_token=csrf,
            created_at=now,
            expires_at=expires,
        )
    )
    crud.audit(
        session,
        actor=f"member:{member_id}",
        action="member_page.login",
        subject=f"member:{member_id}",
        detail={"channel": channel},
        now=now,
    )
    session.commit()
    return NewSession(token, csrf, member_id, expires)


def current_session(session: Session, token: str, now: datetime) -> MemberSession | None:
    found = session.get(MemberSession, _hash(token))
    if found is None or _utc(found.expires_at) <= now:
        return None
    member = crud.resolve_member(session, member_id=found.member_id)
    if member is None or member.erased_at is not None:
        return None
    return found


def log_out(session: Session, token: str) -> None:
    session.execute(delete(MemberSession).where(MemberSession.token_sha256 == _hash(token)))
    session.commit()


def end_sessions(session: Session, member_id: str) -> None:
    session.execute(delete(MemberSession).where(MemberSession.member_id == member_id))
    session.commit()


# --- what the page shows ----------------------------------------------------------------------


def store_confirmations(session: Session, *, resource: str, version: int) -> list[dict[str, Any]]:
    """Per active store: when it first confirmed ``resource`` at ``version`` or later."""
    first = dict(
        session.execute(
            select(StoreConfirmation.store_id, func.min(StoreConfirmation.at))
            .where(StoreConfirmation.resource == resource, StoreConfirmation.version >= version)
            .group_by(StoreConfirmation.store_id)
        ).all()
    )
    stores = session.execute(
        select(Store.id, Store.name).where(Store.active.is_(True)).order_by(Store.id)
    )
    return [
        {
            "store_id": store_id,
            "name": name,
            "confirmed_at": _utc(first[store_id]).isoformat() if store_id in first else None,
        }
        for store_id, name in stores
    ]


def checkin_qr(code: str) -> str:
    """The reservation's check-in code as an SVG data URL (the tablet scans or types it)."""
    image = qrcode.make(code, image_factory=SvgPathImage, box_size=10, border=2)
    out = io.BytesIO()
    image.save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def _reservations(session: Session, member_id: str) -> list[dict[str, Any]]:
    shown = []
    for found in reservations.for_member(session, member_id):
        store = session.get(Store, found.store_id)
        row = {
            "id": found.id,
            "store": store.name if store else found.store_id,
            "status": found.status,
            "window_start": _utc(found.window_start).isoformat(),
            "window_end": _utc(found.window_end).isoformat(),
        }
        if found.status in reservations.OPEN:
            row |= {"checkin_code": found.checkin_code, "qr": checkin_qr(found.checkin_code)}
        shown.append(row)
    return shown[:20]


def overview(session: Session, member_id: str) -> dict[str, Any]:
    member = crud.get_member(session, member_id=member_id)
    public = crud.member_public(session, member=member)
    home = session.get(Store, member.home_store_id) if member.home_store_id else None
    face = session.scalars(
        select(Consent)
        .where(
            Consent.member_id == member.id,
            Consent.scope == schemas.ConsentScope.FACE_RECOGNITION.value,
        )
        .order_by(Consent.at.desc(), Consent.id.desc())
    ).first()
    withdrawal = None
    if face is not None and not face.given and face.gallery_version is not None:
        withdrawal = {
            "at": _utc(face.at).isoformat(),
            "stores": store_confirmations(
                session, resource="gallery", version=face.gallery_version
            ),
        }
    return {
        "member_id": member.id,
        "name": member.name,
        "tier": member.tier,
        "home_store": None if home is None else {"id": home.id, "name": home.name},
        "points": public.points_balance,
        "consents": {
            scope.value: (
                {"given": c.given, "at": c.at.isoformat(), "source": c.source}
                if (c := public.consents.get(scope.value)) is not None
                else None
            )
            for scope in schemas.ConsentScope
        },
        "face_photos": public.embeddings,
        "face_withdrawal": withdrawal,
        "reservations": _reservations(session, member.id),
    }


def export(session: Session, member_id: str) -> dict[str, Any]:
    """Everything HQ holds about the member (right of access, GDPR art. 15 / PIPL art. 45).
    Face embeddings are listed by date, not as numbers: they are useless to read and would
    only spread biometric data further."""
    member = crud.get_member(session, member_id=member_id)
    public = crud.member_public(session, member=member)

    def rows(model: Any, *order: Any) -> list[Any]:
        return list(
            session.scalars(select(model).where(model.member_id == member.id).order_by(*order))
        )

    return {
        "member": public.model_dump(mode="json"),
        "tags": {t.key: t.value for t in rows(MemberTag, MemberTag.key)},
        "consent_history": [
            {"scope": c.scope, "given": c.given, "at": _utc(c.at).isoformat(), "source": c.source}
            for c in rows(Consent, Consent.at, Consent.id)
        ],
        "points_ledger": [
            {
                "delta": p.delta,
                "cause": p.cause,
                "ref": p.ref,
                "note": p.note,
                "at": _utc(p.at).isoformat(),
            }
            for p in rows(PointsEntry, PointsEntry.id)
        ],
        "purchases": [
            {
                "store_id": s.store_id,
                "sale_id": s.sale_id,
                "gtin": s.gtin,
                "quantity": s.quantity,
                "amount": float(s.amount),
                "at": _utc(s.ts).isoformat(),
            }
            for s in rows(SaleLine, SaleLine.ts)
        ],
        "store_visits_and_try_ons": [
            {
                "store_id": a.store_id,
                "kind": a.kind,
                "gtin": a.gtin,
                "outcome": a.outcome,
                "at": _utc(a.ts).isoformat(),
            }
            for a in rows(Activity, Activity.ts)
        ],
        "face_embeddings": [
            {"created_at": _utc(e.created_at).isoformat()} for e in rows(Embedding, Embedding.id)
        ],
        "notifications": [
            {"kind": n.kind, "status": n.status, "at": _utc(n.created_at).isoformat()}
            for n in rows(Notification, Notification.id)
            if n.kind != "login_code"
        ],
        "audit_trail": [
            {"at": _utc(a.at).isoformat(), "actor": a.actor, "action": a.action}
            for a in session.scalars(
                select(AuditEntry)
                .where(AuditEntry.subject == f"member:{member.id}")
                .order_by(AuditEntry.id)
            )
        ],
        "erasure_orders": [
            {"seq": e.seq, "at": _utc(e.erased_at).isoformat()}
            for e in session.scalars(select(Erasure).where(Erasure.member_id == member.id))
        ],
    }
