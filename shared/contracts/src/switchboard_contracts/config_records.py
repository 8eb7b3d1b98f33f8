"""The registry's configuration as it crosses the compacted config topic: one pydantic model per entity.

The registry builds a record from its document and publishes it as ``ConfigChanged.state``, keyed
``<entity>:<id>``; a ``ConfigFollower`` parses each record once into the model its entity names, and the
services' views (``switchboard_platform.config_view``) read typed attributes, never a raw document. A field
the registry adds to a record must be added here, and the registry's builder will not type-check until it
sets it.

Wire shape: exactly what the registry published before these models existed, so records already on a
compacted topic (which keeps the latest value per key for ever) still parse (ADR 0007). Python names are
snake_case throughout; the webhook's fields that seed 000 spells in camelCase (``createdBy``,
``disabledReason``…) keep that spelling on the wire through aliases. Fields a record gained after its first
release have defaults, so older records read as what they meant.

Secrets travel as ``SecretsBox`` ciphertext (``enc:v1:…``) in the fields typed ``Sealed``; a follower reveals
them with the shared key (``ConfigView.reveal``). Provider-specific fields of an integration (its
``verification`` and ``reply`` parts) are a mapping of named settings, which each provider declares.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, model_validator

from switchboard_contracts import delivery_defaults

Entity = Literal["tenant", "api_key", "webhook", "integration", "conversation", "settings"]

#: seed 001's schedule: three retries after 4, 8 and 10 seconds (declared in ``delivery_defaults``).
DEFAULT_RETRY_SCHEDULE: tuple[int, ...] = delivery_defaults.RETRY_SCHEDULE


def _utc(value: datetime) -> datetime:
    # MongoDB hands the registry aware datetimes (tz_aware=True), but a record written by hand or by an older
    # producer may carry a naive one; it always meant UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
#: A secret as ``SecretsBox`` ciphertext (or, in records written before a field was sealed, plaintext):
#: ``ConfigView.reveal`` gives the plaintext.
Sealed = str
#: A provider's own settings (``verification`` or ``reply`` fields): text, sealed secrets or numeric ids.
ProviderSettings = dict[str, str | int]


class ConfigRecord(BaseModel):
    """What every config record carries: its id, its tenant and the registry's version of it."""

    #: Unknown fields are ignored: a registry newer than its followers (a rolling deploy) may publish more.
    model_config = ConfigDict(frozen=True, extra="ignore", validate_by_name=True, validate_by_alias=True)

    entity: ClassVar[Entity]

    id: str
    tenant_id: str
    version: int = Field(ge=1, description="Monotonic per entity; followers keep the highest.")


class DeliveryConfig(BaseModel):
    """How the dispatcher treats an endpoint (seed 001's defaults)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    timeout_seconds: float = 30
    retry_schedule: tuple[int, ...] = DEFAULT_RETRY_SCHEDULE
    max_in_flight: int = 10
    rate_limit_per_minute: int = 100
    ordered: bool = False


class PreviousSecret(BaseModel):
    """A webhook secret replaced by a rotation, still signing until ``expires_at``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    secret: Sealed
    expires_at: UtcDatetime


class WebhookConfig(ConfigRecord):
    """A webhook subscription (seed 000), keyed ``webhook:<id>``."""

    entity: ClassVar[Entity] = "webhook"

    name: str
    url: str
    description: str | None = None
    events: tuple[str, ...]
    active: bool = True
    secret: Sealed
    previous_secrets: tuple[PreviousSecret, ...] = ()
    delivery: DeliveryConfig = DeliveryConfig()
    #: Set when the dispatcher disabled the endpoint (410 Gone, failing too long); cleared on re-enabling.
    disabled_reason: str | None = Field(default=None, alias="disabledReason")
    disabled_at: UtcDatetime | None = Field(default=None, alias="disabledAt")
    created_by: str = Field(alias="createdBy")
    created_at: UtcDatetime = Field(alias="createdAt")
    updated_at: UtcDatetime = Field(alias="updatedAt")


class IntegrationConfig(ConfigRecord):
    """A partner integration (seeds 002 and 003), keyed ``integration:<id>``.

    The common part is typed here; ``verification`` (how ingress checks the partner's webhooks) and ``reply``
    (the partner's API credentials) hold the provider's own settings, secrets sealed.
    """

    entity: ClassVar[Entity] = "integration"

    name: str
    provider: str
    outgoing_webhook_url: str | None = None
    auth_token: Sealed | None = None
    #: Values of credential-like headers are sealed; the others are plaintext (never starting with ``enc:``).
    custom_headers: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: int = 30
    retry_attempts: int = 3
    is_active: bool = True
    #: Empty: the provider's default events.
    events: tuple[str, ...] = ()
    verification: ProviderSettings = Field(default_factory=dict)
    reply: ProviderSettings | None = None
    #: A per-integration override of ingress's request limit (the registry does not set one yet).
    rate_limit_per_minute: int | None = None
    created_by: str
    created_at: UtcDatetime
    updated_at: UtcDatetime


class CallbackConfig(BaseModel):
    """A conversation's ``config``: the callback URL and signing secret, plus the caller's own keys
    (``workflow_id``…), which are carried as given."""

    model_config = ConfigDict(frozen=True, extra="allow")

    callback_url: str
    secret: Sealed | None = None

    __pydantic_extra__: dict[str, JsonValue] = Field(init=False)


class ConversationConfig(ConfigRecord):
    """A conversation with a callback (seed 001), keyed ``conversation:<id>``; its id is the conversation id."""

    entity: ClassVar[Entity] = "conversation"

    channel: str
    usecase: str
    config: CallbackConfig
    delivery: DeliveryConfig = DeliveryConfig()
    created_by: str
    created_at: UtcDatetime
    updated_at: UtcDatetime


class WidgetConfig(BaseModel):
    """seed 004: which web origins may call the chat widget endpoints, and whether X-CSRFToken is required."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    allowed_origins: tuple[str, ...] = ()
    csrf: bool = False


class TenantConfig(ConfigRecord):
    """A tenant, keyed ``tenant:<id>``; its ``tenant_id`` is its own id."""

    entity: ClassVar[Entity] = "tenant"

    name: str
    development_mode: bool = False
    widget: WidgetConfig | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class ApiKeyConfig(ConfigRecord):
    """A tenant's API key, keyed ``api_key:<id>``: its SHA-256 digest, never the key."""

    entity: ClassVar[Entity] = "api_key"

    name: str
    scopes: tuple[str, ...]
    key_hash: str
    #: The key's first characters, to recognise it in a list.
    prefix: str
    revoked_at: UtcDatetime | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime


AnyConfig = WebhookConfig | IntegrationConfig | ConversationConfig | TenantConfig | ApiKeyConfig

#: The model of each entity's records.
RECORD_MODELS: dict[Entity, type[AnyConfig]] = {
    model.entity: model
    for model in (WebhookConfig, IntegrationConfig, ConversationConfig, TenantConfig, ApiKeyConfig)
}


def config_key(entity: Entity, entity_id: str) -> str:
    """The record key (and partition key) of an entity on the config topic."""
    return f"{entity}:{entity_id}"


_ENTITIES: dict[str, Entity] = {entity: entity for entity in get_args(Entity)}


def parse_key(key: str) -> tuple[Entity, str] | None:
    """(entity, id) of a record key ``<entity>:<id>``, or None for a key that names no entity."""
    name, _, entity_id = key.partition(":")
    entity = _ENTITIES.get(name)
    return (entity, entity_id) if entity is not None and entity_id else None


class ConfigChanged(BaseModel):
    """A registry change on the compacted config topic (the record's value; a deletion is a tombstone, a null
    value). ``state`` is parsed as the model of ``entity``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity: Entity
    entity_id: str
    tenant_id: str | None = None
    version: int = Field(ge=1, description="Monotonic per entity; consumers ignore older versions.")
    state: AnyConfig | None

    @model_validator(mode="before")
    @classmethod
    def _state_as_its_entity(cls, data: object) -> object:
        # The entity beside the state says which model it is; the union alone would have to guess.
        if isinstance(data, dict) and isinstance(data.get("state"), dict):
            entity = _ENTITIES.get(str(data.get("entity")))
            model = RECORD_MODELS.get(entity) if entity is not None else None
            if model is not None:
                return {**data, "state": model.model_validate(data["state"])}
        return data
