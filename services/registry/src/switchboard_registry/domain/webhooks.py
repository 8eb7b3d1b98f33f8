"""Webhook subscriptions (seed 000): request and response models, event filters, secrets and rotation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from switchboard_contracts import delivery_defaults as defaults
from switchboard_contracts.events import is_valid_filter
from switchboard_contracts.fields import DisplayName
from switchboard_contracts.signing import generate_secret
from switchboard_platform.secrets_box import SecretsBox, mask
from switchboard_registry.domain.timestamps import iso_seconds

SEED_EXAMPLE: dict[str, Any] = {
    "name": "My Application Webhook",
    "url": "https://example.com/webhooks/chatbots",
    "description": "Webhook for receiving conversation events",
    "events": ["conversation.created", "message.created"],
    "active": True,
}


class DeliverySettings(BaseModel):
    """How the dispatcher treats this endpoint. Defaults follow seed 001."""

    model_config = ConfigDict(extra="forbid")

    timeout_seconds: float = Field(default=defaults.TIMEOUT_S, gt=0, le=30, description="Per-attempt timeout")
    retry_schedule: list[int] = Field(
        default_factory=lambda: list(defaults.RETRY_SCHEDULE),
        max_length=20,
        description="Seconds to wait before each retry (jitter is added); [] disables retries",
    )
    max_in_flight: int = Field(
        default=defaults.MAX_IN_FLIGHT, ge=1, le=100, description="Concurrent deliveries to this endpoint"
    )
    rate_limit_per_minute: int = Field(
        default=defaults.RATE_PER_MINUTE, ge=1, le=100_000, description="Deliveries per minute"
    )
    ordered: bool = Field(default=False, description="Deliver strictly one at a time in event order (FIFO)")

    @field_validator("retry_schedule")
    @classmethod
    def _sane_delays(cls, value: list[int]) -> list[int]:
        if any(delay < 1 or delay > 7 * 24 * 3600 for delay in value):
            raise ValueError("each retry delay must be between 1 second and 7 days")
        return value


def check_events(events: list[str]) -> list[str]:
    """Event names, ``*`` or ``prefix.*`` from the catalog, each once (422 names the first unknown one)."""
    for index, name in enumerate(events):
        if not is_valid_filter(name):
            raise ValueError(f"unknown event type {name!r} at position {index}; see GET /api/event-types")
    return list(dict.fromkeys(events))


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SEED_EXAMPLE]})

    name: DisplayName = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=2048)
    description: str | None = Field(default=None, max_length=2000)
    events: list[str] = Field(min_length=1, max_length=200)
    active: bool = True
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=256,
        description="Bring your own signing secret; otherwise one is generated (whsec_…)",
    )
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        return check_events(value)


class WebhookUpdate(BaseModel):
    """PUT and PATCH: the fields to change (seed 000's update sends only some of them)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"events": ["conversation.created", "message.created", "message.updated"], "active": True}
            ]
        },
    )

    name: DisplayName | None = Field(default=None, min_length=1, max_length=200)
    url: str | None = Field(default=None, min_length=1, max_length=2048)
    description: str | None = Field(default=None, max_length=2000)
    events: list[str] | None = Field(default=None, min_length=1, max_length=200)
    active: bool | None = None
    delivery: DeliverySettings | None = None

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_events(value)


def new_secret(requested: str | None = None) -> str:
    return requested or generate_secret()


def rotate(
    document: dict[str, Any], box: SecretsBox, grace: timedelta, now: datetime | None = None
) -> dict[str, Any]:
    """The $set changes of a new secret: the current secret joins ``previous_secrets`` until ``now + grace`` so the
    dispatcher signs with both while receivers switch; expired previous secrets are dropped."""
    now = now or datetime.now(UTC)
    previous = [entry for entry in document.get("previous_secrets", []) if entry["expires_at"] > now]
    if grace > timedelta(0):
        previous.insert(0, {"secret": document["secret"], "expires_at": now + grace})
    return {"secret": box.encrypt(new_secret()), "previous_secrets": previous}


def public(document: dict[str, Any], box: SecretsBox, *, with_secret: bool = True) -> dict[str, Any]:
    """The seed 000 shape (plus ``delivery``, ``disabledReason`` and the rotation window)."""
    now = datetime.now(UTC)
    secret = box.decrypt(document["secret"])
    data: dict[str, Any] = {
        "_id": document["_id"],
        "name": document["name"],
        "url": document["url"],
        "description": document.get("description"),
        "events": document["events"],
        "secret": secret if with_secret else mask(secret),
        "active": document["active"],
        "createdBy": document["createdBy"],
        "createdAt": iso_seconds(document["createdAt"]),
        "updatedAt": iso_seconds(document["updatedAt"]),
        "delivery": document.get("delivery", DeliverySettings().model_dump()),
        "previousSecretExpiresAt": [
            iso_seconds(entry["expires_at"])
            for entry in document.get("previous_secrets", [])
            if entry["expires_at"] > now
        ],
    }
    if document.get("disabledReason"):
        data["disabledReason"] = document["disabledReason"]
    return data
