"""Chatwoot agent-bot and account webhooks (platforms.md §4) → ``message.received`` / ``conversation.updated``.

Only an ``incoming``, non-private ``message_created`` from a contact, in a conversation the bot owns
(``pending``), is a message: Chatwoot also notifies the bot of its own outgoing messages and of agents'
(``sender.type`` user / agent_bot), and an ``open`` conversation belongs to a human after a handoff.
``conversation_opened`` / ``conversation_resolved`` / ``conversation_status_changed`` are ``conversation.updated``.
Redeliveries dedupe on the message id (Chatwoot's ids are per installation), else ``X-Chatwoot-Delivery``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from switchboard_ingress.domain.inbound import (
    Dropped,
    InvalidPayload,
    Origin,
    Outcome,
    accept_message,
    accept_update,
    customer,
    obj,
    opt_obj,
    opt_str,
    parse_time,
    present,
    text_id,
)
from switchboard_shared.events import Attachment, Author, ConversationUpdated, MessageReceived

_STATE_EVENTS = {
    "conversation_opened": "opened",
    "conversation_resolved": "resolved",
    "conversation_status_changed": "status_changed",
}


def normalize(payload: Mapping[str, Any], origin: Origin, headers: Mapping[str, str]) -> Outcome:
    event = payload.get("event")
    if not isinstance(event, str):
        raise InvalidPayload("event", "event is required")
    delivery = headers.get("x-chatwoot-delivery")
    if event == "message_created":
        return _message(payload, origin, delivery)
    if event in _STATE_EVENTS:
        return _state_change(event, payload, origin, delivery)
    return Dropped("unsupported_event", f"event {event!r} is not handled", {"delivery": delivery})


def _message(payload: Mapping[str, Any], origin: Origin, delivery: str | None) -> Outcome:
    message_id = text_id(payload.get("id"), "id")
    conversation = obj(payload.get("conversation"), "conversation")
    sender = opt_obj(payload.get("sender"))
    sender_type = (opt_str(sender.get("type")) or "").lower()
    where = {"message_id": message_id, "delivery": delivery}
    if sender_type == "agent_bot" or (sender_type != "contact" and origin.is_own(sender.get("id"))):
        return Dropped("own_reply", "message by the agent bot", where)
    if payload.get("private") is True:
        return Dropped("private_note", "private note", where)
    message_type = payload.get("message_type")
    if message_type not in ("incoming", 0):
        return Dropped("agent_message", f"message_type {message_type}", where)
    if not sender_type or (sender_type == "contact" and opt_str(sender.get("id")) is None):
        # Fail closed: a message whose sender is not named as a contact may be an agent's.
        return Dropped("unknown_author", "the sender has no type or no id", where)
    if sender_type != "contact":
        return Dropped("agent_message", f"sender type {sender_type}", where)
    status = opt_str(conversation.get("status"))
    if status is not None and status != "pending":
        # After a handoff (status open) the conversation is the agents'; the bot must stay quiet.
        return Dropped("not_pending", f"conversation status {status}", where)
    conversation_id = text_id(conversation.get("id") or conversation.get("display_id"), "conversation.id")
    text = str(payload.get("content") or "").strip()
    attachments = [
        Attachment(
            url=opt_str(item.get("data_url")),
            content_type=opt_str(item.get("file_type")),
            size=item.get("file_size") if isinstance(item.get("file_size"), int) else None,
        )
        for item in payload.get("attachments") or ()
        if isinstance(item, dict)
    ]
    if not text and not attachments:
        return Dropped("empty_message", "empty message", where)
    account = opt_obj(payload.get("account"))
    inbox = opt_obj(payload.get("inbox"))
    received = MessageReceived(
        tenant_id=origin.tenant_id,
        integration_id=origin.integration_id,
        provider="chatwoot",
        conversation_id=conversation_id,
        message_id=message_id,
        author=customer(sender),
        text=text,
        attachments=attachments,
        sent_at=parse_time(payload.get("created_at")),
        channel=opt_str(conversation.get("channel")),
        metadata=present(
            ("account_id", account.get("id")),
            ("inbox_id", inbox.get("id") or conversation.get("inbox_id")),
            ("status", status),
            ("content_type", payload.get("content_type")),
            ("delivery", delivery),
        ),
        raw_ref=delivery or message_id,
    )
    return accept_message(received, origin, f"message:{account.get('id')}:{message_id}")


def _state_change(event: str, payload: Mapping[str, Any], origin: Origin, delivery: str | None) -> Outcome:
    # Conversation events carry the conversation at the top level (``id`` is the conversation's).
    conversation = opt_obj(payload.get("conversation")) or dict(payload)
    conversation_id = text_id(conversation.get("id") or conversation.get("display_id"), "id")
    meta = opt_obj(conversation.get("meta"))
    assignee = opt_obj(meta.get("assignee"))
    updated = ConversationUpdated(
        tenant_id=origin.tenant_id,
        integration_id=origin.integration_id,
        provider="chatwoot",
        conversation_id=conversation_id,
        change=_STATE_EVENTS[event],
        status=opt_str(conversation.get("status")),
        assignee=Author(id=opt_str(assignee.get("id")), name=opt_str(assignee.get("name")), type="agent")
        if assignee
        else None,
        occurred_at=parse_time(conversation.get("timestamp") or payload.get("created_at")),
        metadata={"account_id": opt_obj(payload.get("account")).get("id")} if payload.get("account") else {},
        raw_ref=delivery,
    )
    return accept_update(updated, origin, f"{event}:{delivery}" if delivery else None)
