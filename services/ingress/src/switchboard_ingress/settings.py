"""Ingress settings (env prefix ``SB_INGRESS_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from switchboard_platform.settings import ConfigFollowerSettings


class WidgetSettings(BaseModel):
    """seed 004, per tenant, for tenants without a policy of their own at the registry (``widget`` on
    ``tenant:<id>``, set with ``PUT /api/widget``, wins): the origins allowed to call the chat widget endpoints,
    and whether X-CSRFToken is required."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allowed_origins: list[str] = Field(default_factory=list, examples=[["https://www.acme.com"]])
    csrf: bool = False


class IngressSettings(ConfigFollowerSettings):
    model_config = SettingsConfigDict(
        env_prefix="SB_INGRESS_", extra="ignore", populate_by_name=True, frozen=True
    )
    optional_secrets: ClassVar[frozenset[str]] = frozenset()

    mongodb_database: str = Field(
        default="switchboard_ingress", description="MongoDB database for dedup and rate-limit documents"
    )
    events_token: SecretStr = Field(
        default=SecretStr("dev-events-token"),
        description="Bearer token internal producers present on POST /v1/events",
    )
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, description="Larger request bodies get 413")
    max_message_bytes: int = Field(
        default=10 * 1024, ge=256, description="seed 002: larger POST /api/webhook/incoming bodies get 413"
    )
    publish_timeout_s: float = Field(
        default=10.0, gt=0, description="Kafka acks=all wait before answering 503"
    )
    retry_after_s: int = Field(default=5, ge=1, description="Retry-After sent with 503 when Kafka is down")
    rate_limit_per_minute: int = Field(
        default=100,
        ge=1,
        description="seed 002: requests per minute per integration, across replicas (429 beyond)",
    )
    widget_rate_limit: int = Field(
        default=100,
        ge=1,
        description="seed 004: chat widget requests per client IP and integration per window",
    )
    widget_rate_window_s: int = Field(default=15 * 60, ge=1, le=3600, description="seed 004: that window")
    signature_tolerance_s: int = Field(
        default=300, ge=30, description="Replay window for signed timestamps (Zendesk, Chatwoot)"
    )
    dedup_ttl_s: int = Field(
        default=3 * 24 * 3600, ge=60, description="How long a delivered message id is remembered"
    )
    reply_timeout_s: float = Field(
        default=25.0,
        gt=0,
        le=120,
        description="How long POST /chat and POST /api/webhook/incoming?wait=true wait for the AI answer",
    )
    widgets: dict[str, WidgetSettings] = Field(
        default_factory=dict,
        description="seed 004 widget policy for tenants that set none at the registry (PUT /api/widget), as JSON: "
        '{"<tenant id>": {"allowed_origins": ["https://www.acme.com"], "csrf": true}}',
    )
    csrf_secret: SecretStr = Field(
        default=SecretStr("dev-csrf-secret"), description="Signs the chat widget's X-CSRFToken tokens"
    )
    csrf_ttl_s: int = Field(default=2 * 3600, ge=60, description="Lifetime of an issued X-CSRFToken")
    trust_forwarded_for: bool = Field(
        default=False,
        description="Take the client IP for widget limits from X-Forwarded-For (only behind a proxy that sets it)",
    )
    sweep_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="How often expired dedup / limit documents are deleted without TTL indexes",
    )
