"""Chatwoot (platforms.md §4): agent-bot and account webhooks in, bot messages through the REST API out.

**Inbound.** ``X-Chatwoot-Signature: sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`` with
``X-Chatwoot-Timestamp`` in unix seconds (§4.3), checked with a replay window; installations that do not sign
use ``POST /webhooks/chatwoot/{integration}/{path_token}`` instead. Only an ``incoming``, non-private ``message_created`` from a contact, in a conversation the bot owns
(``pending``), is a message: Chatwoot also notifies the bot of its own outgoing messages and of agents'
(``sender.type`` user / agent_bot), and an ``open`` conversation belongs to a human after a handoff.
``conversation_opened`` / ``conversation_resolved`` / ``conversation_status_changed`` are ``conversation.updated``.
Redeliveries dedupe on the message id (Chatwoot's ids are per installation), else ``X-Chatwoot-Delivery``.

**Replies** (§4.4): ``POST {base_url}/api/v1/accounts/{account}/conversations/{id}/messages`` (articles in
Chatwoot's own article shape); a handoff opens the conversation (pending → open), which is how an agent bot
hands over.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from switchboard_contracts.events import Attachment, Author, ConversationUpdated, MessageReceived
from switchboard_contracts.partners.base import (
    CredentialField,
    Inbound,
    InboundRequest,
    Partner,
    PartnerRequest,
    Replies,
    check_window,
    material,
    need,
    text_of,
)
from switchboard_contracts.partners.inbound import (
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
from switchboard_contracts.signing import SignatureError, constant_time_equal

_STATE_EVENTS = {
    "conversation_opened": "opened",
    "conversation_resolved": "resolved",
    "conversation_status_changed": "status_changed",
}


def normalize(payload: Mapping[str, Any], origin: Origin, request: InboundRequest) -> Outcome:
    event = payload.get("event")
    if not isinstance(event, str):
        raise InvalidPayload("event", "event is required")
    delivery = request.headers.get("x-chatwoot-delivery")
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


# -- verification (§4.3) ----------------------------------------------------------------------------------------


def verify_signature(
    secret: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    tolerance_s: int,
    now: datetime | None = None,
) -> None:
    if not signature or not timestamp:
        raise SignatureError("missing X-Chatwoot-Signature or X-Chatwoot-Timestamp")
    signed = timestamp.strip().encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not constant_time_equal(signature.strip().lower(), expected):
        raise SignatureError("signature does not match the body")
    try:
        signed_at = datetime.fromtimestamp(int(timestamp.strip()), UTC)
    except (ValueError, OverflowError, OSError):
        raise SignatureError("X-Chatwoot-Timestamp is not unix seconds") from None
    check_window(signed_at, now or datetime.now(UTC), tolerance_s)


def verify(verification: Mapping[str, Any], request: InboundRequest, *, tolerance_s: int) -> None:
    verify_signature(
        material(verification, "webhook_secret", hint=" (or use the path-token URL)"),
        request.body,
        request.headers.get("x-chatwoot-signature"),
        request.headers.get("x-chatwoot-timestamp"),
        tolerance_s=tolerance_s,
    )


# -- replies (§4.4) ---------------------------------------------------------------------------------------------


def _conversation_api(credentials: Mapping[str, Any], conversation_id: str) -> tuple[str, dict[str, str]]:
    base = need(credentials, "base_url", "chatwoot").rstrip("/")
    account = need(credentials, "account_id", "chatwoot")
    token = need(credentials, "api_access_token", "chatwoot")
    return f"{base}/api/v1/accounts/{account}/conversations/{conversation_id}", {"api_access_token": token}


def message(credentials: Mapping[str, Any], conversation_id: str, data: Mapping[str, Any]) -> PartnerRequest:
    url, headers = _conversation_api(credentials, conversation_id)
    body: dict[str, Any] = {"content": text_of(data), "message_type": "outgoing", "private": False}
    if data.get("content_type") == "article":
        # Chatwoot's widget renders seed 004's article shape natively (content_attributes.items).
        body.update({"content": str(data.get("text") or ""), "content_type": "article"})
        body["content_attributes"] = {"items": (data.get("content_attributes") or {}).get("items", [])}
    else:
        body["content_type"] = "text"
    return PartnerRequest("reply", "POST", f"{url}/messages", headers, body)


def reply(
    credentials: Mapping[str, Any], conversation_id: str, data: Mapping[str, Any]
) -> list[PartnerRequest]:
    return [message(credentials, conversation_id, data)]


def handoff(
    credentials: Mapping[str, Any], conversation_id: str, text: str, reason: str
) -> list[PartnerRequest]:
    url, headers = _conversation_api(credentials, conversation_id)
    # An agent bot hands over by opening the conversation (pending → open), platforms.md §4.1.
    return [
        message(credentials, conversation_id, {"text": text}),
        PartnerRequest("handoff", "POST", f"{url}/toggle_status", headers, {"status": "open"}),
    ]


_PATH_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


def _path_token(value: str) -> str:
    if not _PATH_TOKEN.match(value):
        raise ValueError("may contain only letters, digits, '-' and '_' (it goes in a URL path)")
    return value


PARTNER = Partner(
    name="chatwoot",
    title="Chatwoot",
    verification=(
        CredentialField(
            "webhook_secret",
            "the webhook / agent-bot secret (X-Chatwoot-Signature).",
            secret=True,
            min_length=16,
            max_length=1024,
        ),
        CredentialField(
            "path_token",
            "a secret URL path segment for Chatwoot versions that do not sign webhooks (letters, digits, '-' "
            "and '_').",
            secret=True,
            min_length=24,
            max_length=256,
            check=_path_token,
        ),
    ),
    reply=(
        CredentialField(
            "base_url",
            "the installation's URL, e.g. https://app.chatwoot.com",
            required=True,
            url=True,
            max_length=2048,
        ),
        CredentialField("account_id", "the account id", kind=int, required=True, min_length=None, ge=1),
        CredentialField(
            "api_access_token", "the agent bot's access token.", secret=True, required=True, max_length=4096
        ),
        CredentialField(
            "inbox_id", "the inbox the bot serves", kind=int, required=True, min_length=None, ge=1
        ),
    ),
    inbound=Inbound(verify=verify, normalize=normalize, path_token=True),
    replies=Replies(reply=reply, handoff=handoff),
    examples=(
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
    ),
)
