"""The sync status the runtime publishes on ``o2o/{store_id}/status/sync`` (retained) and the
dashboard shows: how far behind the store is, and what went wrong last."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from cloud_sync.client.downlink import Downlink
from cloud_sync.client.outbox import Outbox
from cloud_sync.client.uploader import Uploader
from edge.events.base import UtcMs, ms_to_datetime

STATUS_TOPIC = "{prefix}/{store_id}/status/sync"


class SyncStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    store_id: str
    ts: UtcMs = Field(description="When this status was taken")
    enabled: bool = Field(description="False: events stay in the outbox, nothing is sent")
    backlog_events: int = Field(ge=0, description="Events in the outbox not yet delivered")
    oldest_unsent_ts: UtcMs | None = Field(default=None, description="Time of the oldest one")
    oldest_unsent_age_s: float | None = Field(default=None, description="Its age, seconds")
    dead_letters: int = Field(ge=0, description="Events HQ refused for good (see outbox)")
    delivered_events: int = Field(ge=0, description="Delivered since start-up")
    last_success: UtcMs | None = Field(default=None, description="Last acknowledged upload")
    last_error: str | None = Field(default=None, description="Last upload or downlink error")
    last_error_ts: UtcMs | None = None
    retry_in_s: float | None = Field(default=None, description="Seconds to the next retry")
    downlink_versions: dict[str, str] = Field(default_factory=dict)
    downlink_last_success: UtcMs | None = None
    models_refused: int = Field(default=0, ge=0, description="Model updates refused (checksum)")


def _dt(ms: int | None) -> datetime | None:
    return ms_to_datetime(ms) if ms is not None else None


def sync_status(
    store_id: str,
    *,
    enabled: bool,
    outbox: Outbox,
    uploader: Uploader | None,
    downlink: Downlink | None,
    now_ms: int,
) -> SyncStatus:
    backlog = outbox.backlog()
    up = uploader.state if uploader is not None else None
    down = downlink.state if downlink is not None else None
    errors = [
        (ms, text)
        for ms, text in (
            (up.last_error_ms, up.last_error) if up else (None, None),
            (down.last_error_ms, down.last_error) if down else (None, None),
        )
        if ms is not None and text
    ]
    last_error_ms, last_error = max(errors) if errors else (None, None)
    oldest = backlog.oldest_pending_ts_ms
    retry_in_s = None
    if up is not None and up.next_attempt_ms > now_ms:
        retry_in_s = (up.next_attempt_ms - now_ms) / 1000
    return SyncStatus.model_validate(
        {
            "store_id": store_id,
            "ts": ms_to_datetime(now_ms),
            "enabled": enabled,
            "backlog_events": backlog.pending,
            "oldest_unsent_ts": _dt(oldest),
            "oldest_unsent_age_s": max(0.0, (now_ms - oldest) / 1000) if oldest else None,
            "dead_letters": backlog.dead_letters,
            "delivered_events": up.delivered_events if up else 0,
            "last_success": _dt(up.last_success_ms) if up else None,
            "last_error": last_error,
            "last_error_ts": _dt(last_error_ms),
            "retry_in_s": retry_in_s,
            "downlink_versions": dict(down.versions) if down else {},
            "downlink_last_success": _dt(down.last_success_ms) if down else None,
            "models_refused": down.models_refused if down else 0,
        }
    )
