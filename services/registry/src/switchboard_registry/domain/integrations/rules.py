"""The rules an integration's configuration must follow beyond its schema: which fields each provider uses,
custom header sanity, no masks stored as secrets; and what follows from a configuration (the URLs the dispatcher
will call, the events it receives)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from switchboard_contracts import partners
from switchboard_contracts.partners.base import Partner
from switchboard_platform.secrets_box import SecretsBox
from switchboard_registry.domain.integrations.models import MAX_HEADERS, IntegrationCreate
from switchboard_registry.domain.patch import MASK, InvalidConfig, is_masked, revealed

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
    secrets = partners.secret_fields("reply")
    for name in _reply_urls():
        if name in reply:
            urls[f"reply.{name}"] = box.decrypt(reply[name]) if name in secrets else reply[name]
    return urls


def _reply_urls() -> tuple[str, ...]:
    """Reply fields holding a URL the dispatcher will call (checked against the SSRF policy like any endpoint)."""
    return tuple(name for name, spec in partners.fields("reply").items() if spec.url)


def events_of(config: IntegrationCreate) -> list[str]:
    """What the integration receives unless ``events`` says otherwise (the dispatcher's defaults too): partners
    get the answers and the live-agent handoff (seed 002), Slack the ticket and AI-review traffic (seed 003)."""
    if config.events is not None:
        return list(config.events)
    return list(partner_of(config).default_events)
