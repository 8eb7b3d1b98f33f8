"""The integration API's models: the create and update bodies and the public view, with the ``verification`` and
``reply`` parts built from the partners registered (``integration_models()``), and the OpenAPI examples."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    create_model,
    field_serializer,
    field_validator,
)

from switchboard_contracts import partners
from switchboard_contracts.fields import DisplayName
from switchboard_contracts.partners.base import BEARER_TOKEN, CredentialField, Partner
from switchboard_registry.domain.timestamps import iso_seconds
from switchboard_registry.domain.webhooks import check_events

MAX_HEADERS = 20


# -- examples (OpenAPI) ----------------------------------------------------------------------------------------

#: seed 002's "Create Configuration" body, verbatim.
SEED_002_EXAMPLE: dict[str, Any] = {
    "name": "Freshchat Integration",
    "provider": "freshchat",
    "outgoing_webhook_url": "https://your-platform.com/webhook",
    "auth_token": "your_bearer_token",
    "custom_headers": {"X-API-Key": "your_api_key", "X-Platform": "freshchat"},
    "timeout_seconds": 30,
    "retry_attempts": 3,
    "is_active": True,
}


def create_examples() -> list[dict[str, Any]]:
    """seed 002's body, then each registered partner's examples."""
    return [SEED_002_EXAMPLE, *(example for partner in partners.registered() for example in partner.examples)]


def _create_schema_extra(schema: dict[str, Any]) -> None:
    # Computed when the schema is generated, so the examples are those of the partners registered by then.
    schema["examples"] = create_examples()


# -- request models -------------------------------------------------------------------------------------------


class IntegrationCreate(BaseModel):
    """seed 002's configuration, plus the provider's inbound verification and reply credentials."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra=_create_schema_extra
    )

    name: DisplayName = Field(
        min_length=1, max_length=200, description="Descriptive name for the integration"
    )
    #: A registered partner's name; ``integration_models()`` narrows it to the ``Provider`` enum.
    provider: str = Field(description="The partner platform")
    outgoing_webhook_url: str | None = Field(
        default=None,
        min_length=1,
        max_length=2048,
        description="Where Switchboard sends replies and events for the partner's bridge (HTTPS)",
    )
    auth_token: SecretStr | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="Sent as 'Authorization: Bearer …' to outgoing_webhook_url. Write-only.",
    )
    custom_headers: dict[str, str] = Field(
        default_factory=dict,
        description=f"Extra headers sent to outgoing_webhook_url (at most {MAX_HEADERS}). Values of "
        "credential-like headers (Authorization, X-API-Key, …) are write-only.",
    )
    timeout_seconds: int = Field(default=30, ge=1, le=30, description="Per-request timeout")
    retry_attempts: int = Field(default=3, ge=0, le=10, description="Retries after a failed request")
    is_active: bool = Field(default=True, description="Inactive integrations neither receive nor send")
    events: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Events sent to this integration (names, '*' or 'prefix.*'); defaults per provider",
    )
    #: ``Verification`` and ``ReplyCredentials`` in the models ``integration_models()`` builds.
    verification: BaseModel | None = None
    reply: BaseModel | None = None

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_events(value)


class IntegrationUpdate(BaseModel):
    """PUT/PATCH body: JSON Merge Patch over the stored configuration (RFC 7396).

    Fields left out keep their value, objects (``custom_headers``, ``verification``, ``reply``) merge key by key,
    ``null`` removes an optional value, and a masked secret (``••••…``) keeps the stored one, so a configuration
    read with GET can be sent back with a change. The provider cannot change.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"is_active": False},
                {"timeout_seconds": 10, "retry_attempts": 5, "custom_headers": {"X-Platform": None}},
                {"reply": {"api_token": "the-new-token"}},
            ]
        },
    )

    name: DisplayName | None = Field(default=None, min_length=1, max_length=200)
    provider: str | None = Field(default=None, description="Must equal the current provider if sent")
    outgoing_webhook_url: str | None = Field(default=None, min_length=1, max_length=2048)
    auth_token: SecretStr | None = Field(default=None, min_length=1, max_length=4096)
    custom_headers: dict[str, str | None] | None = None
    timeout_seconds: int | None = Field(default=None, ge=1, le=30)
    retry_attempts: int | None = Field(default=None, ge=0, le=10)
    is_active: bool | None = None
    events: list[str] | None = Field(default=None, min_length=1, max_length=200)
    #: ``VerificationPatch`` and ``ReplyPatch`` in the models ``integration_models()`` builds.
    verification: BaseModel | None = None
    reply: BaseModel | None = None


# -- the models of the registered partners ------------------------------------------------------------------------

_PART_DOCS = {
    "Verification": "How ingress verifies the partner's inbound webhooks; which fields apply depends on "
    "``provider``.",
    "ReplyCredentials": "How Switchboard answers through the partner's API; which fields apply depends on "
    "``provider``.",
    "VerificationPatch": "``verification`` in an update: the create fields, merged into the stored ones "
    "(constraints are checked\non the merged result, where masks have been resolved).",
    "ReplyPatch": "``reply`` in an update: the create fields, merged into the stored ones.",
}


@dataclass(frozen=True)
class IntegrationModels:
    """The API models for the partners registered when they were built (``integration_models()``)."""

    provider: type[StrEnum]
    verification: type[BaseModel]
    reply: type[BaseModel]
    create: type[IntegrationCreate]
    update: type[IntegrationUpdate]
    public: type[IntegrationPublic]


_models: dict[tuple[str, ...], IntegrationModels] = {}


def integration_models() -> IntegrationModels:
    """The models for the partners registered now (built once per set of partners)."""
    registered = partners.registered()
    key = tuple(partner.name for partner in registered)
    built = _models.get(key)
    if built is None:
        built = _models[key] = _build_models(registered)
    return built


def _build_models(registered: tuple[Partner, ...]) -> IntegrationModels:
    provider = StrEnum("Provider", {partner.name.upper(): partner.name for partner in registered})  # type: ignore[misc]
    verification = _part("Verification", "verification", registered, patch=False)
    reply = _part("ReplyCredentials", "reply", registered, patch=False)
    # Types made at run time: mypy sees them as Any, the strict models' users see the static bases.
    optional_verification: Any = verification | None
    optional_reply: Any = reply | None
    verification_patch: Any = _part("VerificationPatch", "verification", registered, patch=True) | None
    reply_patch: Any = _part("ReplyPatch", "reply", registered, patch=True) | None
    create = create_model(
        "IntegrationCreate",
        __base__=IntegrationCreate,
        __doc__=IntegrationCreate.__doc__,
        __module__=__name__,
        provider=(provider, Field(description="The partner platform")),
        verification=(optional_verification, None),
        reply=(optional_reply, None),
    )
    update = create_model(
        "IntegrationUpdate",
        __base__=IntegrationUpdate,
        __doc__=IntegrationUpdate.__doc__,
        __module__=__name__,
        provider=(
            provider | None,
            Field(default=None, description="Must equal the current provider if sent"),
        ),
        verification=(verification_patch, None),
        reply=(reply_patch, None),
    )
    public_model = create_model(
        "IntegrationPublic",
        __base__=IntegrationPublic,
        __doc__=IntegrationPublic.__doc__,
        __module__=__name__,
        provider=(provider, ...),
    )
    return IntegrationModels(provider, verification, reply, create, update, public_model)


def _part(
    model: str, section: Literal["verification", "reply"], registered: tuple[Partner, ...], *, patch: bool
) -> type[BaseModel]:
    """One of the ``verification`` / ``reply`` models: every partner's fields of that section, each field
    described per partner ("chatwoot: … generic: …")."""
    specs = partners.fields(section)
    definitions: dict[str, Any] = {}
    for name, spec in specs.items():
        plain: Any = SecretStr if spec.secret else spec.kind
        if patch:
            definitions[name] = (plain | None, None)
            continue
        field = Field(
            default=None,
            description=_description(section, spec, registered),
            min_length=spec.min_length,
            max_length=spec.max_length,
            ge=spec.ge,
        )
        annotated: Any = plain | None
        if spec.check is not None:
            annotated = Annotated[annotated, AfterValidator(_checked(spec))]
        definitions[name] = (annotated, field)
    config = ConfigDict(extra="forbid") if patch else ConfigDict(extra="forbid", str_strip_whitespace=True)
    built: type[BaseModel] = create_model(
        model, __config__=config, __doc__=_PART_DOCS[model], __module__=__name__, **definitions
    )
    return built


def _description(section: str, spec: CredentialField, registered: tuple[Partner, ...]) -> str:
    if spec is BEARER_TOKEN:
        text = spec.description
    else:
        users: dict[str, list[str]] = {}
        for partner in registered:
            for own in getattr(partner, section):
                if own.name == spec.name:
                    users.setdefault(own.description, []).append(partner.name)
        text = " ".join(f"{', '.join(names)}: {description}" for description, names in users.items())
    return text + " Write-only." if spec.secret and "write-only" not in text.lower() else text


def _checked(spec: CredentialField) -> Any:
    check = spec.check
    assert check is not None  # noqa: S101 - only called for fields with a check

    def run(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, SecretStr):
            return SecretStr(check(value.get_secret_value()))
        return check(value)

    return run


# -- responses ------------------------------------------------------------------------------------------------


class IntegrationPublic(BaseModel):
    """An integration as the API shows it: every secret masked (``••••abcd``), never in full."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "66a1f0c2e4b0a1b2c3d4e5f6",
                    "name": "Freshchat Integration",
                    "provider": "freshchat",
                    "outgoing_webhook_url": "https://your-platform.com/webhook",
                    "auth_token": "••••oken",
                    "custom_headers": {"X-API-Key": "••••", "X-Platform": "freshchat"},
                    "timeout_seconds": 30,
                    "retry_attempts": 3,
                    "is_active": True,
                    "events": ["message.replied", "handoff.requested"],
                    "verification": {},
                    "reply": None,
                    "created_by": "66a1f0b9e4b0a1b2c3d4e5f0",
                    "created_at": "2025-01-19T12:00:00Z",
                    "updated_at": "2025-01-19T12:00:00Z",
                }
            ]
        }
    )

    id: str
    name: str
    #: A registered partner's name; ``integration_models()`` narrows it to the ``Provider`` enum.
    provider: str
    outgoing_webhook_url: str | None
    auth_token: str | None = Field(description="Masked, or null when none is set")
    custom_headers: dict[str, str] = Field(description="Credential-like header values are masked")
    timeout_seconds: int
    retry_attempts: int
    is_active: bool
    events: list[str]
    verification: dict[str, str] = Field(
        description="The verification fields that are set; secrets masked. A Freshchat public key is shown in "
        "full with its public_key_fingerprint."
    )
    reply: dict[str, str | int] | None = Field(
        description="The reply credentials that are set; secrets masked"
    )
    created_by: str = Field(description="The API key that created the integration")
    created_at: datetime = Field(json_schema_extra={"format": "date-time"})
    updated_at: datetime = Field(json_schema_extra={"format": "date-time"})

    @field_serializer("created_at", "updated_at")
    def _iso_seconds(self, value: datetime) -> str:
        return iso_seconds(value)
