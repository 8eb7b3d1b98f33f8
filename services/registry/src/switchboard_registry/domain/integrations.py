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

import base64
import binascii
import hashlib
import re
from collections.abc import Collection, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_serializer, field_validator

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
from switchboard_shared.events import INTEGRATION_DEFAULT_EVENTS, SLACK_DEFAULT_EVENTS
from switchboard_shared.fields import DisplayName
from switchboard_shared.integrations import VERIFICATION_SECRETS, token_digest
from switchboard_shared.secrets_box import PREFIX as ENCRYPTED_PREFIX
from switchboard_shared.secrets_box import SecretsBox, mask


class Provider(StrEnum):
    FRESHCHAT = "freshchat"
    ZENDESK = "zendesk"
    INTERCOM = "intercom"
    CHATWOOT = "chatwoot"
    SLACK = "slack"
    GENERIC = "generic"


#: Which ``verification`` fields each provider's inbound webhooks use. ``bearer_token`` is seed 002's
#: ``Authorization: Bearer`` on POST /api/webhook/incoming, which a partner's own bridge may use for any chat
#: platform; Slack is outbound only.
VERIFICATION_FIELDS: dict[Provider, tuple[str, ...]] = {
    Provider.FRESHCHAT: ("public_key", "bearer_token"),
    Provider.ZENDESK: ("signing_secret", "bearer_token"),
    Provider.INTERCOM: ("client_secret", "bearer_token"),
    Provider.CHATWOOT: ("webhook_secret", "path_token", "bearer_token"),
    Provider.GENERIC: ("webhook_secret", "bearer_token"),
    Provider.SLACK: (),
}

#: ``reply`` fields per provider: (required, optional). Generic partners get replies at outgoing_webhook_url.
REPLY_FIELDS: dict[Provider, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Provider.FRESHCHAT: (("api_url", "api_token"), ("actor_id",)),
    Provider.ZENDESK: (("subdomain", "email", "api_token"), ("author_id",)),
    Provider.INTERCOM: (("access_token", "admin_id"), ()),
    Provider.CHATWOOT: (("base_url", "account_id", "api_access_token", "inbox_id"), ()),
    Provider.SLACK: (("webhook_url",), ("channel",)),
    Provider.GENERIC: ((), ()),
}

REPLY_SECRETS = frozenset({"api_token", "access_token", "api_access_token", "webhook_url"})
#: Reply fields holding a URL the dispatcher will call (checked against the SSRF policy like any endpoint).
REPLY_URLS = ("api_url", "base_url", "webhook_url")

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

_PATH_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ARMOR = re.compile(r"-----(?:BEGIN|END) [A-Z0-9 ]+-----")

# -- examples (OpenAPI) ----------------------------------------------------------------------------------------

#: A Freshchat-style key as pasted: one line, PKCS#1 label, SubjectPublicKeyInfo inside (platforms.md §1.3).
EXAMPLE_FRESHCHAT_KEY = (
    "-----BEGIN RSA PUBLIC KEY----- "
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAo67LJJto/jkcuNjoLOJoSlkNudi6uD8RkOoyTEA2HE041sZ1UYb0sM0+8dTGFVBp"
    "qOVE4rlE9v7lb6x87N7cyvRaiTVtx7Iv8zuuHMuOseGbBqE+1Ncnnecnn8pMZMEGp180l8tEXL4+pxLnCDdioclTrfwb0Ko+Ggedbr1UKJim"
    "27+lguBVSjuyj7zvy7WOU2ljnGDiRjVFHyqnl5ZLkPVBpdfpQ4c4N3qXTkAMSeAOSuOalUsgybMNRcinodgtkgkBFE09uCntGuBVwQyeXUWN"
    "gZCamtkVhvpIui4aMW+YTiN+Jas+UXQqlV0zsYmoilj3iDC3Y2kFrh5j5AVLQQIDAQAB"
    " -----END RSA PUBLIC KEY-----"
)

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
CREATE_EXAMPLES: list[dict[str, Any]] = [
    SEED_002_EXAMPLE,
    {
        "name": "Freshchat (native webhooks, replies through the API)",
        "provider": "freshchat",
        "verification": {"public_key": EXAMPLE_FRESHCHAT_KEY},
        "reply": {"api_url": "https://acme.freshchat.com/v2", "api_token": "eyJraWQiOiJjdXN0b20…"},
    },
    {
        "name": "Zendesk Support",
        "provider": "zendesk",
        "verification": {"signing_secret": "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="},
        "reply": {"subdomain": "acme", "email": "bot@acme.com", "api_token": "6wiIBWbGkBMo1mRDMuVwkw1Eq…"},
    },
    {
        "name": "Intercom",
        "provider": "intercom",
        "verification": {"client_secret": "3c6e0b8a-9c15-4ab7-8e3d-…"},
        "reply": {"access_token": "dG9rOmNhMjE…", "admin_id": "5017691"},
    },
    {
        "name": "Chatwoot agent bot",
        "provider": "chatwoot",
        "verification": {"webhook_secret": "kX9v2R7mQ4tZ8wYp3LcN6bHd"},
        "reply": {
            "base_url": "https://chat.acme.com",
            "account_id": 1,
            "api_access_token": "Cq1pZ4…",
            "inbox_id": 3,
        },
    },
    {
        "name": "Ticket tool (seed 003)",
        "provider": "generic",
        "outgoing_webhook_url": "https://tickets.acme.com/hooks/switchboard",
        "verification": {"webhook_secret": "whsec_3f9d1c7b2a6e4d8f", "bearer_token": "your_webhook_secret"},
        "events": ["ticket.created", "ticket.resolved", "ai.response.generated"],
    },
    {
        "name": "Support alerts in Slack",
        "provider": "slack",
        "reply": {"webhook_url": "https://hooks.slack.com/services/T000/B000/XXXX", "channel": "#support"},
        "events": ["ticket.escalated", "ai.response.requires_review"],
    },
]

# -- request models -------------------------------------------------------------------------------------------


def normalize_public_key(text: str) -> str:
    """A Freshchat public key as pasted, as a standard SubjectPublicKeyInfo PEM.

    Freshchat shows its key as ``-----BEGIN RSA PUBLIC KEY----- MIIBIjANBg… -----END RSA PUBLIC KEY-----``, often
    on one line, with an X.509 SubjectPublicKeyInfo inside despite the PKCS#1 label (platforms.md §1.3). Strip
    the armour and whitespace, decode, and load it as SPKI (or, failing that, as a real PKCS#1 key), so ingress
    gets one format every library reads.
    """
    body = re.sub(r"\s+|\\n", "", _ARMOR.sub("", text))
    try:
        der = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            "not a PEM public key: the text between the BEGIN and END lines must be base64"
        ) from None
    key = _load_public_key(der)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("Freshchat signs with RSA; this is not an RSA public key")
    if key.key_size < 2048:
        raise ValueError(f"the RSA key has {key.key_size} bits; at least 2048 are required")
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _load_public_key(der: bytes) -> object:
    try:
        return serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        pass
    pem = b"-----BEGIN RSA PUBLIC KEY-----\n" + base64.encodebytes(der) + b"-----END RSA PUBLIC KEY-----\n"
    try:
        return serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError(
            "not a public key (expected the RSA public key shown in Freshchat's settings)"
        ) from None


def public_key_fingerprint(pem: str) -> str:
    """``sha256:<hex>`` of the key's DER, to recognise a key without reading the PEM."""
    key = serialization.load_pem_public_key(pem.encode())
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


class Verification(BaseModel):
    """How ingress verifies the partner's inbound webhooks; which fields apply depends on ``provider``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    public_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=16_384,
        description="freshchat: the RSA public key PEM exactly as shown in Freshchat's webhook settings "
        "(X-Freshchat-Signature, RSA-SHA256). Public, so returned in full.",
    )
    signing_secret: SecretStr | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="zendesk: the webhook signing secret (X-Zendesk-Webhook-Signature). Write-only.",
    )
    client_secret: SecretStr | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="intercom: the app's client secret (X-Hub-Signature: sha1=…). Write-only.",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        min_length=16,
        max_length=1024,
        description="chatwoot: the webhook / agent-bot secret (X-Chatwoot-Signature). generic: the seed 003 "
        "secret for X-Webhook-Signature (hex HMAC-SHA256 of the body), inbound and outbound. Write-only.",
    )
    path_token: SecretStr | None = Field(
        default=None,
        min_length=24,
        max_length=256,
        description="chatwoot: a secret URL path segment for Chatwoot versions that do not sign webhooks "
        "(letters, digits, '-' and '_'). Write-only.",
    )
    bearer_token: SecretStr | None = Field(
        default=None,
        min_length=16,
        max_length=1024,
        description="seed 002: the token partners send as 'Authorization: Bearer …' on "
        "POST /api/webhook/incoming. Unique across Switchboard. Write-only.",
    )

    @field_validator("public_key")
    @classmethod
    def _public_key(cls, value: str | None) -> str | None:
        return None if value is None else normalize_public_key(value)

    @field_validator("path_token")
    @classmethod
    def _path_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _PATH_TOKEN.match(value.get_secret_value()):
            raise ValueError("may contain only letters, digits, '-' and '_' (it goes in a URL path)")
        return value


class ReplyCredentials(BaseModel):
    """How Switchboard answers through the partner's API; which fields apply depends on ``provider``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    api_url: str | None = Field(
        default=None,
        min_length=1,
        max_length=2048,
        description="freshchat: the API base URL shown next to the token, e.g. https://acme.freshchat.com/v2",
    )
    api_token: SecretStr | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="freshchat, zendesk: the API token. Write-only.",
    )
    actor_id: str | None = Field(
        default=None, min_length=1, max_length=200, description="freshchat: the agent id replies are sent as"
    )
    subdomain: str | None = Field(
        default=None, min_length=1, max_length=200, description="zendesk: 'acme' for acme.zendesk.com"
    )
    email: str | None = Field(
        default=None, min_length=3, max_length=320, description="zendesk: the agent the API token belongs to"
    )
    author_id: str | None = Field(
        default=None, min_length=1, max_length=200, description="zendesk: the bot agent's user id"
    )
    access_token: SecretStr | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="intercom: the app's access token. Write-only.",
    )
    admin_id: str | None = Field(
        default=None, min_length=1, max_length=200, description="intercom: the admin replies are sent as"
    )
    base_url: str | None = Field(
        default=None,
        min_length=1,
        max_length=2048,
        description="chatwoot: the installation's URL, e.g. https://app.chatwoot.com",
    )
    account_id: int | None = Field(default=None, ge=1, description="chatwoot: the account id")
    api_access_token: SecretStr | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="chatwoot: the agent bot's access token. Write-only.",
    )
    inbox_id: int | None = Field(default=None, ge=1, description="chatwoot: the inbox the bot serves")
    webhook_url: SecretStr | None = Field(
        default=None,
        min_length=1,
        max_length=2048,
        description="slack: the incoming-webhook URL (https://hooks.slack.com/services/…). The URL is the "
        "credential, so it is write-only.",
    )
    channel: str | None = Field(
        default=None, min_length=1, max_length=80, description="slack: the channel, for display"
    )

    @field_validator("subdomain")
    @classmethod
    def _subdomain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = value.strip().lower().removeprefix("https://").rstrip("/").removesuffix(".zendesk.com")
        if not _SUBDOMAIN.match(name):
            raise ValueError("must be your Zendesk subdomain, e.g. 'acme' for acme.zendesk.com")
        return name

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("must be an email address")
        return value


class IntegrationCreate(BaseModel):
    """seed 002's configuration, plus the provider's inbound verification and reply credentials."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [*CREATE_EXAMPLES]}
    )

    name: DisplayName = Field(
        min_length=1, max_length=200, description="Descriptive name for the integration"
    )
    provider: Provider = Field(description="The partner platform")
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
    verification: Verification | None = None
    reply: ReplyCredentials | None = None

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_events(value)


class VerificationPatch(BaseModel):
    """``verification`` in an update: the create fields, merged into the stored ones (constraints are checked
    on the merged result, where masks have been resolved)."""

    model_config = ConfigDict(extra="forbid")

    public_key: str | None = None
    signing_secret: SecretStr | None = None
    client_secret: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    path_token: SecretStr | None = None
    bearer_token: SecretStr | None = None


class ReplyPatch(BaseModel):
    """``reply`` in an update: the create fields, merged into the stored ones."""

    model_config = ConfigDict(extra="forbid")

    api_url: str | None = None
    api_token: SecretStr | None = None
    actor_id: str | None = None
    subdomain: str | None = None
    email: str | None = None
    author_id: str | None = None
    access_token: SecretStr | None = None
    admin_id: str | None = None
    base_url: str | None = None
    account_id: int | None = None
    api_access_token: SecretStr | None = None
    inbox_id: int | None = None
    webhook_url: SecretStr | None = None
    channel: str | None = None


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
    provider: Provider | None = Field(default=None, description="Must equal the current provider if sent")
    outgoing_webhook_url: str | None = Field(default=None, min_length=1, max_length=2048)
    auth_token: SecretStr | None = Field(default=None, min_length=1, max_length=4096)
    custom_headers: dict[str, str | None] | None = None
    timeout_seconds: int | None = Field(default=None, ge=1, le=30)
    retry_attempts: int | None = Field(default=None, ge=0, le=10)
    is_active: bool | None = None
    events: list[str] | None = Field(default=None, min_length=1, max_length=200)
    verification: VerificationPatch | None = None
    reply: ReplyPatch | None = None


# -- rules ----------------------------------------------------------------------------------------------------


def is_sensitive_header(name: str) -> bool:
    """Whether a header's value is a credential by its name (``Authorization``, ``X-API-Key``, ``Cookie``…)."""
    lowered = name.lower()
    return any(part in lowered for part in _SENSITIVE_HEADER_PARTS)


def _set_fields(model: BaseModel | None) -> list[str]:
    if model is None:
        return []
    return [name for name in type(model).model_fields if getattr(model, name) is not None]


def check(config: IntegrationCreate) -> None:
    """The rules a schema cannot say: which fields each provider uses, header sanity, no masks stored."""
    provider = config.provider
    _check_secrets_are_not_masks(config)
    _check_headers(config)
    allowed = VERIFICATION_FIELDS[provider]
    for name in _set_fields(config.verification):
        if name not in allowed:
            uses = ", ".join(allowed) if allowed else "nothing (Slack integrations are outbound only)"
            raise InvalidConfig(
                f"verification.{name}", f"not used by {provider} integrations, which use {uses}"
            )
    required, optional = REPLY_FIELDS[provider]
    if config.reply is not None:
        if not required and not optional:
            raise InvalidConfig(
                "reply", f"{provider} integrations have no reply API; replies go to outgoing_webhook_url"
            )
        given = _set_fields(config.reply)
        for name in given:
            if name not in required and name not in optional:
                raise InvalidConfig(
                    f"reply.{name}",
                    f"not used by {provider} replies, which use {', '.join(required + optional)}",
                )
        for name in required:
            if name not in given:
                raise InvalidConfig(f"reply.{name}", f"required for {provider} replies")
    if provider is Provider.SLACK:
        if config.reply is None:
            raise InvalidConfig("reply.webhook_url", "required: the Slack incoming-webhook URL")
        for name in ("outgoing_webhook_url", "auth_token"):
            if getattr(config, name) is not None:
                raise InvalidConfig(
                    name, "not used by slack integrations; put the incoming-webhook URL in reply.webhook_url"
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
        for name in REPLY_URLS:
            value = revealed(getattr(config.reply, name))
            if value is not None:
                urls[f"reply.{name}"] = value
    return urls


def stored_endpoint_urls(document: Mapping[str, Any], box: SecretsBox) -> dict[str, str]:
    """``endpoint_urls`` of a stored integration."""
    urls: dict[str, str] = {}
    if document.get("outgoing_webhook_url"):
        urls["outgoing_webhook_url"] = document["outgoing_webhook_url"]
    reply = document.get("reply") or {}
    for name in REPLY_URLS:
        if name in reply:
            urls[f"reply.{name}"] = box.decrypt(reply[name]) if name in REPLY_SECRETS else reply[name]
    return urls


def events_of(config: IntegrationCreate) -> list[str]:
    """What the integration receives unless ``events`` says otherwise (the dispatcher's defaults too): partners
    get the answers and the live-agent handoff (seed 002), Slack the ticket and AI-review traffic (seed 003)."""
    if config.events is not None:
        return list(config.events)
    return list(SLACK_DEFAULT_EVENTS if config.provider is Provider.SLACK else INTEGRATION_DEFAULT_EVENTS)


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
    verification = _seal_part(plain["verification"], VERIFICATION_SECRETS, box)
    reply = _seal_part(plain["reply"], REPLY_SECRETS, box) if plain["reply"] is not None else None
    fields = {
        "name": plain["name"],
        "provider": config.provider.value,
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
        "verification": _reveal_part(document.get("verification"), VERIFICATION_SECRETS, box),
        "reply": _reveal_part(document.get("reply"), REPLY_SECRETS, box) if document.get("reply") else None,
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
    config = validated(IntegrationCreate, merged)
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
    provider: Provider
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
    verification = _public_part(document.get("verification"), VERIFICATION_SECRETS, box)
    if "public_key" in verification:
        verification["public_key_fingerprint"] = public_key_fingerprint(str(verification["public_key"]))
    return IntegrationPublic(
        id=document["_id"],
        name=document["name"],
        provider=Provider(document["provider"]),
        outgoing_webhook_url=document.get("outgoing_webhook_url"),
        auth_token=mask(box.decrypt(document["auth_token"])) if document.get("auth_token") else None,
        custom_headers=dict(sorted(headers.items(), key=lambda item: item[0].lower())),
        timeout_seconds=document["timeout_seconds"],
        retry_attempts=document["retry_attempts"],
        is_active=document["is_active"],
        events=document["events"],
        verification={name: str(value) for name, value in verification.items()},
        reply=_public_part(document.get("reply"), REPLY_SECRETS, box) if document.get("reply") else None,
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
