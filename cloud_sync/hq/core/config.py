"""Headquarters settings, read once from ``O2O_HQ_*`` environment variables.

Every field below is one variable: ``database_url`` is ``O2O_HQ_DATABASE_URL``. Dict and
list fields take JSON (``O2O_HQ_TIER_POINTS_MULTIPLIER='{"gold": 1.5}'``). Errors name the
variable and the value, like the edge's STORE.yaml errors.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ENV_PREFIX = "O2O_HQ_"
DEFAULT_SQLITE_PATH = Path("var/hq.sqlite3")


class NotifyChannel(StrEnum):
    NONE = "none"
    WEBHOOK = "webhook"
    WECHAT = "wechat"
    FILE = "file"
    """JSON lines appended to ``notify_file``: for demos and development, never production."""


class SettingsError(ValueError):
    pass


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str = Field(
        default="",
        title="Database URL",
        description="postgresql+psycopg://user@host/db; empty means SQLite at var/hq.sqlite3",
    )
    admin_token: str = Field(
        default="",
        title="Bootstrap admin bearer token",
        description="Bearer token with the admin role; staff tokens are created with it",
    )
    secret_key: str = Field(
        default="",
        title="Server key",
        description="Fernet key encrypting store secrets and embeddings at rest",
    )
    db_pool_size: int = Field(
        default=10,
        ge=1,
        le=200,
        title="Database connections per worker (plus half as many in bursts, plus 3)",
    )
    rate_limit_requests: int = Field(
        default=6000, ge=1, title="Requests per store per window (all workers together)"
    )
    rate_limit_window_s: int = Field(default=60, ge=1, title="Rate-limit window, seconds")
    max_body_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024, title="Largest decompressed upload, bytes"
    )
    points_per_currency_unit: float = Field(
        default=1.0, ge=0, title="Points credited per unit of sale total (floored)"
    )
    tier_points_multiplier: dict[str, float] = Field(
        default_factory=dict, title='Points multiplier per member tier, e.g. {"gold": 1.5}'
    )
    revenue_share_pct: float = Field(
        default=10.0,
        ge=0,
        le=100,
        title="Share of a sale credited to the member's home store when sold elsewhere",
    )
    revenue_share_pct_by_store: dict[str, float] = Field(
        default_factory=dict, title="Per home-store override of revenue_share_pct"
    )
    personal_data_retention_days: int = Field(
        default=30,
        ge=0,
        title="Days an erased member's personal data is kept before it is purged",
    )
    notify_channel: NotifyChannel = Field(default=NotifyChannel.NONE, title="Member channel")
    webhook_url: str = Field(default="", title="Generic webhook URL")
    notify_file: str = Field(
        default="var/notifications.jsonl", title="File channel: where messages are appended"
    )
    webhook_secret: str = Field(default="", title="HMAC secret signing webhook bodies")
    wechat_api_base: str = Field(default="https://api.weixin.qq.com", title="WeChat API base URL")
    wechat_access_token: str = Field(default="", title="WeChat service-account access token")
    wechat_template_purchase: str = Field(default="", title="Template id: purchase")
    wechat_template_points: str = Field(default="", title="Template id: points changed")
    notify_max_attempts: int = Field(default=5, ge=1, title="Delivery attempts per message")
    notify_retry_base_s: float = Field(default=2.0, gt=0, title="First retry delay, seconds")
    vision: dict[str, Any] = Field(
        default_factory=dict,
        title="Face backend for photo enrolment: the edge's STORE.yaml vision section, as JSON",
        description="Must match the stores' backend so that embeddings are comparable",
    )
    stock_max_age_s: float = Field(
        default=900.0,
        gt=0,
        title="A store's stock counts older than this are never reported as in stock, seconds",
        description="Stores send their counts at least every stock_heartbeat_s (edge, 300 s)",
    )
    nearby_radius_km: float = Field(
        default=25.0,
        gt=0,
        le=1000,
        title="Stores' tablets name other stores within this distance that have a size, km",
    )
    nearby_stores: int = Field(
        default=3,
        ge=1,
        le=10,
        title="Nearby stores listed per GTIN on a store's downlink (nearest first)",
    )
    sold_epcs_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        title="Stores are sent the EPCs sold chain-wide in this many days (their exit gates)",
        description="An item bought longer ago that walks through a gate may alarm; 8 bytes "
        "an EPC on the wire and in each store's memory (docs/hq.md, Sold EPCs)",
    )
    background_interval_s: float = Field(
        default=1.0, gt=0, title="Period of the delivery / purge loop, seconds"
    )
    segments_refresh_s: float = Field(
        default=600.0,
        gt=0,
        title="How old the RFM segments snapshot may get, seconds",
        description="Each refresh ranks every buying member (about 12 s at 1 million)",
    )

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{DEFAULT_SQLITE_PATH}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        raw: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            value = env.get(ENV_PREFIX + name.upper())
            if value is None:
                continue
            if field.annotation is not None and getattr(field.annotation, "__origin__", None):
                try:
                    raw[name] = json.loads(value)
                except json.JSONDecodeError as exc:
                    raise SettingsError(
                        f"{ENV_PREFIX}{name.upper()}: not valid JSON ({exc.msg}) (value: {value})"
                    ) from None
            else:
                raw[name] = value
        raw.update(overrides)
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ENV_PREFIX + ".".join(str(p) for p in first["loc"]).upper()
            raise SettingsError(f"{key}: {first['msg']} (value: {first.get('input')!r})") from None

    def to_env(self) -> dict[str, str]:
        """The variables that recreate these settings in a worker process."""
        out: dict[str, str] = {}
        for name, value in self.model_dump(mode="json").items():
            out[ENV_PREFIX + name.upper()] = (
                json.dumps(value) if isinstance(value, dict | list) else str(value)
            )
        return out
