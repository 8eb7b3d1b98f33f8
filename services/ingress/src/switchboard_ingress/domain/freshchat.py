"""Freshchat conversation webhooks (platforms.md §1) → ``message.received`` / ``conversation.updated``.

Both payload generations are read: current ``message_parts[].text.content`` (plus ``image`` / ``file`` /
``video`` parts) and the 2018 ``msg_parts[].properties.text`` with ``part_type``. Only a user's normal message
is a ``message.received``; agent, bot and system messages, private notes, and messages from our own bot agent
(our replies, echoed back) are dropped. Redeliveries (``X-Retry-Count``) dedupe on ``data.message.id``.
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
    obj,
    opt_obj,
    opt_str,
    parse_time,
    text_id,
)
from switchboard_shared.events import Attachment, Author, ConversationUpdated, MessageReceived

#: action → (data key, change, actor id field)
_CONVERSATION_ACTIONS = {
    "conversation_assignment": ("assignment", "assigned", "assignor_id"),
    "conversation_resolution": ("resolve", "resolved", "resolver_id"),
    "conversation_reopen": ("reopen", "reopened", "reopener_id"),
}
_DROP_BY_ACTOR: dict[str, DropReason] = {
    "agent": "agent_message",
    "bot": "bot_message",
    "system": "system_message",
}


def normalize(payload: Mapping[str, Any], origin: Origin, headers: Mapping[str, str]) -> Outcome:
    action = payload.get("action")
    if not isinstance(action, str):
        raise InvalidPayload("action", "action is required")
    data = obj(payload.get("data"), "data")
    delivery = {
        "retry_count": headers.get("x-retry-count"),
        "payload_version": headers.get("x-freshchat-payload-version"),
    }
    if action == "message_create":
        return _message(payload, obj(data.get("message"), "data.message"), origin, delivery)
    if action in _CONVERSATION_ACTIONS:
        return _conversation(payload, action, data, origin)
    return Dropped("unsupported_event", f"action {action!r} is not handled")


def _message(
    payload: Mapping[str, Any], message: dict[str, Any], origin: Origin, delivery: dict[str, str | None]
) -> Outcome:
    message_id = text_id(message.get("id"), "data.message.id")
    actor = opt_obj(payload.get("actor"))
    actor_type = opt_str(message.get("actor_type") or actor.get("actor_type"))
    actor_id = message.get("actor_id") or actor.get("actor_id")
    if origin.is_own(actor_id) or origin.is_own(message.get("org_actor_id")):
        return Dropped("own_reply", "message from the integration's reply agent", {"message_id": message_id})
    if message.get("message_type") == "private" or message.get("botsPrivateNote"):
        return Dropped("private_note", "private note", {"message_id": message_id})
    author_id = opt_str(message.get("user_id") or actor_id)
    if actor_type is None or (actor_type == "user" and author_id is None):
        # Fail closed: a message whose actor is not named as a user may be an agent's or a bot's.
        return Dropped("unknown_author", "no actor_type, or a user without an id", {"message_id": message_id})
    if actor_type != "user":
        reason = _DROP_BY_ACTOR.get(actor_type, "agent_message")
        return Dropped(reason, f"actor_type {actor_type}", {"message_id": message_id})
    conversation_id = text_id(message.get("conversation_id"), "data.message.conversation_id")
    texts, attachments = _parts(message)
    if not texts and not attachments:
        return Dropped("empty_message", "no text or media parts", {"message_id": message_id})
    metadata = {
        name: message[name]
        for name in ("app_id", "channel_id", "interaction_id", "message_source", "user_id")
        if message.get(name) is not None
    }
    metadata.update({name: value for name, value in delivery.items() if value is not None})
    received = MessageReceived(
        tenant_id=origin.tenant_id,
        integration_id=origin.integration_id,
        provider="freshchat",
        conversation_id=conversation_id,
        message_id=message_id,
        author=Author(id=author_id, type="user"),
        text="\n".join(texts),
        attachments=attachments,
        sent_at=parse_time(message.get("created_time") or payload.get("action_time")),
        channel=opt_str(message.get("message_source")),
        metadata=metadata,
        raw_ref=message_id,
    )
    return accept_message(received, origin, f"message:{message_id}")


def _parts(message: Mapping[str, Any]) -> tuple[list[str], list[Attachment]]:
    texts: list[str] = []
    attachments: list[Attachment] = []
    for part in message.get("message_parts") or ():
        if not isinstance(part, dict):
            continue
        text = opt_obj(part.get("text")).get("content")
        if isinstance(text, str) and text.strip():
            texts.append(text)
        for kind in ("image", "file", "video"):
            media = opt_obj(part.get(kind))
            if media.get("url"):
                size = media.get("file_size_in_bytes")
                attachments.append(
                    Attachment(
                        url=str(media["url"]),
                        content_type=opt_str(media.get("content_type"))
                        or (f"{kind}/*" if kind != "file" else None),
                        filename=opt_str(media.get("name")),
                        size=int(size) if isinstance(size, int) else None,
                    )
                )
    # The 2018 generation: msg_parts[] with part_type and properties.
    for part in message.get("msg_parts") or ():
        if not isinstance(part, dict):
            continue
        properties = opt_obj(part.get("properties"))
        part_type = part.get("part_type")
        if part_type == "text" and isinstance(properties.get("text"), str) and properties["text"].strip():
            texts.append(properties["text"])
        elif properties.get("url"):
            attachments.append(
                Attachment(url=str(properties["url"]), content_type=opt_str(properties.get("content_type")))
            )
    return texts, attachments


def _conversation(
    payload: Mapping[str, Any], action: str, data: Mapping[str, Any], origin: Origin
) -> Outcome:
    key_name, change, actor_field = _CONVERSATION_ACTIONS[action]
    body = obj(data.get(key_name), f"data.{key_name}")
    conversation = opt_obj(body.get("conversation"))
    conversation_id = text_id(
        conversation.get("conversation_id") or body.get("conversation_id"),
        f"data.{key_name}.conversation.conversation_id",
    )
    occurred_at = parse_time(payload.get("action_time"))
    assignee = None
    if change == "assigned":
        if not body.get("to_agent_id") and not body.get("to_group_id"):
            return Dropped("unsupported_event", "assignment without an agent or group")
        if body.get("to_agent_id") and body.get("to_agent_id") == body.get("from_agent_id"):
            return Dropped("unsupported_event", "assignment to the same agent")
        assignee = Author(id=opt_str(body.get("to_agent_id") or body.get("to_group_id")), type="agent")
    actor_id = opt_str(body.get(actor_field))
    updated = ConversationUpdated(
        tenant_id=origin.tenant_id,
        integration_id=origin.integration_id,
        provider="freshchat",
        conversation_id=conversation_id,
        change=change,
        status=opt_str(conversation.get("status")),
        assignee=assignee,
        actor=Author(id=actor_id, type="agent") if actor_id else None,
        occurred_at=occurred_at,
        metadata={k: conversation[k] for k in ("app_id", "channel_id") if conversation.get(k) is not None},
        raw_ref=opt_str(body.get("interaction_id")),
    )
    key = f"{action}:{conversation_id}:{payload.get('action_time') or body.get('interaction_id')}"
    return accept_update(updated, origin, key)
