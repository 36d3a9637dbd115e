"""Member notifications: channel adapters and the delivery loop.

Ingestion only queues a row in ``notifications`` (same transaction, only with marketing
consent); this loop delivers them from every worker without double sending (PostgreSQL
``FOR UPDATE SKIP LOCKED``), retries with exponential backoff and logs every attempt in
``delivery_log``. A slow or failing channel never touches ingestion.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloud_sync import protocol
from cloud_sync.hq.core.config import NotifyChannel, Settings
from cloud_sync.hq.models import DeliveryAttempt, MemberIdentity, Notification

log = logging.getLogger(__name__)

SEND_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Delivery:
    ok: bool
    status_code: int | None = None
    error: str = ""
    permanent: bool = False
    """No retry can help (e.g. the member has no WeChat openid)."""


class Adapter(Protocol):
    channel: str

    def send(self, session: Session, notification: Notification) -> Delivery: ...


class WebhookAdapter:
    """POSTs ``{"notification_id", "member_id", "kind", "data"}`` signed like the uplink:
    ``X-O2O-Timestamp`` and ``X-O2O-Signature`` = HMAC over timestamp, method, path, body."""

    channel = "webhook"

    def __init__(self, url: str, secret: str, client: httpx.Client) -> None:
        self._url, self._secret, self._client = url, secret, client
        self._path = urlsplit(url).path or "/"

    def send(self, session: Session, notification: Notification) -> Delivery:
        body = json.dumps(
            {
                "notification_id": notification.id,
                "member_id": notification.member_id,
                "kind": notification.kind,
                "data": notification.data,
            }
        ).encode()
        ts = int(time.time())
        headers = {
            "Content-Type": "application/json",
            protocol.HEADER_TIMESTAMP: str(ts),
            protocol.HEADER_SIGNATURE: protocol.sign(self._secret, ts, "POST", self._path, body),
        }
        response = self._client.post(self._url, content=body, headers=headers)
        if response.is_success:
            return Delivery(ok=True, status_code=response.status_code)
        return Delivery(
            ok=False,
            status_code=response.status_code,
            error=response.text[:200],
            permanent=400 <= response.status_code < 500 and response.status_code not in (408, 429),
        )


class FileAdapter:
    """Appends ``{"notification_id", "member_id", "kind", "data", "at"}`` as a JSON line: the
    demo shows login codes from it; nothing leaves the machine."""

    channel = "file"

    def __init__(self, path: str) -> None:
        self._path = Path(path)

    def send(self, session: Session, notification: Notification) -> Delivery:
        line = json.dumps(
            {
                "notification_id": notification.id,
                "member_id": notification.member_id,
                "kind": notification.kind,
                "data": notification.data,
                "at": datetime.now(UTC).isoformat(),
            }
        )
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with self._path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")
        except OSError as error:
            return Delivery(ok=False, error=f"{self._path}: {error}")
        return Delivery(ok=True)


class WeChatAdapter:
    """WeChat service-account template message: ``POST /cgi-bin/message/template/send`` with
    ``{"touser": openid, "template_id": ..., "data": {"first": {"value": ...}, ...}}``."""

    channel = "wechat"

    def __init__(self, settings: Settings, client: httpx.Client) -> None:
        self._url = settings.wechat_api_base.rstrip("/") + "/cgi-bin/message/template/send"
        self._token = settings.wechat_access_token
        self._templates = {
            "purchase": settings.wechat_template_purchase,
            "points": settings.wechat_template_points,
        }
        self._client = client

    @staticmethod
    def fields(kind: str, data: dict[str, Any]) -> dict[str, dict[str, str]]:
        if kind == "purchase":
            values = {
                "first": "Thank you for your purchase",
                "keyword1": str(data.get("sale_id", "")),
                "keyword2": f"{data.get('total', '')} {data.get('currency', '')}".strip(),
                "keyword3": str(data.get("store_id", "")),
                "remark": f"Points earned: {data.get('points', 0)}",
            }
        else:
            values = {
                "first": "Your points balance changed",
                "keyword1": f"{int(data.get('delta', 0)):+d}",
                "keyword2": str(data.get("cause", "")),
                "remark": str(data.get("sale_id", "")),
            }
        return {key: {"value": value} for key, value in values.items()}

    def send(self, session: Session, notification: Notification) -> Delivery:
        openid = session.scalar(
            select(MemberIdentity.value).where(
                MemberIdentity.member_id == notification.member_id,
                MemberIdentity.channel == "wechat_openid",
            )
        )
        template_id = self._templates.get(notification.kind, "")
        if not openid or not template_id:
            return Delivery(ok=False, error="no wechat_openid or template id", permanent=True)
        payload = {
            "touser": openid,
            "template_id": template_id,
            "data": self.fields(notification.kind, notification.data),
        }
        response = self._client.post(self._url, params={"access_token": self._token}, json=payload)
        if not response.is_success:
            return Delivery(ok=False, status_code=response.status_code, error=response.text[:200])
        try:
            answer = response.json()
        except ValueError:
            return Delivery(ok=False, status_code=response.status_code, error="not JSON")
        errcode = answer.get("errcode", 0) if isinstance(answer, dict) else -1
        if errcode == 0:
            return Delivery(ok=True, status_code=response.status_code)
        return Delivery(
            ok=False,
            status_code=response.status_code,
            error=f"errcode {errcode}: {answer.get('errmsg', '')}",
        )


def make_adapter(settings: Settings, client: httpx.Client) -> Adapter | None:
    if settings.notify_channel is NotifyChannel.WEBHOOK and settings.webhook_url:
        return WebhookAdapter(settings.webhook_url, settings.webhook_secret, client)
    if settings.notify_channel is NotifyChannel.WECHAT:
        return WeChatAdapter(settings, client)
    if settings.notify_channel is NotifyChannel.FILE:
        return FileAdapter(settings.notify_file)
    return None


def deliver_due(
    factory: sessionmaker[Session],
    adapter: Adapter,
    *,
    settings: Settings,
    now: datetime,
    limit: int = 20,
) -> int:
    """Send due notifications once; returns how many were attempted."""
    with factory() as session:
        due = session.scalars(
            select(Notification)
            .where(Notification.status == "pending", Notification.next_attempt_at <= now)
            .order_by(Notification.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for notification in due:
            try:
                result = adapter.send(session, notification)
            except httpx.HTTPError as exc:
                result = Delivery(ok=False, error=f"{type(exc).__name__}: {exc}")
            notification.attempts += 1
            session.add(
                DeliveryAttempt(
                    notification_id=notification.id,
                    at=now,
                    channel=adapter.channel,
                    ok=result.ok,
                    status_code=result.status_code,
                    error=result.error,
                )
            )
            if result.ok:
                notification.status, notification.delivered_at = "delivered", now
            elif result.permanent or notification.attempts >= settings.notify_max_attempts:
                notification.status, notification.last_error = "failed", result.error
                log.warning("notification %s failed: %s", notification.id, result.error)
            else:
                delay_s = settings.notify_retry_base_s * 2 ** (notification.attempts - 1)
                notification.next_attempt_at = now + timedelta(seconds=delay_s)
                notification.last_error = result.error
        session.commit()
        return len(due)
