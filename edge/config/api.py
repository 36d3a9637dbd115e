"""The edge's HTTP API (tablets, staff, dashboard, enrolment): where it listens, who may call it."""

from __future__ import annotations

from pydantic import Field, field_validator

from edge.config.base import StrictModel, env_secret


class ApiConfig(StrictModel):
    enabled: bool = Field(default=True, title="Serve the tablet, staff and dashboard pages")
    host: str = Field(
        default="0.0.0.0",
        min_length=1,
        title="Address the HTTP server listens on",
        description="0.0.0.0: every interface, so that the store's tablets can reach it",
    )
    port: int = Field(default=8080, ge=0, le=65535, title="HTTP port (0: any free port)")
    pairing_code_ttl_s: float = Field(
        default=600.0,
        gt=0,
        le=7 * 24 * 3600,
        title="A device's one-time pairing code expires after this long",
    )
    ws_queue_size: int = Field(
        default=256,
        ge=8,
        le=100_000,
        title="Events queued per WebSocket client before the oldest are dropped",
        description="A slow tablet loses old updates, never stalls the edge; drops are counted",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        title="Largest request body, bytes (larger: 413 before it is read)",
        description="Checked on Content-Length and while a chunked body streams in",
    )
    max_upload_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024 * 1024,
        le=1024 * 1024 * 1024,
        title="Largest body of a photo upload (member faces, identify), bytes",
        description="Each photo is also limited to 10 MiB by the route",
    )
    admin_token: str | None = Field(
        default=None,
        title="Bearer token for administrative calls (member enrolment, erasure, identify)",
        description="Use ${ENV_VAR} to read it from the environment; unset disables those calls",
    )

    @field_validator("admin_token")
    @classmethod
    def _token_from_env(cls, value: str | None) -> str | None:
        token = env_secret(value)
        if token is not None and len(token) < 16:
            raise ValueError("api -> admin_token must be at least 16 characters")
        return token
