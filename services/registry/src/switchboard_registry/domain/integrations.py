"""Partner integrations (seeds 002 and 003): what a tenant configures to bridge one support platform.

An integration says three things about one partner account:

- where Switchboard sends replies and notifications to the partner's own bridge (seed 002's
  ``outgoing_webhook_url`` with ``auth_token``, ``custom_headers``, ``timeout_seconds``, ``retry_attempts``);
- how ingress recognises the partner's inbound webhooks (``verification``: a public key or a shared secret,
  per provider — docs in shared/reference/platforms.md);
- how Switchboard answers through the partner's own API (``reply``: API tokens, ids and base URLs).

Secrets are write-only. They are sealed with the shared ``SecretsBox`` before they reach MongoDB or the config
topic (ingress and dispatcher decrypt with the same key), and the API only ever shows them masked. Custom header
values whose name marks them as credentials (``X-API-Key``, ``Authorization``…) are secrets too, the way Svix
redacts "sensitive" endpoint headers.

Everything here is pure: the routes call these functions and do the I/O (URL resolution, MongoDB) themselves.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
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

from switchboard_registry.domain.patch import (
    MASK,
    InvalidConfig,
    is_masked,
    merge_patch,
    revealed,
    validated,
)
from switchboard_registry.domain.timestamps import iso_seconds
from switchboard_registry.domain.webhooks import check_events
from switchboard_shared import partners
from switchboard_shared.fields import DisplayName
from switchboard_shared.integrations import token_digest
from switchboard_shared.partners.base import BEARER_TOKEN, CredentialField, Partner
from switchboard_shared.secrets_box import PREFIX as ENCRYPTED_PREFIX
from switchboard_shared.secrets_box import SecretsBox, mask

MAX_HEADERS = 20
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
_HEADER_VALUE_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: Headers the dispatcher sets itself (transport, content, signatures, event names, and every X-Switchboard-*);
#: a tenant cannot override them.
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "te",
        "upgrade",
        "user-agent",
        "x-webhook-signature",
        "x-webhook-event",
        "x-chatbots-signature",
        "x-chatbots-event",
        "x-chatbots-delivery",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)
_SENSITIVE_HEADER_PARTS = ("auth", "token", "secret", "key", "passw", "cookie", "session", "credential")


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


# -- rules ----------------------------------------------------------------------------------------------------


def is_sensitive_header(name: str) -> bool:
    """Whether a header's value is a credential by its name (``Authorization``, ``X-API-Key``, ``Cookie``…)."""
    lowered = name.lower()
    return any(part in lowered for part in _SENSITIVE_HEADER_PARTS)


def _set_fields(model: BaseModel | None) -> list[str]:
    if model is None:
        return []
    return [name for name in type(model).model_fields if getattr(model, name) is not None]


def partner_of(config: IntegrationCreate) -> Partner:
    partner = partners.get(str(config.provider))
    if partner is None:
        raise InvalidConfig("provider", f"{config.provider} is not a registered partner")
    return partner


def check(config: IntegrationCreate) -> None:
    """The rules a schema cannot say: which fields each provider uses, header sanity, no masks stored."""
    partner = partner_of(config)
    provider = partner.name
    _check_secrets_are_not_masks(config)
    _check_headers(config)
    allowed = partner.field_names("verification")
    for name in _set_fields(config.verification):
        if name not in allowed:
            uses = (
                ", ".join(allowed) if allowed else f"nothing ({partner.title} integrations are outbound only)"
            )
            raise InvalidConfig(
                f"verification.{name}", f"not used by {provider} integrations, which use {uses}"
            )
    accepted = partner.field_names("reply")
    required = tuple(spec.name for spec in partner.reply if spec.required)
    if config.reply is not None:
        if not accepted:
            raise InvalidConfig(
                "reply", f"{provider} integrations have no reply API; replies go to outgoing_webhook_url"
            )
        given = _set_fields(config.reply)
        for name in given:
            if name not in accepted:
                raise InvalidConfig(
                    f"reply.{name}", f"not used by {provider} replies, which use {', '.join(accepted)}"
                )
        for name in required:
            if name not in given:
                raise InvalidConfig(f"reply.{name}", f"required for {provider} replies")
    if partner.reply_required and config.reply is None:
        raise InvalidConfig(
            f"reply.{required[0]}" if required else "reply", f"required for {provider} integrations"
        )
    if not partner.outgoing_webhook:
        for name in ("outgoing_webhook_url", "auth_token"):
            if getattr(config, name) is not None:
                raise InvalidConfig(
                    name, f"not used by {provider} integrations; use the reply fields instead"
                )


def _check_secrets_are_not_masks(config: IntegrationCreate) -> None:
    candidates: list[tuple[str, object]] = [("auth_token", revealed(config.auth_token))]
    candidates += [(f"custom_headers.{name}", value) for name, value in config.custom_headers.items()]
    for prefix, part in (("verification", config.verification), ("reply", config.reply)):
        candidates += [(f"{prefix}.{name}", revealed(getattr(part, name))) for name in _set_fields(part)]
    for field, value in candidates:
        if is_masked(value):
            raise InvalidConfig(field, f"'{MASK}…' is how a stored secret is shown; send the secret itself")


def _check_headers(config: IntegrationCreate) -> None:
    if len(config.custom_headers) > MAX_HEADERS:
        raise InvalidConfig("custom_headers", f"at most {MAX_HEADERS} headers")
    seen: set[str] = set()
    for name, value in config.custom_headers.items():
        field = f"custom_headers.{name}"
        lowered = name.lower()
        if not _HEADER_NAME.match(name):
            raise InvalidConfig(
                "custom_headers", "header names are letters, digits and !#$%&'*+.^_`|~- (at most 100)"
            )
        if lowered in seen:
            raise InvalidConfig(field, "given twice (header names are case-insensitive)")
        seen.add(lowered)
        if lowered in RESERVED_HEADERS or lowered.startswith("x-switchboard-"):
            raise InvalidConfig(field, "set by Switchboard itself and cannot be overridden")
        if lowered == "authorization" and config.auth_token is not None:
            raise InvalidConfig(field, "conflicts with auth_token, which is sent as the Authorization header")
        if len(value) > 4096 or _HEADER_VALUE_FORBIDDEN.search(value):
            # The value is never echoed: it may be a credential.
            raise InvalidConfig(field, "header values are at most 4096 characters without control characters")
        if value.startswith("enc:"):
            # Stored header values with this prefix are ciphertext, which consumers decrypt.
            raise InvalidConfig(field, "header values may not start with 'enc:'")


def endpoint_urls(config: IntegrationCreate) -> dict[str, str]:
    """Every URL the dispatcher will call for this integration, by field path (for the SSRF check)."""
    urls: dict[str, str] = {}
    if config.outgoing_webhook_url is not None:
        urls["outgoing_webhook_url"] = config.outgoing_webhook_url
    if config.reply is not None:
        for name in _reply_urls():
            value = revealed(getattr(config.reply, name, None))
            if value is not None:
                urls[f"reply.{name}"] = value
    return urls


def stored_endpoint_urls(document: Mapping[str, Any], box: SecretsBox) -> dict[str, str]:
    """``endpoint_urls`` of a stored integration."""
    urls: dict[str, str] = {}
    if document.get("outgoing_webhook_url"):
        urls["outgoing_webhook_url"] = document["outgoing_webhook_url"]
    reply = document.get("reply") or {}
    secrets = _secrets("reply")
    for name in _reply_urls():
        if name in reply:
            urls[f"reply.{name}"] = box.decrypt(reply[name]) if name in secrets else reply[name]
    return urls


def _reply_urls() -> tuple[str, ...]:
    """Reply fields holding a URL the dispatcher will call (checked against the SSRF policy like any endpoint)."""
    return tuple(name for name, spec in partners.fields("reply").items() if spec.url)


def _secrets(section: Literal["verification", "reply"]) -> frozenset[str]:
    return partners.secret_fields(section)


def events_of(config: IntegrationCreate) -> list[str]:
    """What the integration receives unless ``events`` says otherwise (the dispatcher's defaults too): partners
    get the answers and the live-agent handoff (seed 002), Slack the ticket and AI-review traffic (seed 003)."""
    if config.events is not None:
        return list(config.events)
    return list(partner_of(config).default_events)


#: Internal lookup fields (registry only): SHA-256 of the tokens that identify an integration by themselves, under
#: unique indexes so two integrations can never answer to the same token.
DIGEST_FIELDS = {"bearer_token": "bearer_token_sha256", "path_token": "path_token_sha256"}


def sealed(config: IntegrationCreate, box: SecretsBox) -> tuple[dict[str, Any], dict[str, str]]:
    """(the stored fields with every secret encrypted, the token digests that are set)."""
    plain = revealed(config.model_dump())
    # Credential-like header values are stored (and published) as ciphertext in place; consumers decrypt every
    # value carrying the ``enc:`` prefix, which plaintext values are not allowed to start with.
    headers = {
        name: box.encrypt(value) if is_sensitive_header(name) else value
        for name, value in plain["custom_headers"].items()
    }
    verification = _seal_part(plain["verification"], _secrets("verification"), box)
    reply = _seal_part(plain["reply"], _secrets("reply"), box) if plain["reply"] is not None else None
    fields = {
        "name": plain["name"],
        "provider": str(config.provider),
        "outgoing_webhook_url": plain["outgoing_webhook_url"],
        "auth_token": box.encrypt(plain["auth_token"]) if plain["auth_token"] is not None else None,
        "custom_headers": headers,
        "timeout_seconds": plain["timeout_seconds"],
        "retry_attempts": plain["retry_attempts"],
        "is_active": plain["is_active"],
        "events": events_of(config),
        "verification": verification,
        "reply": reply,
    }
    digests = {
        DIGEST_FIELDS[name]: token_digest(value)
        for name, value in (plain["verification"] or {}).items()
        if name in DIGEST_FIELDS and value is not None
    }
    return fields, digests


def _seal_part(part: Mapping[str, Any] | None, secrets: Collection[str], box: SecretsBox) -> dict[str, Any]:
    return {
        name: box.encrypt(value) if name in secrets else value
        for name, value in (part or {}).items()
        if value is not None
    }


def revealed_config(document: Mapping[str, Any], box: SecretsBox) -> dict[str, Any]:
    """The stored configuration in request shape with secrets decrypted (the base an update merges onto)."""
    headers = {
        name: box.decrypt(value) if _is_sealed(value) else value
        for name, value in (document.get("custom_headers") or {}).items()
    }
    config: dict[str, Any] = {
        "name": document["name"],
        "provider": document["provider"],
        "outgoing_webhook_url": document.get("outgoing_webhook_url"),
        "auth_token": box.decrypt(document["auth_token"]) if document.get("auth_token") else None,
        "custom_headers": headers,
        "timeout_seconds": document["timeout_seconds"],
        "retry_attempts": document["retry_attempts"],
        "is_active": document["is_active"],
        "events": document["events"],
        "verification": _reveal_part(document.get("verification"), _secrets("verification"), box),
        "reply": _reveal_part(document.get("reply"), _secrets("reply"), box)
        if document.get("reply")
        else None,
    }
    return {key: value for key, value in config.items() if value is not None}


def _is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(ENCRYPTED_PREFIX)


def _reveal_part(part: Mapping[str, Any] | None, secrets: Collection[str], box: SecretsBox) -> dict[str, Any]:
    return {name: box.decrypt(value) if name in secrets else value for name, value in (part or {}).items()}


def updated(document: Mapping[str, Any], patch: Mapping[str, Any], box: SecretsBox) -> IntegrationCreate:
    """The configuration after applying ``patch`` (an update body's sent fields) to ``document``, validated.

    Masked values in the patch keep the stored secret; the provider cannot change (its fields mean different
    things per provider, so a new provider is a new integration).
    """
    current = revealed_config(document, box)
    if patch.get("provider") not in (None, current["provider"]):
        raise InvalidConfig("provider", "cannot be changed; create a new integration for another provider")
    merged = merge_patch(current, _unmasked(patch, current))
    config = validated(integration_models().create, merged)
    check(config)
    return config


def _unmasked(patch: Mapping[str, Any], current: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    """``patch`` with each masked value replaced by the stored value it stands for (header names matched
    case-insensitively); a mask standing for nothing stored is refused."""
    result: dict[str, Any] = {}
    headers = path == "custom_headers."
    for name, value in patch.items():
        # HTTP header names are case-insensitive: "x-api-key" in a patch is the stored "X-API-Key".
        key = _stored_name(current, name) if headers else name
        field = f"{path}{key}"
        if isinstance(value, Mapping):
            stored = current.get(key)
            result[key] = _unmasked(value, stored if isinstance(stored, Mapping) else {}, f"{field}.")
        elif is_masked(value):
            stored_value = current.get(key)
            if stored_value is None:
                raise InvalidConfig(
                    field, f"'{MASK}…' stands for a stored secret, but none is stored; send the secret"
                )
            result[key] = stored_value
        else:
            result[key] = value
    return result


def _stored_name(values: Mapping[str, Any], name: str) -> str:
    return next((stored for stored in values if stored.lower() == name.lower()), name)


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


def public(document: Mapping[str, Any], box: SecretsBox) -> IntegrationPublic:
    headers = {
        name: mask(box.decrypt(value)) if _is_sealed(value) else value
        for name, value in (document.get("custom_headers") or {}).items()
    }
    verification = _public_part(document.get("verification"), _secrets("verification"), box)
    specs = partners.fields("verification")
    for name, value in list(verification.items()):
        spec = specs.get(name)
        if spec is not None and spec.describe is not None and not spec.secret:
            verification.update(spec.describe(str(value)))
    return integration_models().public(
        id=document["_id"],
        name=document["name"],
        provider=document["provider"],
        outgoing_webhook_url=document.get("outgoing_webhook_url"),
        auth_token=mask(box.decrypt(document["auth_token"])) if document.get("auth_token") else None,
        custom_headers=dict(sorted(headers.items(), key=lambda item: item[0].lower())),
        timeout_seconds=document["timeout_seconds"],
        retry_attempts=document["retry_attempts"],
        is_active=document["is_active"],
        events=document["events"],
        verification={name: str(value) for name, value in verification.items()},
        reply=_public_part(document.get("reply"), _secrets("reply"), box) if document.get("reply") else None,
        created_by=document["created_by"],
        created_at=document["created_at"],
        updated_at=document["updated_at"],
    )


def _public_part(
    part: Mapping[str, Any] | None, secrets: Collection[str], box: SecretsBox
) -> dict[str, str | int]:
    return {
        name: mask(box.decrypt(value)) if name in secrets else value for name, value in (part or {}).items()
    }
