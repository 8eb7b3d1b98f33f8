"""The HTTP request each kind of target receives: body bytes (signed exactly as sent) and headers.

- webhook (seed 000): ``{event, timestamp, data}``; ``X-Chatbots-Signature: sha256=<hex>``, ``X-Chatbots-Event``,
  ``X-Chatbots-Delivery``; seed 003's ``X-Webhook-Signature: <hex>`` and ``X-Webhook-Event``; Standard Webhooks'
  ``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature`` (one signature per valid secret).
- callback (seed 001): ``{conversation_id, data: {id, content, content_type, type, channel, status, …}, timestamp}``.
- integration (seed 002): the outgoing reply payload ``{user_id, conversation_id, message, response_type, …}``
  and the live-chat payload ``{user_id, conversation_id, platform, message, sender, sender_type, timestamp,
  session_id}``, with ``Authorization: Bearer <auth_token>`` and the integration's custom headers.
- slack (seed 003): an incoming-webhook message whose attachment colour follows the event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic_core import to_json

from switchboard_contracts import signing
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.timestamps import utc_z
from switchboard_dispatcher.domain.targets import Target

USER_AGENT = "Switchboard-Webhooks/1.0"


def _iso(value: datetime) -> str:
    return utc_z(value, "seconds")


def _iso_ms(value: datetime) -> str:
    return utc_z(value, "milliseconds")


def _dumps(payload: Any) -> bytes:
    # Compact UTF-8 JSON, the bytes json.dumps(separators=(",", ":"), ensure_ascii=False) writes, ~5x faster.
    return to_json(payload, fallback=str)


def _data(event: CloudEvent) -> dict[str, Any]:
    return event.data if isinstance(event.data, dict) else {"value": event.data}


# -- seed 000 ------------------------------------------------------------------------------------------------------


def webhook_body(event: CloudEvent) -> dict[str, Any]:
    return {"event": event.type, "timestamp": _iso(event.time), "data": event.data}


# -- seed 001 ------------------------------------------------------------------------------------------------------

_TYPES = {"user": "USER_INPUT", "bot": "BOT", "agent": "BOT", "system": "SYSTEM"}
_MEDIA = {"image": "IMAGE", "video": "VIDEO", "audio": "AUDIO"}


def callback_body(event: CloudEvent, conversation_id: str, channel: str | None) -> dict[str, Any]:
    """seed 001's payload from either Switchboard's canonical messages (``message.received`` /
    ``message.replied``) or a seed 000 style ``message.*`` event (``{id, sender, content: {type, text}}``)."""
    data = _data(event)
    author = data.get("author") or data.get("sender") or {}
    content = data.get("content")
    text = data.get("text")
    content_type = "TEXT"
    filename = None
    if isinstance(content, dict):
        text = content.get("text", text)
        content_type = _MEDIA.get(str(content.get("type", "")).lower(), "TEXT")
    elif isinstance(content, str):
        text = content
    attachments = data.get("attachments") or []
    if attachments and isinstance(attachments[0], dict):
        media = str(attachments[0].get("content_type") or "")
        content_type = _MEDIA.get(media.split("/")[0], "DOCUMENT")
        filename = attachments[0].get("filename")
    created = data.get("sent_at") or data.get("createdAt") or data.get("created_at") or _iso(event.time)
    author_id = str(author.get("id") or author.get("name") or "unknown")
    message: dict[str, Any] = {
        "id": str(data.get("message_id") or data.get("id") or event.id),
        "content": text if text is not None else "",
        "content_type": content_type,
        "type": _TYPES.get(str(author.get("type", "user")), "USER_INPUT"),
        "channel": (channel or data.get("channel") or "API").upper(),
        "status": "PROCESSED" if event.type == "message.replied" else "RECEIVED",
        "metadata": data.get("metadata") or {},
        "created_by": author_id,
        "updated_by": author_id,
        "created_at": created,
        "updated_at": data.get("updatedAt") or data.get("updated_at") or created,
    }
    if filename:
        message["filename"] = filename
    return {"conversation_id": conversation_id, "data": message, "timestamp": _iso_ms(event.time)}


# -- seed 002 ------------------------------------------------------------------------------------------------------


def integration_body(event: CloudEvent, target: Target) -> dict[str, Any]:
    data = _data(event)
    platform = target.provider or data.get("provider") or "generic"
    if event.type == "handoff.requested":
        return {
            "user_id": data.get("user_id"),
            "conversation_id": data.get("conversation_id"),
            "platform": platform,
            "message": data.get("message") or "A human agent will join this conversation shortly.",
            "sender": data.get("sender") or "Switchboard",
            "sender_type": "system",
            "timestamp": _iso(event.time),
            "session_id": data.get("session_id"),
        }
    author = data.get("author") or {}
    body: dict[str, Any] = {
        "user_id": data.get("user_id"),
        "conversation_id": data.get("conversation_id"),
        "message": data.get("text"),
        "response_type": data.get("content_type", "text"),
        "platform": platform,
        "timestamp": _iso(event.time),
    }
    if author.get("type") == "agent":
        body.update(
            {"sender": author.get("name"), "sender_type": "agent", "session_id": data.get("session_id")}
        )
    if data.get("content_attributes"):
        body["content_attributes"] = data["content_attributes"]
    return body


# -- seed 003: Slack ------------------------------------------------------------------------------------------------

SLACK_COLOURS = {
    "ticket.created": "#36a64f",
    "ticket.updated": "#439fe0",
    "ticket.resolved": "#2eb886",
    "ticket.escalated": "#e01e5a",
    "ai.response.generated": "#439fe0",
    "ai.response.requires_review": "#ecb22e",
    "ai.response.approved": "#2eb886",
    "ai.response.rejected": "#e01e5a",
    "handoff.requested": "#ecb22e",
    "feedback.received": "#9b59b6",
}


def slack_body(event: CloudEvent) -> dict[str, Any]:
    data = _data(event)
    raw_ticket = data.get("ticket")
    ticket: dict[str, Any] = raw_ticket if isinstance(raw_ticket, dict) else {}
    title = ticket.get("subject") or data.get("text") or data.get("message") or event.type
    fields = [{"title": "Event", "value": event.type, "short": True}]
    for name in ("ticket_number", "status", "priority", "customer_email"):
        if ticket.get(name):
            fields.append(
                {"title": name.replace("_", " ").title(), "value": str(ticket[name]), "short": True}
            )
    return {
        "text": f"*{event.type}*",
        "attachments": [
            {
                "color": SLACK_COLOURS.get(event.type, "#cccccc"),
                "title": str(title)[:300],
                "fields": fields,
                "footer": "Switchboard",
                "ts": int(event.time.timestamp()),
            }
        ],
    }


# -- the request ----------------------------------------------------------------------------------------------------


def build_request(
    target: Target, event: CloudEvent, delivery_id: str, attempt: int, now: datetime | None = None
) -> tuple[bytes, dict[str, str]]:
    if target.kind == "webhook":
        payload = webhook_body(event)
    elif target.kind == "callback":
        payload = callback_body(
            event, target.context.get("conversation_id", event.subject or ""), target.context.get("channel")
        )
    elif target.kind == "slack":
        payload = slack_body(event)
    else:
        payload = integration_body(event, target)
    body = _dumps(payload)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    headers.update(dict(target.headers))
    if target.secrets:
        timestamp = int((now or datetime.now(UTC)).timestamp())
        headers.update(signing.standard_headers(target.secrets, delivery_id, body, timestamp))
        # seed 003's X-Webhook-Signature is the hex HMAC of the body; seed 000's X-Chatbots-Signature is the same
        # HMAC with a "sha256=" prefix (signing.chatbots_signature), so it is computed once.
        hex_signature = signing.hex_signature(target.secrets[0], body)
        headers[signing.WEBHOOK_SIGNATURE_HEADER] = hex_signature
        if target.kind == "webhook":
            headers[signing.CHATBOTS_SIGNATURE_HEADER] = "sha256=" + hex_signature
    else:
        headers[signing.STANDARD_ID_HEADER] = delivery_id
    if target.kind in ("webhook", "callback"):
        headers[signing.CHATBOTS_EVENT_HEADER] = event.type
        headers[signing.CHATBOTS_DELIVERY_HEADER] = delivery_id
        headers[signing.WEBHOOK_EVENT_HEADER] = event.type
    headers["X-Switchboard-Attempt"] = str(attempt)
    return body, headers
