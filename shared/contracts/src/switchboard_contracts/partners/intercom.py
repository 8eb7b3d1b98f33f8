"""Intercom (platforms.md §3): signed webhooks in, admin replies through the REST API out.

**Inbound.** ``X-Hub-Signature: sha1=<hex HMAC-SHA1(client_secret, body)>`` (§3.2), no timestamp.
``conversation.user.created`` (text in ``source``, or ``conversation_message`` in API 1.x) and
``conversation.user.replied`` (the newest ``comment`` part) from a user, lead or contact are messages. Teammate
and bot topics are dropped (``conversation.admin.replied`` is how our own replies come back; ``admin.noted`` is
a private note), except ``admin.assigned`` / ``admin.closed`` / ``admin.open``, which are
``conversation.updated``. ``ping`` (sent when the webhook is saved) is acknowledged. Bodies are HTML before API
2.15 and plain text after; both become plain text. Redeliveries dedupe on the part id, else the notification id.

**Replies** (§3.3): ``POST /conversations/{id}/reply`` as ``admin_id``; a handoff then assigns the conversation to
``handoff_assignee_id`` (a team with ``handoff_assignee_type: "team"``) when one is set.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from switchboard_contracts.events import Attachment, Author, ConversationUpdated, MessageReceived
from switchboard_contracts.partners.base import (
    CredentialField,
    Inbound,
    InboundRequest,
    Partner,
    PartnerRequest,
    Replies,
    material,
    need,
    text_of,
)
from switchboard_contracts.partners.inbound import (
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
from switchboard_contracts.signing import SignatureError, constant_time_equal

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


def normalize(payload: Mapping[str, Any], origin: Origin, request: InboundRequest) -> Outcome:
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


# -- verification (§3.2) ----------------------------------------------------------------------------------------


def verify_signature(secret: str, body: bytes, signature: str | None) -> None:
    if not signature:
        raise SignatureError("missing X-Hub-Signature")
    candidate = signature.strip()
    if not candidate.startswith("sha1="):
        raise SignatureError("X-Hub-Signature must start with sha1=")
    # SHA-1 is what Intercom signs with; as an HMAC it is still sound.
    expected = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    if not constant_time_equal(candidate.removeprefix("sha1=").lower(), expected):
        raise SignatureError("signature does not match the body")


def verify(verification: Mapping[str, Any], request: InboundRequest, *, tolerance_s: int) -> None:
    verify_signature(
        material(verification, "client_secret"), request.body, request.headers.get("x-hub-signature")
    )


# -- replies (§3.3) ---------------------------------------------------------------------------------------------

API_VERSION = "2.11"


def _api(credentials: Mapping[str, Any]) -> tuple[str, dict[str, str], str]:
    base = str(credentials.get("base_url") or "https://api.intercom.io").rstrip("/")
    token = need(credentials, "access_token", "intercom")
    admin_id = need(credentials, "admin_id", "intercom")
    headers = {"Authorization": f"Bearer {token}", "Intercom-Version": API_VERSION}
    return base, headers, admin_id


def admin_reply(credentials: Mapping[str, Any], conversation_id: str, text: str) -> PartnerRequest:
    base, headers, admin_id = _api(credentials)
    body = {"message_type": "comment", "type": "admin", "admin_id": admin_id, "body": text}
    return PartnerRequest("reply", "POST", f"{base}/conversations/{conversation_id}/reply", headers, body)


def reply(
    credentials: Mapping[str, Any], conversation_id: str, data: Mapping[str, Any]
) -> list[PartnerRequest]:
    return [admin_reply(credentials, conversation_id, text_of(data))]


def handoff(
    credentials: Mapping[str, Any], conversation_id: str, text: str, reason: str
) -> list[PartnerRequest]:
    requests = [admin_reply(credentials, conversation_id, text)]
    assignee = credentials.get("handoff_assignee_id")
    if assignee:
        base, headers, admin_id = _api(credentials)
        body = {
            "message_type": "assignment",
            "type": str(credentials.get("handoff_assignee_type") or "admin"),
            "admin_id": admin_id,
            "assignee_id": str(assignee),
            "body": "Handed over to a human by Switchboard.",
        }
        requests.append(
            PartnerRequest("handoff", "POST", f"{base}/conversations/{conversation_id}/parts", headers, body)
        )
    return requests


PARTNER = Partner(
    name="intercom",
    title="Intercom",
    verification=(
        CredentialField(
            "client_secret",
            "the app's client secret (X-Hub-Signature: sha1=…).",
            secret=True,
            max_length=1024,
        ),
    ),
    reply=(
        CredentialField(
            "access_token", "the app's access token.", secret=True, required=True, max_length=4096
        ),
        CredentialField(
            "admin_id", "the admin replies are sent as", required=True, own_id=True, max_length=200
        ),
    ),
    inbound=Inbound(verify=verify, normalize=normalize),
    replies=Replies(reply=reply, handoff=handoff),
    examples=(
        {
            "name": "Intercom",
            "provider": "intercom",
            "verification": {"client_secret": "3c6e0b8a-9c15-4ab7-8e3d-…"},
            "reply": {"access_token": "dG9rOmNhMjE…", "admin_id": "5017691"},
        },
    ),
)
