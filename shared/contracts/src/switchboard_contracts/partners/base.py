"""What a partner module declares, in one place: the ``Partner`` record and the pieces it is made of.

A partner (a support platform such as Freshchat) is four things to Switchboard, each used by one service:

- its **registry fields** (``verification`` and ``reply`` ``CredentialField`` s): what a tenant configures, which of
  it is secret (sealed at rest, write-only in the API), which reply fields are URLs the dispatcher calls, which
  name our own bot on the partner's side (loop prevention);
- its **inbound webhook** (``Inbound``): how ingress verifies a request over the raw bytes, and how it turns the
  parsed body into events;
- its **reply API** (``Replies``): the HTTP requests through which the dispatcher posts a reply or hands a
  conversation to a human;
- a few rules for the registry (does it accept seed 002's bearer token, may it have an outgoing webhook, its
  default events, its OpenAPI examples).

Everything here is pure: no I/O, no settings, nothing a service would have to share with another.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from switchboard_contracts.events import INTEGRATION_DEFAULT_EVENTS
from switchboard_contracts.partners.inbound import Origin, Outcome
from switchboard_contracts.signing import SignatureError

#: A partner's name: the ``provider`` of its integrations and the ``{provider}`` of its ingress URL.
NAME = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
DEFAULT_HANDOFF_TEXT = "A human agent will join this conversation shortly."


@dataclass(frozen=True)
class CredentialField:
    """One field of an integration's ``verification`` or ``reply`` object.

    Two partners may use the same field (``webhook_secret``: Chatwoot and generic); they must then declare it
    alike (type, secrecy, bounds), since it is one property of one API model. Descriptions may differ: the API
    shows each partner's, prefixed with its name.
    """

    name: str
    #: What the tenant puts here, without the partner's name (the API adds it) and without "Write-only."
    description: str
    kind: type[str] | type[int] = str
    #: Sealed with SecretsBox at rest and on the config topic, shown masked, decrypted by ingress / dispatcher.
    secret: bool = False
    #: A reply field the partner's API cannot be called without.
    required: bool = False
    #: A URL the dispatcher will call (checked against the registry's address policy like any endpoint).
    url: bool = False
    #: A reply field naming the bot our replies are posted as: a message by it is our own reply coming back.
    own_id: bool = False
    own_email: bool = False
    min_length: int | None = 1
    max_length: int | None = None
    ge: int | None = None
    #: Registry-side check and normalisation of a value (raise ValueError with a message the tenant can act on).
    check: Callable[[Any], Any] | None = None
    #: Ingress-side parsing of the stored value, done once when a config record is applied (a public key).
    load: Callable[[str], Any] | None = None
    #: Extra public facts the API shows next to a non-secret value (``public_key_fingerprint``).
    describe: Callable[[str], dict[str, str]] | None = None

    def shape(self) -> tuple[object, ...]:
        """What two partners sharing this field must agree on."""
        return (self.kind, self.secret, self.url, self.min_length, self.max_length, self.ge, self.check)


#: seed 002's token on POST /api/webhook/incoming: a partner's own bridge may use it for any partner that has
#: inbound traffic (``Partner.bearer``), so it is declared once, here.
BEARER_TOKEN = CredentialField(
    "bearer_token",
    "seed 002: the token partners send as 'Authorization: Bearer …' on POST /api/webhook/incoming. Unique across "
    "Switchboard.",
    secret=True,
    min_length=16,
    max_length=1024,
)


class NotConfigured(SignatureError):
    """The integration lacks the verification material its partner signs with (401, names the field)."""

    def __init__(self, field: str) -> None:
        super().__init__(f"the integration has no verification.{field}; requests cannot be verified")
        self.field = field


class StaleTimestamp(SignatureError):
    """The signed timestamp is outside the replay window (too old, or from the future)."""


def check_window(signed_at: datetime, now: datetime, tolerance_s: int) -> None:
    if abs((now - signed_at).total_seconds()) > tolerance_s:
        raise StaleTimestamp(f"signature timestamp is more than {tolerance_s} s away from now")


def material(verification: Mapping[str, Any], name: str, *, hint: str = "") -> Any:
    """The verification value a partner signs with, or ``NotConfigured`` naming it."""
    value = verification.get(name)
    if value is None:
        raise NotConfigured(name + hint)
    return value


@dataclass(frozen=True)
class InboundRequest:
    """A partner's webhook request as the verifier and the normalizer see it: the raw bytes and the headers
    (names lower-cased)."""

    body: bytes
    headers: Mapping[str, str]


class Verifier(Protocol):
    def __call__(self, verification: Mapping[str, Any], request: InboundRequest, *, tolerance_s: int) -> None:
        """Return on a valid signature; raise ``SignatureError`` (``NotConfigured``, ``StaleTimestamp``…)
        naming the reason, never a secret or an expected value. ``verification`` holds the integration's
        fields, secrets decrypted and ``load`` ed."""


class Normalizer(Protocol):
    def __call__(self, payload: Mapping[str, Any], origin: Origin, request: InboundRequest) -> Outcome:
        """The events a verified, parsed body becomes, or why it is dropped; ``InvalidPayload`` names the
        field of a body that is not the partner's documented shape."""


@dataclass(frozen=True)
class Inbound:
    """The partner's native webhook, received at ingress ``POST /webhooks/{name}/{integration_id}``."""

    verify: Verifier
    normalize: Normalizer
    #: Also receive ``POST /webhooks/{name}/{integration_id}/{path_token}`` for installations that cannot sign.
    path_token: bool = False


@dataclass(frozen=True)
class PartnerRequest:
    """One call to a partner's API (the dispatcher sends it with its SSRF-checked client)."""

    purpose: Literal["reply", "handoff"]
    method: Literal["POST", "PUT"]
    url: str
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)


class MissingCredential(ValueError):
    """The integration lacks a field this partner's API needs (the message names it, never a value)."""


class ReplyBuilder(Protocol):
    def __call__(
        self, credentials: Mapping[str, Any], conversation_id: str, data: Mapping[str, Any]
    ) -> list[PartnerRequest]:
        """The calls that post ``data`` (a ``message.replied`` payload) into the conversation."""


class HandoffBuilder(Protocol):
    def __call__(
        self, credentials: Mapping[str, Any], conversation_id: str, text: str, reason: str
    ) -> list[PartnerRequest]:
        """The calls that tell the customer (``text``) and hand the conversation to a human."""


@dataclass(frozen=True)
class Replies:
    """The partner's reply API, called by the dispatcher with the integration's decrypted ``reply`` fields."""

    reply: ReplyBuilder
    handoff: HandoffBuilder


@dataclass(frozen=True)
class Partner:
    """Everything Switchboard knows about one partner platform. Register it once (``partners.register``)."""

    name: str
    #: How people write the platform's name ("Freshchat").
    title: str
    verification: tuple[CredentialField, ...] = ()
    reply: tuple[CredentialField, ...] = ()
    inbound: Inbound | None = None
    replies: Replies | None = None
    #: Accepts seed 002's ``Authorization: Bearer <verification.bearer_token>`` on POST /api/webhook/incoming.
    bearer: bool = True
    #: May have seed 002's ``outgoing_webhook_url`` / ``auth_token`` (Slack's URL is its reply field instead).
    outgoing_webhook: bool = True
    #: An integration of this partner is useless without its ``reply`` fields (Slack).
    reply_required: bool = False
    #: What an integration receives when it names no events.
    default_events: tuple[str, ...] = INTEGRATION_DEFAULT_EVENTS
    #: Create-request examples for the registry's OpenAPI.
    examples: tuple[dict[str, Any], ...] = ()

    def fields(self, section: Literal["verification", "reply"]) -> tuple[CredentialField, ...]:
        """The fields this partner's integrations may set, ``bearer_token`` last when it takes one."""
        own: tuple[CredentialField, ...] = getattr(self, section)
        return (*own, BEARER_TOKEN) if section == "verification" and self.bearer else own

    def field_names(self, section: Literal["verification", "reply"]) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields(section))


# -- helpers the reply builders share ---------------------------------------------------------------------------


def need(credentials: Mapping[str, Any], name: str, partner: str) -> str:
    value = credentials.get(name)
    if value is None or value == "":
        raise MissingCredential(f"{partner} integration needs reply.{name}")
    return str(value)


def int_or_str(value: str) -> int | str:
    # ASCII digits only: str.isdigit accepts "²", which int() refuses.
    return int(value) if value.isascii() and value.isdigit() else value


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def text_of(data: Mapping[str, Any]) -> str:
    """A reply as plain text for chat APIs that show text only: article and card links spelled out."""
    lines = [str(data.get("text") or "")]
    attributes = data.get("content_attributes") or {}
    content_type = data.get("content_type", "text")
    if content_type == "article":
        for item in attributes.get("items", []):
            lines.append(f"- {item.get('title')}" + (f": {item['link']}" if item.get("link") else ""))
    elif content_type == "card":
        for card in (attributes.get("cards") or {}).get("cards", []):
            price = f" ({card['price']})" if card.get("price") else ""
            lines.append(f"- {card.get('title')}{price}" + (f": {card['link']}" if card.get("link") else ""))
    elif content_type == "form":
        form = attributes.get("form") or {}
        if form.get("submitUrl"):
            lines.append(f"{form.get('title') or 'Contact us'}: {form['submitUrl']}")
    return "\n".join(line for line in lines if line)
