"""What a verified partner request becomes: events to publish, or a reason to acknowledge and drop it.

Normalizers (one module per provider) are pure functions from the parsed body and an ``Origin`` (which
integration, which tenant, which ids are our own bot) to ``Accepted`` or ``Dropped``; malformed input raises
``InvalidPayload`` naming the field (422).

**Event ids are deterministic.** A partner redelivering a message (Freshchat ``X-Retry-Count``, Zendesk repeats,
Intercom retries) must never become a second event. The CloudEvent id is a UUIDv5 of (integration, dedup key), so
even when two replicas race on the same redelivery, both publish the same id and every consumer — which
deduplicates on (source, id) — sees one event. The dedup store only keeps the second copy off the topic.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import Author, ConversationUpdated, EventType, MessageReceived, Payload

SOURCE: Final = "/switchboard/ingress"
_NAMESPACE: Final = uuid.UUID("2f5e8f64-9d0b-4c55-8a4e-6d1c7b3a9e21")

#: Why an acknowledged request produced no event. Loop prevention: everything but a customer's public message
#: is dropped — in particular our own replies, which every platform echoes back as webhooks.
DropReason = Literal[
    "own_reply",
    "agent_message",
    "bot_message",
    "system_message",
    "private_note",
    "not_pending",
    "ping",
    "unsupported_event",
    "empty_message",
    # The payload does not establish who wrote the message, so it may be an agent's: dropped, never answered.
    "unknown_author",
]


@dataclass(frozen=True)
class Origin:
    """Where a request came from, as the directory resolved it."""

    tenant_id: str
    integration_id: str
    provider: str
    own_ids: frozenset[str] = frozenset()
    own_emails: frozenset[str] = frozenset()

    def is_own(self, author_id: object = None, email: object = None) -> bool:
        if author_id is not None and str(author_id) in self.own_ids:
            return True
        return isinstance(email, str) and email.lower() in self.own_emails


@dataclass(frozen=True)
class Accepted:
    events: tuple[CloudEvent, ...]
    #: The provider's identity of what was delivered (message id, event id…); None when it has none, in which
    #: case the request is not deduplicated (the CloudEvent id is then random).
    dedup_key: str | None


@dataclass(frozen=True)
class Dropped:
    reason: DropReason
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


Outcome = Accepted | Dropped


class InvalidPayload(ValueError):
    """The body is JSON but not the shape the provider documents (422, naming ``field``)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def event_id(integration_id: str, key: str) -> str:
    return uuid.uuid5(_NAMESPACE, f"{integration_id}\x1f{key}").hex


def random_id() -> str:
    return uuid.uuid4().hex


def build_event(
    event_type: EventType | str,
    *,
    origin: Origin,
    key: str | None,
    aggregate_id: str,
    data: Payload | dict[str, Any],
    time: datetime | None = None,
    extensions: dict[str, str] | None = None,
) -> CloudEvent:
    """A CloudEvent from ingress: tenant set, keyed (and ordered) by the aggregate — the conversation."""
    return CloudEvent(
        id=event_id(origin.integration_id, f"{event_type}\x1f{key}") if key else random_id(),
        source=SOURCE,
        type=str(event_type),
        time=time or datetime.now(UTC),
        subject=aggregate_id,
        tenant=origin.tenant_id,
        partitionkey=aggregate_id,
        data=data,
        extensions=extensions or {},
    )


def message_event(message: MessageReceived, origin: Origin, key: str | None) -> CloudEvent:
    return build_event(
        EventType.MESSAGE_RECEIVED,
        origin=origin,
        key=key,
        aggregate_id=message.conversation_id,
        data=message,
        time=message.sent_at,
    )


def accept_message(message: MessageReceived, origin: Origin, key: str | None) -> Accepted:
    """A partner message as the one event it becomes, deduplicated on ``key``."""
    return Accepted((message_event(message, origin, key),), key)


def accept_update(update: ConversationUpdated, origin: Origin, key: str | None) -> Accepted:
    """A partner's conversation change as one ``conversation.updated``, keyed by the conversation."""
    event = build_event(
        EventType.CONVERSATION_UPDATED,
        origin=origin,
        key=key,
        aggregate_id=update.conversation_id,
        data=update,
        time=update.occurred_at,
    )
    return Accepted((event,), key)


# -- helpers the normalizers share ---------------------------------------------------------------------------


def obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidPayload(where, f"{where} must be an object")
    return value


def opt_obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def text_id(value: Any, where: str) -> str:
    """An id that may arrive as a string or a number (Chatwoot and Zendesk send both)."""
    if isinstance(value, bool) or value is None or value == "":
        raise InvalidPayload(where, f"{where} is required")
    if isinstance(value, int | str):
        return str(value)
    raise InvalidPayload(where, f"{where} must be a string or a number")


def opt_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else None


def present(*pairs: tuple[str, Any]) -> dict[str, Any]:
    """Metadata from ``(name, value)`` pairs, leaving out what the payload did not carry (None)."""
    return {name: value for name, value in pairs if value is not None}


def customer(person: Mapping[str, Any]) -> Author:
    """The customer who wrote a message, from a payload's person object (``id``, ``name``, ``email``)."""
    return Author(
        id=opt_str(person.get("id")),
        name=opt_str(person.get("name")),
        email=opt_str(person.get("email")),
        type="user",
    )


def parse_time(value: Any) -> datetime:
    """ISO-8601 (any precision, ``Z`` or offset) or unix time in seconds or milliseconds; now when absent or
    unreadable — a message is never refused for its timestamp."""
    fallback = datetime.now(UTC)
    if isinstance(value, bool) or value is None:
        return fallback
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 10**11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return fallback
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        # Python < 3.12 reads at most 6 fractional digits; Zendesk sends nanoseconds.
        text = re.sub(r"(\.\d{6})\d+", r"\1", text)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return fallback
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return fallback


_BREAKS = re.compile(r"<\s*(br|/p|/div|/li)\s*/?\s*>", re.I)
_TAGS = re.compile(r"<[^>]+>")


def strip_html(value: str) -> str:
    """Intercom bodies are HTML before API 2.15 and plain text after; make both plain text."""
    if "<" not in value and "&" not in value:
        return value.strip()
    text = _TAGS.sub("", _BREAKS.sub("\n", value))
    return re.sub(r"\n{3,}", "\n\n", html.unescape(text)).strip()
