"""The MQTT broker the edge publishes to and MQTT readers are read from."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from edge.config.base import StrictModel, env_secret


class MqttConfig(StrictModel):
    host: str = Field(default="127.0.0.1", title="Broker host")
    port: int = Field(default=1883, ge=1, le=65535, title="Broker port")
    tls: bool = Field(default=False, title="Use TLS")
    ca_file: str | None = Field(default=None, title="CA bundle for TLS (system default if unset)")
    username: str | None = Field(default=None, title="User name")
    password: str | None = Field(
        default=None, title="Password", description="Use ${ENV_VAR} to read it from the environment"
    )
    client_id_prefix: str = Field(default="o2o-edge", title="Client id prefix")
    keepalive_s: int = Field(default=30, ge=5, le=3600, title="Keep-alive interval, seconds")
    topic_prefix: str = Field(default="o2o", title="Topic prefix (o2o/{store_id}/...)")

    @field_validator("password")
    @classmethod
    def _password_from_env(cls, value: str | None) -> str | None:
        return env_secret(value)

    @model_validator(mode="after")
    def _credentials_pair(self) -> MqttConfig:
        if self.password and not self.username:
            raise ValueError("mqtt password must be provided with username")
        return self
