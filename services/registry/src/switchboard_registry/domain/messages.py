"""Seed 002's message history: conversation messages through integrations, and their delivery status.

The projection (``adapters.messages``) keeps one document per message event, ``_id`` ``<tenant>:<event id>``:

- ``message.received`` (payload ``MessageReceived``, from ``platform.events``) is an **incoming** message;
  its status is ``received``.
- ``message.replied`` (payload ``Reply``, from ``platform.events``) is an **outgoing** message, or
  **agent_outgoing** when a human agent wrote it (``author.type == "agent"``). ``switchboard.replies`` is not
  read: it carries a second copy of some replies, under another id, for synchronous waiters (seed 004's widget).
  Its status follows the deliveries of that event to the conversation's platform — attempt events with the
  same ``event_id`` and an ``integration``, ``callback`` or ``slack`` endpoint: ``sent`` once one succeeded,
  ``pending`` before any attempt and while a retry is scheduled, ``failed`` when every one gave up. Webhook
  subscribers' copies of the event are listed under ``deliveries`` but do not decide whether the reply
  reached the platform.

The two inputs arrive on different topics through different consumers, so either may come first: an
attempt for a message not seen yet creates the document with its delivery only, and such a document stays out
of the history until the message itself is projected. Per delivery the latest attempt (by time, then number)
wins, so replays and reordering converge on the same state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import DeliveryAttempt, EventType, MessageReceived, Reply
from switchboard_registry.domain.deliveries import STATUS_OF_OUTCOME, field_key, utc
from switchboard_registry.domain.timestamps import iso

MessageType = Literal["incoming", "outgoing", "agent_outgoing"]
MessageStatus = Literal["pending", "sent", "failed", "received"]
MESSAGE_TYPES: tuple[str, ...] = get_args(MessageType)
MESSAGE_EVENTS = frozenset({EventType.MESSAGE_RECEIVED.value, EventType.MESSAGE_REPLIED.value})
#: Endpoints that carry a reply to the conversation's own platform (a webhook subscriber only gets a copy).
PLATFORM_ENDPOINTS = frozenset({"integration", "callback", "slack"})
TEXT_LIMIT = 10 * 1024  # seed 002: "Maximum message size: 10KB"


class NotAMessage(ValueError):
    """An event this projection does not hold (another type, or a tenant mismatch)."""


def message_id(tenant_id: str, event_id: str) -> str:
    return f"{tenant_id}:{event_id}"


def _tenant(event: CloudEvent, payload_tenant: str) -> str:
    if event.tenant is not None and event.tenant != payload_tenant:
        raise NotAMessage("the event's tenant attribute and the payload's tenant_id differ")
    return payload_tenant


def from_event(event: CloudEvent) -> tuple[str, dict[str, Any]]:
    """(tenant id, the message's fields) for a message event; pydantic's ValidationError for bad data."""
    if event.type == EventType.MESSAGE_RECEIVED:
        received = event.data_as(MessageReceived)
        return _tenant(event, received.tenant_id), {
            "message_type": "incoming",
            "platform": received.provider,
            "conversation_id": received.conversation_id,
            "message_id": received.message_id,
            "in_reply_to": None,
            "integration_id": received.integration_id,
            "user_id": received.author.id,
            "username": received.author.name,
            "sender": received.author.name,
            "sender_type": received.author.type,
            "message": received.text[:TEXT_LIMIT],
            "content_type": "text",
            "attachments": [attachment.model_dump() for attachment in received.attachments],
            "channel": received.channel,
            "metadata": received.metadata,
            "timestamp": utc(received.sent_at),
        }
    if event.type == EventType.MESSAGE_REPLIED:
        reply = event.data_as(Reply)
        return _tenant(event, reply.tenant_id), {
            "message_type": "agent_outgoing" if reply.author.type == "agent" else "outgoing",
            "platform": reply.provider,
            "conversation_id": reply.conversation_id,
            "message_id": None,
            "in_reply_to": reply.in_reply_to,
            "integration_id": reply.integration_id,
            "user_id": reply.user_id,
            "username": None,
            "sender": reply.author.name,
            "sender_type": reply.author.type,
            "message": reply.text[:TEXT_LIMIT],
            "content_type": reply.content_type,
            "attachments": [],
            "channel": None,
            "metadata": {"confidence": reply.confidence} if reply.confidence is not None else {},
            "timestamp": utc(event.time),
        }
    raise NotAMessage(f"{event.type!r} is not a message event")


def delivery_entry(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "delivery_id": attempt.delivery_id,
        "endpoint_kind": attempt.endpoint_kind,
        "endpoint_id": attempt.endpoint_id,
        "status": STATUS_OF_OUTCOME[attempt.outcome],
        "attempt": attempt.attempt,
        "attempted_at": utc(attempt.attempted_at),
        "status_code": attempt.status_code,
        "error": attempt.error,
    }


def is_newer(entry: Mapping[str, Any], than: Mapping[str, Any] | None) -> bool:
    if than is None:
        return True
    return (entry["attempted_at"], entry["attempt"]) > (than["attempted_at"], than["attempt"])


def status_of(message_type: str | None, deliveries: Mapping[str, Mapping[str, Any]]) -> MessageStatus | None:
    if message_type is None:
        return None
    if message_type == "incoming":
        return "received"
    statuses = {
        entry["status"] for entry in deliveries.values() if entry["endpoint_kind"] in PLATFORM_ENDPOINTS
    }
    if "succeeded" in statuses:
        return "sent"
    if not statuses or "pending" in statuses:
        return "pending"
    return "failed"


def with_message(
    current: Mapping[str, Any] | None, tenant_id: str, event_id: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """The document after the message itself is projected (idempotent: the same event gives the same state)."""
    base = dict(current) if current is not None else _empty(tenant_id, event_id)
    merged = {**base, **fields}
    merged["status"] = status_of(merged["message_type"], merged["deliveries"])
    merged["updated_at"] = datetime.now(UTC)
    return merged


def with_delivery(current: Mapping[str, Any] | None, attempt: DeliveryAttempt) -> dict[str, Any] | None:
    """The document after ``attempt``, or None when it is not newer than what the document already shows."""
    entry = delivery_entry(attempt)
    key = field_key(attempt.delivery_id)
    base = dict(current) if current is not None else _empty(attempt.tenant_id, attempt.event_id)
    if not is_newer(entry, base["deliveries"].get(key)):
        return None
    deliveries = {**base["deliveries"], key: entry}
    return {
        **base,
        "deliveries": deliveries,
        "status": status_of(base.get("message_type"), deliveries),
        "updated_at": datetime.now(UTC),
    }


def with_deliveries(
    current: Mapping[str, Any] | None, attempts: Iterable[DeliveryAttempt]
) -> dict[str, Any] | None:
    """``with_delivery`` of each attempt in turn (one message's attempts from one batch, written once), or None
    when none of them is newer than what the document shows."""
    document: dict[str, Any] | None = None
    for attempt in attempts:
        document = with_delivery(document if document is not None else current, attempt) or document
    return document


def _empty(tenant_id: str, event_id: str) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "event_id": event_id,
        "message_type": None,
        "status": None,
        "deliveries": {},
        "created_at": datetime.now(UTC),
    }


def public(document: Mapping[str, Any]) -> dict[str, Any]:
    """A message as ``GET /api/webhook/messages`` shows it (seed 002's snake_case vocabulary)."""
    deliveries = sorted(document["deliveries"].values(), key=lambda entry: entry["attempted_at"])
    failed = [
        entry
        for entry in deliveries
        if entry["status"] == "failed" and entry["endpoint_kind"] in PLATFORM_ENDPOINTS
    ]
    return {
        "id": document["event_id"],
        "message_type": document["message_type"],
        "status": document["status"],
        "platform": document["platform"],
        "conversation_id": document["conversation_id"],
        "message_id": document["message_id"],
        "in_reply_to": document["in_reply_to"],
        "integration_id": document["integration_id"],
        "user_id": document["user_id"],
        "username": document["username"],
        "sender": document["sender"],
        "sender_type": document["sender_type"],
        "message": document["message"],
        "content_type": document["content_type"],
        "attachments": document["attachments"],
        "channel": document["channel"],
        "metadata": document["metadata"],
        "timestamp": iso(document["timestamp"]),
        "error": failed[-1]["error"] if failed and document["status"] == "failed" else None,
        "deliveries": [
            {
                "delivery_id": entry["delivery_id"],
                "endpoint_kind": entry["endpoint_kind"],
                "endpoint_id": entry["endpoint_id"],
                "status": entry["status"],
                "attempts": entry["attempt"],
                "last_attempt_at": iso(entry["attempted_at"]),
                "status_code": entry["status_code"],
                "error": entry["error"],
            }
            for entry in deliveries
        ],
        "created_at": iso(document["created_at"]),
        "updated_at": iso(document["updated_at"]),
    }
