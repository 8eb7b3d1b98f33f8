"""Intercom webhooks (platforms.md §3) → ``message.received`` / ``conversation.updated``.

``conversation.user.created`` (text in ``source``, or ``conversation_message`` in API 1.x) and
``conversation.user.replied`` (the newest ``comment`` part) from a user, lead or contact are messages. Teammate
and bot topics are dropped (``conversation.admin.replied`` is how our own replies come back; ``admin.noted`` is
a private note), except ``admin.assigned`` / ``admin.closed`` / ``admin.open``, which are
``conversation.updated``. ``ping`` (sent when the webhook is saved) is acknowledged. Bodies are HTML before API
2.15 and plain text after; both become plain text. Redeliveries dedupe on the part id, else the notification id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from switchboard_ingress.domain.inbound import (
    Dropped,
    DropReason,
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
    strip_html,
    text_id,
)
from switchboard_shared.events import Attachment, Author, ConversationUpdated, MessageReceived

CUSTOMERS = frozenset({"user", "lead", "contact"})
_STATE_TOPICS = {
    "conversation.admin.assigned": "assigned",
    "conversation.admin.closed": "closed",
    "conversation.admin.open": "opened",
    "conversation.admin.snoozed": "snoozed",
}
_DROPPED_TOPICS: dict[str, DropReason] = {
    "conversation.admin.replied": "agent_message",
    "conversation.admin.single.created": "agent_message",
    "conversation.admin.noted": "private_note",
    "conversation.operator.replied": "bot_message",
}


def normalize(payload: Mapping[str, Any], origin: Origin) -> Outcome:
    topic = payload.get("topic")
    item = opt_obj(opt_obj(payload.get("data")).get("item"))
    if topic == "ping" or item.get("type") == "ping":
        return Dropped("ping", "webhook URL check")
    if not isinstance(topic, str):
        raise InvalidPayload("topic", "topic is required")
    notification_id = opt_str(payload.get("id"))
    if topic in ("conversation.user.created", "conversation.user.replied"):
        conversation = obj(opt_obj(payload.get("data")).get("item"), "data.item")
        return _message(topic, conversation, notification_id, payload, origin)
    if topic in _STATE_TOPICS:
        conversation = obj(opt_obj(payload.get("data")).get("item"), "data.item")
        return _state_change(topic, conversation, notification_id, origin)
    if topic in _DROPPED_TOPICS:
        return Dropped(_DROPPED_TOPICS[topic], f"topic {topic}", {"notification_id": notification_id})
    return Dropped(
        "unsupported_event", f"topic {topic!r} is not handled", {"notification_id": notification_id}
    )


def _message(
    topic: str,
    conversation: Mapping[str, Any],
    notification_id: str | None,
    payload: Mapping[str, Any],
    origin: Origin,
) -> Outcome:
    conversation_id = text_id(conversation.get("id"), "data.item.id")
    part = _newest_comment(conversation) if topic == "conversation.user.replied" else None
    if part is None:
        # conversation.user.created: the opening message (2.x ``source``, 1.x ``conversation_message``).
        part = opt_obj(conversation.get("source")) or opt_obj(conversation.get("conversation_message"))
        if not part:
            raise InvalidPayload("data.item.source", "the conversation has no source message")
    author = opt_obj(part.get("author")) or opt_obj(conversation.get("user"))
    author_type = opt_str(author.get("type"))
    part_id = opt_str(part.get("id"))
    where = {"notification_id": notification_id, "part_id": part_id}
    if origin.is_own(author.get("id")):
        return Dropped("own_reply", "part by the integration's reply admin", where)
    if part.get("part_type") == "note":
        return Dropped("private_note", "note", where)
    if author_type is None or (author_type in CUSTOMERS and opt_str(author.get("id")) is None):
        # Fail closed: a part whose author is not named as a customer may be a teammate's or a bot's.
        return Dropped("unknown_author", "the part's author has no type or no id", where)
    if author_type not in CUSTOMERS:
        reason: DropReason = "bot_message" if author_type == "bot" else "agent_message"
        return Dropped(reason, f"author type {author_type}", where)
    text = strip_html(str(part.get("body") or ""))
    attachments = [
        Attachment(
            url=opt_str(item.get("url")),
            content_type=opt_str(item.get("content_type")),
            filename=opt_str(item.get("name")),
            size=item.get("filesize") if isinstance(item.get("filesize"), int) else None,
        )
        for item in part.get("attachments") or ()
        if isinstance(item, dict)
    ]
    if not text and not attachments:
        return Dropped("empty_message", "empty part", where)
    message_id = part_id or f"{conversation_id}:{notification_id}"
    received = MessageReceived(
        tenant_id=origin.tenant_id,
        integration_id=origin.integration_id,
        provider="intercom",
        conversation_id=conversation_id,
        message_id=message_id,
        author=customer(author),
        text=text,
        attachments=attachments,
        sent_at=parse_time(
            part.get("created_at") or conversation.get("updated_at") or payload.get("created_at")
        ),
        channel=opt_str(part.get("delivered_as")) or opt_str(part.get("type")),
        metadata=present(
            ("app_id", payload.get("app_id")),
            ("topic", topic),
            ("delivery_attempts", payload.get("delivery_attempts")),
            ("state", conversation.get("state")),
        ),
        raw_ref=notification_id,
    )
    key = f"part:{message_id}" if part_id else f"notification:{notification_id}" if notification_id else None
    return accept_message(received, origin, key)


def _newest_comment(conversation: Mapping[str, Any]) -> dict[str, Any] | None:
    parts = opt_obj(conversation.get("conversation_parts")).get("conversation_parts") or []
    comments = [
        part for part in parts if isinstance(part, dict) and part.get("part_type") in ("comment", "note")
    ]
    return comments[-1] if comments else None


def _state_change(
    topic: str, conversation: Mapping[str, Any], notification_id: str | None, origin: Origin
) -> Outcome:
    conversation_id = text_id(conversation.get("id"), "data.item.id")
    assignee_id = opt_str(
        conversation.get("admin_assignee_id") or opt_obj(conversation.get("assignee")).get("id")
    )
    updated = ConversationUpdated(
        tenant_id=origin.tenant_id,
        integration_id=origin.integration_id,
        provider="intercom",
        conversation_id=conversation_id,
        change=_STATE_TOPICS[topic],
        status=opt_str(conversation.get("state")),
        assignee=Author(id=assignee_id, type="agent") if assignee_id else None,
        occurred_at=parse_time(conversation.get("updated_at")),
        metadata={"topic": topic},
        raw_ref=notification_id,
    )
    return accept_update(updated, origin, f"notification:{notification_id}" if notification_id else None)
