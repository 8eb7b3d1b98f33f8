"""The seed guides' own inbound shapes (no partner signature scheme): seed 002's incoming message, seed 003's
ticket webhook and seed 004's chat widget prompt and contact form, each turned into a canonical event.

Idempotency where the shape has no message id:

- seed 002: an ``Idempotency-Key`` header, else ``metadata.message_id``, else — when the bridge sent a
  ``timestamp`` — the (conversation, user, timestamp, text) tuple: the same message at the same instant is a
  redelivery. Without any of these the message is not deduplicated.
- seed 003: an ``Idempotency-Key`` header, else the body's SHA-256: the same ticket body delivered twice is one
  ticket. The ticket id is derived from that key, so a redelivery names the same ticket.
- seed 004: none (each prompt is a new message); the widget's requests are answered synchronously.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import (
    Author,
    EventType,
    FormSubmitted,
    MessageReceived,
    Ticket,
    TicketCreated,
    provider_names,
)
from switchboard_contracts.partners.inbound import (
    InvalidPayload,
    Origin,
    build_event,
    event_id,
    message_event,
    random_id,
)

MAX_PROMPT_CHARS: Final = 1000
#: seed 004's form validation, verbatim: ``/^[^\s@]+@[^\s@]+\.[^\s@]+$/``.
EMAIL: Final = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
FORM_REQUIRED: Final = ("name", "email", "message")
MAX_FORM_FIELDS: Final = 30
MAX_FORM_VALUE_CHARS: Final = 5000


def _first_error(exc: ValidationError) -> InvalidPayload:
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    return InvalidPayload(field, f"{field}: {first['msg']}" if field else str(first["msg"]))


# -- seed 002: POST /api/webhook/incoming -----------------------------------------------------------------------


class IncomingMessage(BaseModel):
    """seed 002's request: ``user_id``, ``username``, ``message``, ``platform``, ``conversation_id``,
    ``timestamp``, ``metadata``. Ids may be numbers (the seed's Zendesk bridge sends ``requester_id``)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, str_strip_whitespace=True)

    user_id: str = Field(min_length=1, max_length=200)
    username: str | None = Field(default=None, max_length=200)
    message: str = Field(min_length=1)
    platform: str | None = Field(default=None, max_length=50)
    conversation_id: str | None = Field(default=None, min_length=1, max_length=200)
    timestamp: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def parse_incoming(payload: Any) -> IncomingMessage:
    try:
        return IncomingMessage.model_validate(payload)
    except ValidationError as exc:
        raise _first_error(exc) from None


def incoming_key(message: IncomingMessage, raw_timestamp: Any, idempotency_key: str | None) -> str | None:
    if idempotency_key:
        return f"key:{idempotency_key}"
    given = message.metadata.get("message_id")
    if isinstance(given, str | int) and not isinstance(given, bool) and str(given):
        return f"id:{given}"
    if raw_timestamp is None:
        return None
    digest = hashlib.sha256(
        "\x1f".join(
            (message.conversation_id or "", message.user_id, str(raw_timestamp), message.message)
        ).encode()
    ).hexdigest()
    return f"hash:{digest}"


def incoming_event(
    message: IncomingMessage, origin: Origin, key: str | None
) -> tuple[MessageReceived, CloudEvent]:
    platform = (message.platform or "").lower()
    conversation_id = message.conversation_id or f"{platform or 'generic'}:{message.user_id}"
    message_id = event_id(origin.integration_id, f"message\x1f{key}") if key else random_id()
    channel = message.metadata.get("channel")
    received = MessageReceived(
        tenant_id=origin.tenant_id,
        integration_id=origin.integration_id,
        provider=platform if platform in provider_names() else "generic",
        conversation_id=conversation_id,
        message_id=message_id,
        author=Author(id=message.user_id, name=message.username, type="user"),
        text=message.message,
        sent_at=message.timestamp or datetime.now(UTC),
        channel=str(channel) if isinstance(channel, str) else None,
        metadata={**message.metadata, **({"platform": message.platform} if message.platform else {})},
        raw_ref=key,
    )
    return received, message_event(received, origin, key)


# -- seed 003: POST /api/webhooks/receive -----------------------------------------------------------------------


class TicketData(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, str_strip_whitespace=True)

    subject: str = Field(min_length=1, max_length=500)
    message: str | None = Field(default=None, max_length=65_536)
    customer_email: str | None = Field(default=None, max_length=320)
    customer_name: str | None = Field(default=None, max_length=200)
    priority: str | None = Field(default=None, max_length=50)
    category: str | None = Field(default=None, max_length=100)

    @field_validator("customer_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL.match(value):
            raise ValueError("must be an email address")
        return value


class TicketWebhook(BaseModel):
    """seed 003: ``{"event": "ticket.create", "data": {subject, message, customer_email, …}}``."""

    model_config = ConfigDict(extra="ignore")

    event: str
    data: TicketData


SUPPORTED_TICKET_EVENTS: Final = ("ticket.create",)


def parse_ticket(payload: Any) -> TicketWebhook:
    try:
        webhook = TicketWebhook.model_validate(payload)
    except ValidationError as exc:
        raise _first_error(exc) from None
    if webhook.event not in SUPPORTED_TICKET_EVENTS:
        raise InvalidPayload("event", f"unsupported event {webhook.event!r}; supported: ticket.create")
    return webhook


def ticket_key(body: bytes, idempotency_key: str | None) -> str:
    return f"key:{idempotency_key}" if idempotency_key else f"body:{hashlib.sha256(body).hexdigest()}"


def ticket_event(webhook: TicketWebhook, origin: Origin, key: str) -> tuple[Ticket, CloudEvent]:
    data = webhook.data
    ticket = Ticket(
        id=event_id(origin.integration_id, f"ticket\x1f{key}"),
        subject=data.subject,
        message=data.message,
        status="new",
        priority=(data.priority or "").lower() or None,
        category=data.category,
        customer_email=data.customer_email,
        customer_name=data.customer_name,
    )
    event = build_event(
        EventType.TICKET_CREATED,
        origin=origin,
        key=key,
        aggregate_id=ticket.id,
        data=TicketCreated(ticket=ticket),
    )
    return ticket, event


# -- seed 004: POST /chat and the contact form ------------------------------------------------------------------


class WidgetInputError(ValueError):
    """seed 004's validation answers: 400 ``{"error": "Invalid prompt"}`` and the like."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_chat(payload: Any) -> tuple[str, str]:
    """``(prompt, session_id)`` validated exactly as seed 004's input validation does."""
    body = payload if isinstance(payload, Mapping) else {}
    prompt = body.get("prompt")
    session_id = body.get("session_id")
    if not prompt or not isinstance(prompt, str):
        raise WidgetInputError("invalid_prompt", "Invalid prompt")
    if not session_id or not isinstance(session_id, str) or len(session_id) > 200:
        raise WidgetInputError("invalid_session_id", "Invalid session_id")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise WidgetInputError("prompt_too_long", "Prompt too long")
    return prompt, session_id


def chat_event(
    prompt: str, session_id: str, origin: Origin, metadata: dict[str, Any]
) -> tuple[MessageReceived, CloudEvent]:
    message_id = random_id()
    received = MessageReceived(
        tenant_id=origin.tenant_id,
        integration_id=origin.integration_id,
        provider="widget",
        conversation_id=session_id,
        message_id=message_id,
        author=Author(id=session_id, type="user"),
        text=prompt,
        sent_at=datetime.now(UTC),
        channel="widget",
        metadata=metadata,
    )
    return received, message_event(received, origin, None)


def parse_form(payload: Any) -> dict[str, str]:
    """seed 004's form validation: ``name``, ``email`` and ``message`` required, the email well formed."""
    if not isinstance(payload, Mapping):
        raise WidgetInputError("invalid_form", "Form data must be a JSON object")
    fields: dict[str, str] = {}
    for name, value in payload.items():
        if value is None or isinstance(value, dict | list):
            continue
        fields[str(name)[:100]] = str(value).strip()[:MAX_FORM_VALUE_CHARS]
    for field in FORM_REQUIRED:
        if not fields.get(field):
            raise WidgetInputError("field_required", f"{field} is required")
    if not EMAIL.match(fields["email"]):
        raise WidgetInputError("invalid_email", "Invalid email format")
    if len(fields) > MAX_FORM_FIELDS:
        raise WidgetInputError("too_many_fields", f"at most {MAX_FORM_FIELDS} fields")
    return fields


def form_event(
    fields: dict[str, str], origin: Origin, form_id: str, session_id: str | None, metadata: dict[str, Any]
) -> tuple[FormSubmitted, CloudEvent]:
    submitted = FormSubmitted(
        tenant_id=origin.tenant_id,
        integration_id=origin.integration_id,
        form_id=form_id,
        session_id=session_id,
        name=fields["name"],
        email=fields["email"],
        message=fields["message"],
        fields=fields,
        submitted_at=datetime.now(UTC),
        metadata=metadata,
    )
    aggregate = session_id or random_id()
    event = build_event(
        EventType.FORM_SUBMITTED, origin=origin, key=None, aggregate_id=aggregate, data=submitted
    )
    return submitted, event
