"""Conversation callbacks (seed 001): a conversation registered with a ``config.callback_url``.

Every message event of the conversation is delivered to that URL in seed 001's payload
(``{conversation_id, data: {message}, timestamp}``) by the dispatcher, which learns the configuration from the
config topic. The delivery rules are the seed's and not negotiable per conversation: HTTPS only, 30 s timeout,
three retries after 4, 8 and 10 seconds, at most 10 concurrent deliveries and 100 per minute per endpoint.
They are stored with each conversation (``delivery``) so the dispatcher reads them instead of hard-coding them.
An optional ``config.secret`` makes the dispatcher sign callbacks; like every secret it is write-only and
travels encrypted.

Conversation ids are UUIDs, as seed 001's ``conversation_id`` is; producers use this id as the partition key
and ``conversation_id`` of their message events.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_serializer

from switchboard_platform.secrets_box import SecretsBox, mask
from switchboard_registry.domain.patch import MASK, InvalidConfig, is_masked, merge_patch, revealed, validated
from switchboard_registry.domain.timestamps import iso_seconds
from switchboard_registry.domain.webhooks import DeliverySettings

#: seed 001's delivery system (``DeliverySettings``' defaults), published with every conversation.
CALLBACK_DELIVERY = DeliverySettings()

SEED_001_EXAMPLE: dict[str, Any] = {
    "channel": "API",
    "usecase": "WORKFLOW_EXECUTION",
    "config": {"workflow_id": "123", "callback_url": "https://your-domain.com/webhook"},
}
_MAX_DEPTH = 8


class Channel(StrEnum):
    """seed 001's channels (``data.channel``)."""

    API = "API"
    WHATSAPP = "WHATSAPP"
    SMS = "SMS"


def new_conversation_id() -> str:
    return str(uuid.uuid4())


def is_conversation_id(value: str) -> bool:
    """A canonical, lower-case UUID string (what ``new_conversation_id`` makes)."""
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _check_storable(value: Any, path: str, depth: int = 0) -> None:
    """Keys MongoDB can store and nesting a human wrote: ``$``-prefixed or dotted keys would be read as
    operators or paths."""
    if depth > _MAX_DEPTH:
        raise InvalidConfig(path, f"nested more than {_MAX_DEPTH} levels deep")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not key or key.startswith("$") or "." in key or "\x00" in key:
                raise InvalidConfig(f"{path}.{key}", "keys may not be empty, start with '$' or contain '.'")
            _check_storable(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_storable(item, f"{path}.{index}", depth + 1)


class ConversationConfig(BaseModel):
    """``callback_url`` is required; any other keys (``workflow_id``…) are kept and returned as given — they are
    not secret, so put no credentials there."""

    model_config = ConfigDict(
        extra="allow",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [SEED_001_EXAMPLE["config"]]},
    )

    callback_url: str = Field(
        min_length=1,
        max_length=2048,
        description="Where the conversation's message events are POSTed. HTTPS only, publicly reachable.",
    )
    secret: SecretStr | None = Field(
        default=None,
        min_length=16,
        max_length=1024,
        description="Optional signing secret (seed 001: 'request signing recommended'): callbacks then carry "
        "X-Webhook-Signature and Standard Webhooks signatures. Write-only: encrypted at rest, shown masked.",
    )


class ConversationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [SEED_001_EXAMPLE]}
    )

    channel: Channel = Field(description="The conversation's channel")
    usecase: str = Field(min_length=1, max_length=100, description="What the conversation is for")
    config: ConversationConfig


class ConversationUpdate(BaseModel):
    """PUT/PATCH body: JSON Merge Patch (RFC 7396) over the stored conversation: fields left out stay, ``config``
    merges key by key, ``null`` removes a config key (``callback_url`` cannot be removed)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"config": {"callback_url": "https://your-domain.com/webhooks/v2"}},
                {"usecase": "SUPPORT", "config": {"workflow_id": None}},
            ]
        },
    )

    channel: Channel | None = None
    usecase: str | None = Field(default=None, min_length=1, max_length=100)
    config: dict[str, Any] | None = Field(default=None, description="Merged into the stored config")


def check(config: ConversationCreate) -> None:
    """What the schema cannot say: free-form config keys must be storable as they are; no mask as a secret."""
    _check_storable(config.config.model_dump(), "config")
    if config.config.secret is not None and is_masked(config.config.secret.get_secret_value()):
        raise InvalidConfig(
            "config.secret", f"'{MASK}…' is how a stored secret is shown; send the secret itself"
        )


def stored(config: ConversationCreate, box: SecretsBox) -> dict[str, Any]:
    """The fields a conversation is stored (and published) with; the signing secret as ciphertext."""
    settings = revealed(config.config.model_dump())
    secret = settings.pop("secret", None)
    if secret is not None:
        settings["secret"] = box.encrypt(secret)
    return {
        "channel": config.channel.value,
        "usecase": config.usecase,
        "config": settings,
        "delivery": CALLBACK_DELIVERY.model_dump(),
    }


def updated(document: Mapping[str, Any], patch: Mapping[str, Any], box: SecretsBox) -> ConversationCreate:
    """The conversation after applying ``patch`` (an update body's sent fields), validated like a create.
    A masked ``config.secret`` keeps the stored secret."""
    settings = dict(document["config"])
    if settings.get("secret"):
        settings["secret"] = box.decrypt(settings["secret"])
    patch = dict(patch)
    sent_config = patch.get("config")
    if isinstance(sent_config, Mapping) and is_masked(sent_config.get("secret")):
        if not settings.get("secret"):
            raise InvalidConfig("config.secret", f"'{MASK}…' stands for a stored secret, but none is stored")
        patch["config"] = {**sent_config, "secret": settings["secret"]}
    current = {"channel": document["channel"], "usecase": document["usecase"], "config": settings}
    config = validated(ConversationCreate, merge_patch(current, patch))
    check(config)
    return config


class ConversationPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f2b8c1e-5d4a-4f7b-9c2e-1a2b3c4d5e6f",
                    "channel": "API",
                    "usecase": "WORKFLOW_EXECUTION",
                    "config": {"workflow_id": "123", "callback_url": "https://your-domain.com/webhook"},
                    "delivery": CALLBACK_DELIVERY.model_dump(),
                    "created_by": "66a1f0b9e4b0a1b2c3d4e5f0",
                    "created_at": "2024-03-21T10:00:00Z",
                    "updated_at": "2024-03-21T10:00:00Z",
                }
            ]
        }
    )

    id: str = Field(description="The conversation id (UUID): message events carry it as conversation_id")
    channel: Channel
    usecase: str
    config: dict[str, Any] = Field(description="As configured; a signing secret is masked")
    delivery: DeliverySettings = Field(description="How callbacks are delivered (seed 001; read-only)")
    created_by: str = Field(description="The API key that registered the conversation")
    created_at: datetime = Field(json_schema_extra={"format": "date-time"})
    updated_at: datetime = Field(json_schema_extra={"format": "date-time"})

    @field_serializer("created_at", "updated_at")
    def _iso_seconds(self, value: datetime) -> str:
        return iso_seconds(value)


def public(document: Mapping[str, Any], box: SecretsBox) -> ConversationPublic:
    settings = dict(document["config"])
    if settings.get("secret"):
        settings["secret"] = mask(box.decrypt(settings["secret"]))
    return ConversationPublic(
        id=document["_id"],
        channel=Channel(document["channel"]),
        usecase=document["usecase"],
        config=settings,
        delivery=DeliverySettings.model_validate(document["delivery"]),
        created_by=document["created_by"],
        created_at=document["created_at"],
        updated_at=document["updated_at"],
    )
