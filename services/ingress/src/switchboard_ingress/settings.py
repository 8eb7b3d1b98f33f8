"""Ingress settings (env prefix ``SB_INGRESS_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from switchboard_shared.settings import ServiceSettings


class IngressSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SB_INGRESS_", extra="ignore", populate_by_name=True, frozen=True
    )

    events_token: SecretStr = Field(
        default=SecretStr("dev-events-token"),
        description="Bearer token internal producers present on POST /v1/events",
    )
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, description="Larger request bodies get 413")
    publish_timeout_s: float = Field(
        default=10.0, gt=0, description="Kafka acks=all wait before answering 503"
    )
    retry_after_s: int = Field(default=5, ge=1, description="Retry-After sent with 503 when Kafka is down")
