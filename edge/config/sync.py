"""The store's link to headquarters: where HQ is, the store's credentials, batching and polling.

The API secret never lives in STORE.yaml itself: give ``${ENV_VAR}`` or ``api_secret_file``
(a file readable only by the edge's user, e.g. provisioned by the installer).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from edge.config.base import StrictModel, env_secret


class SyncConfig(StrictModel):
    enabled: bool = Field(default=False, title="Upload events to HQ and pull the downlink")
    hq_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        title="Base URL of headquarters, e.g. https://hq.example.com",
    )
    api_key_id: str | None = Field(default=None, title="This store's API key id at HQ")
    api_secret: str | None = Field(
        default=None,
        title="This store's API secret",
        description="Use ${ENV_VAR} (environment); a plaintext value in STORE.yaml is refused",
    )
    api_secret_file: Path | None = Field(
        default=None, title="File holding the API secret (alternative to api_secret)"
    )
    timeout_s: float = Field(default=30.0, gt=0, le=600, title="HTTP timeout per request, s")
    max_batch_events: int = Field(default=500, ge=1, le=10_000, title="Events per upload batch")
    max_batch_bytes: int = Field(
        default=1_000_000,
        ge=1_000,
        le=50_000_000,
        title="Uncompressed JSON bytes per upload batch",
    )
    max_batch_age_s: float = Field(
        default=2.0,
        ge=0,
        le=3600,
        title="Send a partial batch once its oldest event has waited this long",
    )
    retry_base_s: float = Field(default=1.0, gt=0, le=600, title="First retry delay, s")
    retry_max_s: float = Field(
        default=300.0, gt=0, le=86_400, title="Cap of the exponential retry delay, s"
    )
    retry_after_max_s: float = Field(
        default=3600.0, gt=0, le=86_400, title="Longest Retry-After from HQ that is honoured, s"
    )
    catalog_poll_s: float = Field(default=300.0, ge=1, title="Catalog poll interval, s")
    gallery_poll_s: float = Field(default=60.0, ge=1, title="Member gallery poll interval, s")
    model_poll_s: float = Field(default=900.0, ge=1, title="Recommender model poll interval, s")
    erasures_poll_s: float = Field(default=60.0, ge=1, title="Erasure orders poll interval, s")
    outbox_retention_h: float = Field(
        default=24.0, ge=0, le=24 * 90, title="Keep delivered events this long before pruning, h"
    )
    progress_log_s: float = Field(
        default=10.0, gt=0, title="Log drain progress at most this often, s"
    )
    health_report_s: float = Field(
        default=60.0,
        ge=1,
        le=3600,
        title="Tell HQ the store's health (backlog, devices offline, open alarms) this often, s",
    )
    stock_report_s: float = Field(
        default=10.0, ge=1, le=3600, title="Send changed stock counts to HQ this often, s"
    )
    stock_heartbeat_s: float = Field(
        default=300.0,
        ge=10,
        le=86_400,
        title="Send an empty stock change at least this often, s",
        description="HQ reports a store's stock as stale when it has heard nothing for longer "
        "than its own limit (O2O_HQ_STOCK_MAX_AGE_S); keep this well below it",
    )
    reservations_poll_s: float = Field(
        default=20.0, ge=1, title="Online reservations for this store: poll interval, s"
    )
    sold_epcs_poll_s: float = Field(
        default=300.0,
        ge=1,
        title="EPCs sold chain-wide (the exit gate's sold set): poll interval, s",
        description="An item sold elsewhere since the last poll may alarm at the gate",
    )
    stock_request_poll_s: float = Field(
        default=30.0, ge=1, title="Ask HQ whether it wants a new stock snapshot this often, s"
    )
    nearby_stock_poll_s: float = Field(
        default=60.0,
        ge=1,
        le=3600,
        title="Other stores' stock near this one (the tablets' nearby-store hint): poll "
        "interval, s",
    )
    nearby_stock_max_age_s: float = Field(
        default=600.0,
        ge=10,
        le=86_400,
        title="Never show another store's stock older than this, s",
        description="Counted from that store's last stock report to HQ, which comes at least "
        "every stock_heartbeat_s (300 s by default): keep it above that, and at least twice "
        "nearby_stock_poll_s",
    )

    @field_validator("api_secret")
    @classmethod
    def _secret_from_env(cls, value: str | None) -> str | None:
        return env_secret(value)

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> SyncConfig:
        if self.api_secret and self.api_secret_file:
            raise ValueError("sync: give api_secret or api_secret_file, not both")
        if self.nearby_stock_max_age_s < 2 * self.nearby_stock_poll_s:
            raise ValueError(
                f"sync -> nearby_stock_max_age_s ({self.nearby_stock_max_age_s:g}) must be at "
                f"least twice sync -> nearby_stock_poll_s ({self.nearby_stock_poll_s:g}), or "
                "other stores' stock is dropped before the next poll can renew it"
            )
        if not self.enabled:
            return self
        for key in ("hq_url", "api_key_id"):
            if not getattr(self, key):
                raise ValueError(f"sync is enabled but sync -> {key} is not set")
        if not (self.api_secret or self.api_secret_file):
            raise ValueError(
                "sync is enabled but neither sync -> api_secret nor sync -> api_secret_file is set"
            )
        if self.retry_base_s > self.retry_max_s:
            raise ValueError("sync -> retry_base_s must not exceed sync -> retry_max_s")
        return self

    def secret(self) -> str:
        """The API secret, from the resolved ``api_secret`` or read from ``api_secret_file``."""
        if self.api_secret:
            return self.api_secret
        if self.api_secret_file is None:
            raise ValueError("sync -> api_secret / api_secret_file: no secret configured")
        try:
            text = self.api_secret_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ValueError(
                f"sync -> api_secret_file: cannot read {self.api_secret_file}: {error.strerror}"
            ) from None
        if not text:
            raise ValueError(f"sync -> api_secret_file: {self.api_secret_file} is empty")
        return text
