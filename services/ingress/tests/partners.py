"""Partner webhooks as the platforms send them (shapes from shared/reference/platforms.md), signed for real.

Freshchat: an RSA-2048 key pair generated per test session, the public key shown the way Freshchat's settings
show it (one line, ``RSA PUBLIC KEY`` label around a SubjectPublicKeyInfo). Zendesk, Intercom, Chatwoot and seed
003: HMACs computed here independently of the code under test (``hmac`` + ``hashlib`` directly).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import textwrap
from datetime import UTC, datetime
from functools import cache
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ZENDESK_SECRET = "zendesk-signing-secret-0123456789"
INTERCOM_SECRET = "intercom-client-secret-abcdef"
CHATWOOT_SECRET = "chatwoot-webhook-secret-XYZ12345"
CHATWOOT_PATH_TOKEN = "cw-path-token-abcdefghijklmnopqrstuvwxyz"
GENERIC_SECRET = "whsec_3f9d1c7b2a6e4d8f9a0b"
BEARER = "seed-002-bearer-token-0123456789"
BOT_AGENT = "bot-agent-42"


@cache
def freshchat_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def freshchat_public_key_as_pasted(key: rsa.RSAPrivateKey | None = None) -> str:
    """What Freshchat's settings page shows: one line, a PKCS#1 label, an SPKI body (platforms.md §1.3)."""
    der = (
        (key or freshchat_key())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return f"-----BEGIN RSA PUBLIC KEY----- {base64.b64encode(der).decode()} -----END RSA PUBLIC KEY-----"


def pem_pkcs1(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()
    )


def body_of(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- Freshchat -----------------------------------------------------------------------------------------------------


def freshchat_sign(body: bytes, key: rsa.RSAPrivateKey | None = None) -> str:
    signature = (key or freshchat_key()).sign(body, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def freshchat_headers(body: bytes, retry: int = 0, key: rsa.RSAPrivateKey | None = None) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Freshchat-Signature": freshchat_sign(body, key),
        "X-Retry-Count": str(retry),
        "X-Freshchat-Payload-Version": "1",
    }


def freshchat_message(
    text: str = "Hello, I need help with my account",
    *,
    message_id: str = "b3a1c2d4-0000-4000-8000-000000000001",
    conversation_id: str = "c0ffee00-1111-4222-8333-444455556666",
    actor_type: str = "user",
    actor_id: str = "user-7f3e",
    message_type: str | None = "normal",
    image_url: str | None = None,
) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"text": {"content": text}}]
    if image_url:
        parts.append({"image": {"url": image_url}})
    message: dict[str, Any] = {
        "message_parts": parts,
        "app_id": "a1b2c3d4-app",
        "actor_id": actor_id,
        "id": message_id,
        "channel_id": "chan-1",
        "conversation_id": conversation_id,
        "interaction_id": "512345678901234-1669114523126",
        "actor_type": actor_type,
        "created_time": "2022-11-22T10:55:23.126Z",
        "user_id": actor_id if actor_type == "user" else "user-7f3e",
        "message_source": "web",
    }
    if message_type is not None:
        message["message_type"] = message_type
    return {
        "actor": {"actor_type": actor_type, "actor_id": actor_id},
        "action": "message_create",
        "action_time": "2022-11-22T10:55:23.126Z",
        "data": {"message": message},
    }


def freshchat_legacy_message(text: str = "Legacy hello") -> dict[str, Any]:
    """The 2018 generation: ``msg_parts[].properties.text`` with ``part_type``."""
    return {
        "actor": {"actor_type": "user", "actor_id": "user-legacy"},
        "action": "message_create",
        "action_time": "2018-06-01T09:00:00.000Z",
        "data": {
            "message": {
                "msg_parts": [{"part_type": "text", "properties": {"text": text}}],
                "id": "legacy-msg-1",
                "conversation_id": "app_user_feedback",
                "actor_type": "user",
                "actor_id": "user-legacy",
                "created_time": 1527843600000,
            }
        },
    }


# -- Zendesk -------------------------------------------------------------------------------------------------------


def zendesk_sign(body: bytes, timestamp: str, secret: str = ZENDESK_SECRET) -> str:
    return base64.b64encode(
        hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    ).decode()


def zendesk_headers(
    body: bytes, timestamp: str | None = None, secret: str = ZENDESK_SECRET
) -> dict[str, str]:
    ts = timestamp or now_iso()
    return {
        "Content-Type": "application/json",
        "X-Zendesk-Account-Id": "22129848",
        "X-Zendesk-Webhook-Id": "01F1KRFQ6BG29CNWFR60NK5FNY",
        "X-Zendesk-Webhook-Invocation-Id": "8350205582",
        "X-Zendesk-Webhook-Signature": zendesk_sign(body, ts, secret),
        "X-Zendesk-Webhook-Signature-Timestamp": ts,
    }


def zendesk_comment(
    body: str = "My order never arrived",
    *,
    event_id: str = "cbe4028c-0000-4000-8000-000000000001",
    comment_id: str = "11223344",
    author_id: str = "900001",
    is_staff: bool = False,
    is_public: bool = True,
) -> dict[str, Any]:
    return {
        "account_id": 22129848,
        "detail": {
            "actor_id": author_id,
            "assignee_id": "900002",
            "brand_id": "360001",
            "created_at": "2025-01-08T10:10:00Z",
            "description": "My order never arrived",
            "id": "5158",
            "is_public": True,
            "priority": "NORMAL",
            "requester_id": "900001",
            "status": "OPEN",
            "subject": "Where is my order?",
            "tags": ["order"],
            "type": "QUESTION",
            "updated_at": "2025-01-08T10:12:07Z",
            "via": {"channel": "web_service"},
        },
        "event": {
            "comment": {
                "author": {"id": author_id, "is_staff": is_staff, "name": "Jane Customer"},
                "body": body,
                "id": comment_id,
                "is_public": is_public,
            }
        },
        "id": event_id,
        "subject": "zen:ticket:5158",
        "time": "2025-01-08T10:12:07.672717030Z",
        "type": "zen:event-type:ticket.comment_added",
        "zendesk_event_version": "2022-11-06",
    }


def zendesk_ticket_created() -> dict[str, Any]:
    payload = zendesk_comment()
    payload.pop("event")
    payload.update({"type": "zen:event-type:ticket.created", "id": "evt-created-1"})
    return payload


def zendesk_trigger(
    comment: str = "Still waiting", current_user_email: str = "jane@example.com"
) -> dict[str, Any]:
    """The trigger template the ingress README documents, rendered (every value a string)."""
    return {
        "ticket_id": "90417",
        "subject": "Refund please",
        "status": "Open",
        "priority": "Normal",
        "via": "Web Form",
        "requester_id": "900001",
        "requester_name": "Jane Customer",
        "requester_email": "jane@example.com",
        "current_user_email": current_user_email,
        "comment": comment,
        "updated_at": "January 8, 2025 10:12",
    }


# -- Intercom ------------------------------------------------------------------------------------------------------


def intercom_headers(body: bytes, secret: str = INTERCOM_SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "intercom-parrot-service-client/1.0",
        "X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
    }


def intercom_reply(
    body: str = "<p>Can you <b>help</b> me?</p>",
    *,
    notification_id: str = "notif_ccd8a4d2-0000-4000-8000-000000000001",
    part_id: str = "7001",
    author_type: str = "user",
    author_id: str = "5c9f0001",
    topic: str = "conversation.user.replied",
) -> dict[str, Any]:
    return {
        "type": "notification_event",
        "app_id": "ws12345",
        "data": {
            "type": "notification_event_data",
            "item": {
                "type": "conversation",
                "id": "148",
                "state": "open",
                "updated_at": 1553291308,
                "source": {
                    "type": "conversation",
                    "id": "1001",
                    "delivered_as": "customer_initiated",
                    "body": "<p>Hi</p>",
                    "author": {"type": "user", "id": author_id, "name": "Sam", "email": "sam@example.com"},
                    "attachments": [],
                },
                "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": author_id}]},
                "conversation_parts": {
                    "type": "conversation_part.list",
                    "conversation_parts": [
                        {
                            "type": "conversation_part",
                            "id": part_id,
                            "part_type": "comment",
                            "body": body,
                            "created_at": 1553291308,
                            "author": {
                                "type": author_type,
                                "id": author_id,
                                "name": "Sam",
                                "email": "sam@example.com",
                            },
                            "attachments": [],
                        }
                    ],
                    "total_count": 1,
                },
            },
        },
        "links": {},
        "id": notification_id,
        "topic": topic,
        "delivery_status": "pending",
        "delivery_attempts": 1,
        "delivered_at": 0,
        "first_sent_at": 1553291308,
        "created_at": 1553291308,
        "self": None,
    }


def intercom_ping() -> dict[str, Any]:
    return {
        "type": "notification_event",
        "app_id": "ws12345",
        "data": {
            "type": "notification_event_data",
            "item": {"type": "ping", "message": "something something interzen"},
        },
        "links": {},
        "id": None,
        "topic": "ping",
        "delivery_status": None,
        "delivery_attempts": 1,
        "delivered_at": 0,
        "first_sent_at": 1553291308,
        "created_at": 1553291308,
        "self": None,
    }


# -- Chatwoot ------------------------------------------------------------------------------------------------------


def chatwoot_headers(
    body: bytes, timestamp: int | None = None, secret: str = CHATWOOT_SECRET, delivery: str = "d-0001"
) -> dict[str, str]:
    ts = str(timestamp if timestamp is not None else int(datetime.now(UTC).timestamp()))
    signature = "sha256=" + hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Chatwoot-Signature": signature,
        "X-Chatwoot-Timestamp": ts,
        "X-Chatwoot-Delivery": delivery,
    }


def chatwoot_message(
    content: str = "hi",
    *,
    message_id: int = 118,
    message_type: str = "incoming",
    sender_type: str = "contact",
    private: bool = False,
    status: str = "pending",
) -> dict[str, Any]:
    return {
        "event": "message_created",
        "id": message_id,
        "content": content,
        "created_at": "2021-07-23T18:02:48.000Z",
        "message_type": message_type,
        "content_type": "text",
        "content_attributes": {},
        "additional_attributes": {},
        "private": private,
        "source_id": None,
        "sender": {"id": 14, "name": "Visitor", "avatar": "", "type": sender_type},
        "inbox": {"id": 1, "name": "Website"},
        "account": {"id": 1, "name": "Acme"},
        "conversation": {
            "id": 10,
            "inbox_id": 1,
            "status": status,
            "channel": "Channel::WebWidget",
            "can_reply": True,
            "contact_inbox": {"source_id": "abc"},
            "messages": [{"id": message_id, "message_type": 0}],
            "meta": {"sender": {"id": 14}, "assignee": None, "team": None},
            "labels": [],
            "timestamp": 1627063369,
        },
    }


# -- seed 003 ------------------------------------------------------------------------------------------------------


def seed003_signature(body: bytes, secret: str = GENERIC_SECRET) -> str:
    """seed 003's Node example: ``createHmac('sha256', WEBHOOK_SECRET).update(payload).digest('hex')``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


SEED003_TICKET: dict[str, Any] = {
    "event": "ticket.create",
    "data": {
        "subject": "Support Request",
        "message": "Customer message here",
        "customer_email": "customer@example.com",
        "customer_name": "John Doe",
        "priority": "medium",
        "category": "Technical",
    },
}

SEED002_MESSAGE: dict[str, Any] = {
    "user_id": "external_user_123",
    "username": "John Doe",
    "message": "Hello, I need help with my account",
    "platform": "freshchat",
    "conversation_id": "conv_456",
    "timestamp": "2025-01-19T12:00:00Z",
    "metadata": {"channel": "web", "user_agent": "Mozilla/5.0...", "custom_fields": {}},
}


def wrap_pem(text: str) -> str:
    return "\n".join(textwrap.wrap(text, 64))
