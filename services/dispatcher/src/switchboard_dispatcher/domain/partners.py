"""Partner reply APIs (platforms.md §1.4, §2.5, §3.3, §4.4): the HTTP requests that put a reply or a handoff
into a Freshchat, Zendesk, Intercom or Chatwoot conversation.

The builders are pure: ``requests_for(provider, credentials, event)`` turns a ``message.replied`` or
``handoff.requested`` CloudEvent and an integration's decrypted ``reply`` credentials (the registry's
``REPLY_FIELDS``) into ``PartnerRequest`` values. The delivery engine sends them in order with its SSRF-checked
client, one attempt record per request, and resumes a retried delivery at the first request that failed
(``DeliveryTask.step``), so a message that went through is never posted twice.

Optional credential fields beyond the registry's, for handoffs and for tests: ``base_url`` (Zendesk, Intercom:
overrides the public API host), ``handoff_group_id`` (Freshchat, Zendesk), ``handoff_assignee_id`` (Zendesk,
Intercom; Intercom's may be a team id with ``handoff_assignee_type: "team"``).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from switchboard_shared.cloudevents import CloudEvent
from switchboard_shared.events import EventType

PartnerProvider = Literal["freshchat", "zendesk", "intercom", "chatwoot"]
PARTNER_PROVIDERS: tuple[PartnerProvider, ...] = ("freshchat", "zendesk", "intercom", "chatwoot")
INTERCOM_VERSION = "2.11"
USER_AGENT = "Switchboard-Replies/1.0"
DEFAULT_HANDOFF_TEXT = "A human agent will join this conversation shortly."


class MissingCredential(ValueError):
    """The integration lacks a field this provider's API needs (the message names it, never a value)."""


@dataclass(frozen=True)
class PartnerRequest:
    purpose: Literal["reply", "handoff"]
    method: Literal["POST", "PUT"]
    url: str
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)


def _need(credentials: Mapping[str, Any], name: str, provider: str) -> str:
    value = credentials.get(name)
    if value is None or value == "":
        raise MissingCredential(f"{provider} integration needs reply.{name}")
    return str(value)


def _int_or_str(value: str) -> int | str:
    # ASCII digits only: str.isdigit accepts "²", which int() refuses.
    return int(value) if value.isascii() and value.isdigit() else value


def text_of(data: Mapping[str, Any]) -> str:
    """A reply as plain text for chat APIs that show text only: article and card links spelled out."""
    lines = [str(data.get("text") or "")]
    attributes = data.get("content_attributes") or {}
    content_type = data.get("content_type", "text")
    if content_type == "article":
        for item in attributes.get("items", []):
            lines.append(f"- {item.get('title')}" + (f": {item['link']}" if item.get("link") else ""))
    elif content_type == "card":
        for card in (attributes.get("cards") or {}).get("cards", []):
            price = f" ({card['price']})" if card.get("price") else ""
            lines.append(f"- {card.get('title')}{price}" + (f": {card['link']}" if card.get("link") else ""))
    elif content_type == "form":
        form = attributes.get("form") or {}
        if form.get("submitUrl"):
            lines.append(f"{form.get('title') or 'Contact us'}: {form['submitUrl']}")
    return "\n".join(line for line in lines if line)


# -- Freshchat (§1.4) -------------------------------------------------------------------------------------------


def _freshchat_base(credentials: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    base = _need(credentials, "api_url", "freshchat").rstrip("/")
    token = _need(credentials, "api_token", "freshchat")
    return base, {"Authorization": f"Bearer {token}"}


def freshchat_message(credentials: Mapping[str, Any], conversation_id: str, text: str) -> PartnerRequest:
    base, headers = _freshchat_base(credentials)
    body: dict[str, Any] = {"message_parts": [{"text": {"content": text}}], "message_type": "normal"}
    actor_id = credentials.get("actor_id")
    # Posting as the configured bot agent; without one, as Freshchat's "bot" actor (botpress does the same).
    body.update({"actor_type": "agent", "actor_id": str(actor_id)} if actor_id else {"actor_type": "bot"})
    return PartnerRequest("reply", "POST", f"{base}/conversations/{conversation_id}/messages", headers, body)


def freshchat_handoff(
    credentials: Mapping[str, Any], conversation_id: str, text: str
) -> list[PartnerRequest]:
    requests = [freshchat_message(credentials, conversation_id, text)]
    group = credentials.get("handoff_group_id")
    if group:
        base, headers = _freshchat_base(credentials)
        body = {"status": "assigned", "assigned_group_id": str(group)}
        requests.append(
            PartnerRequest("handoff", "PUT", f"{base}/conversations/{conversation_id}", headers, body)
        )
    return requests


# -- Zendesk (§2.5) ---------------------------------------------------------------------------------------------


def _zendesk(credentials: Mapping[str, Any], ticket_id: str) -> tuple[str, dict[str, str]]:
    base = credentials.get("base_url") or f"https://{_need(credentials, 'subdomain', 'zendesk')}.zendesk.com"
    email = _need(credentials, "email", "zendesk")
    token = _need(credentials, "api_token", "zendesk")
    basic = base64.b64encode(f"{email}/token:{token}".encode()).decode()
    return f"{str(base).rstrip('/')}/api/v2/tickets/{ticket_id}.json", {"Authorization": f"Basic {basic}"}


def zendesk_comment(credentials: Mapping[str, Any], ticket_id: str, text: str) -> PartnerRequest:
    url, headers = _zendesk(credentials, ticket_id)
    comment: dict[str, Any] = {"body": text, "public": True}
    if credentials.get("author_id"):
        comment["author_id"] = _int_or_str(str(credentials["author_id"]))
    # "pending": the ticket waits for the requester's answer (Zendesk's own convention after an agent reply).
    body = {"ticket": {"comment": comment, "status": "pending"}}
    return PartnerRequest("reply", "PUT", url, headers, body)


def zendesk_handoff(
    credentials: Mapping[str, Any], ticket_id: str, text: str, reason: str
) -> list[PartnerRequest]:
    url, headers = _zendesk(credentials, ticket_id)
    public = zendesk_comment(credentials, ticket_id, text)
    ticket: dict[str, Any] = {
        "comment": {"body": f"Handed over to a human by Switchboard ({reason}).", "public": False},
        "status": "open",
        # additional_tags adds without replacing the ticket's tags (a plain "tags" would overwrite them).
        "additional_tags": ["switchboard_handoff"],
    }
    if credentials.get("handoff_group_id"):
        ticket["group_id"] = _int_or_str(str(credentials["handoff_group_id"]))
    if credentials.get("handoff_assignee_id"):
        ticket["assignee_id"] = _int_or_str(str(credentials["handoff_assignee_id"]))
    return [public, PartnerRequest("handoff", "PUT", url, headers, {"ticket": ticket})]


# -- Intercom (§3.3) --------------------------------------------------------------------------------------------


def _intercom(credentials: Mapping[str, Any]) -> tuple[str, dict[str, str], str]:
    base = str(credentials.get("base_url") or "https://api.intercom.io").rstrip("/")
    token = _need(credentials, "access_token", "intercom")
    admin_id = _need(credentials, "admin_id", "intercom")
    headers = {"Authorization": f"Bearer {token}", "Intercom-Version": INTERCOM_VERSION}
    return base, headers, admin_id


def intercom_reply(credentials: Mapping[str, Any], conversation_id: str, text: str) -> PartnerRequest:
    base, headers, admin_id = _intercom(credentials)
    body = {"message_type": "comment", "type": "admin", "admin_id": admin_id, "body": text}
    return PartnerRequest("reply", "POST", f"{base}/conversations/{conversation_id}/reply", headers, body)


def intercom_handoff(credentials: Mapping[str, Any], conversation_id: str, text: str) -> list[PartnerRequest]:
    requests = [intercom_reply(credentials, conversation_id, text)]
    assignee = credentials.get("handoff_assignee_id")
    if assignee:
        base, headers, admin_id = _intercom(credentials)
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


# -- Chatwoot (§4.4) --------------------------------------------------------------------------------------------


def _chatwoot(credentials: Mapping[str, Any], conversation_id: str) -> tuple[str, dict[str, str]]:
    base = _need(credentials, "base_url", "chatwoot").rstrip("/")
    account = _need(credentials, "account_id", "chatwoot")
    token = _need(credentials, "api_access_token", "chatwoot")
    return f"{base}/api/v1/accounts/{account}/conversations/{conversation_id}", {"api_access_token": token}


def chatwoot_message(
    credentials: Mapping[str, Any], conversation_id: str, data: Mapping[str, Any]
) -> PartnerRequest:
    url, headers = _chatwoot(credentials, conversation_id)
    body: dict[str, Any] = {"content": text_of(data), "message_type": "outgoing", "private": False}
    if data.get("content_type") == "article":
        # Chatwoot's widget renders seed 004's article shape natively (content_attributes.items).
        body.update({"content": str(data.get("text") or ""), "content_type": "article"})
        body["content_attributes"] = {"items": (data.get("content_attributes") or {}).get("items", [])}
    else:
        body["content_type"] = "text"
    return PartnerRequest("reply", "POST", f"{url}/messages", headers, body)


def chatwoot_handoff(credentials: Mapping[str, Any], conversation_id: str, text: str) -> list[PartnerRequest]:
    url, headers = _chatwoot(credentials, conversation_id)
    # An agent bot hands over by opening the conversation (pending → open), platforms.md §4.1.
    return [
        chatwoot_message(credentials, conversation_id, {"text": text}),
        PartnerRequest("handoff", "POST", f"{url}/toggle_status", headers, {"status": "open"}),
    ]


# -- dispatch ---------------------------------------------------------------------------------------------------


def requests_for(provider: str, credentials: Mapping[str, Any], event: CloudEvent) -> list[PartnerRequest]:
    """The partner API calls that deliver ``event`` (``message.replied`` or ``handoff.requested``); an empty
    list for other events or providers without a reply API (generic partners get the outgoing webhook)."""
    if provider not in PARTNER_PROVIDERS or not isinstance(event.data, Mapping):
        return []
    data = event.data
    conversation_id = str(data.get("conversation_id") or event.subject or "")
    if not conversation_id:
        return []
    if event.type == EventType.MESSAGE_REPLIED:
        text = text_of(data)
        if provider == "freshchat":
            return [freshchat_message(credentials, conversation_id, text)]
        if provider == "zendesk":
            return [zendesk_comment(credentials, conversation_id, text)]
        if provider == "intercom":
            return [intercom_reply(credentials, conversation_id, text)]
        return [chatwoot_message(credentials, conversation_id, data)]
    if event.type == EventType.HANDOFF_REQUESTED:
        text = str(data.get("message") or DEFAULT_HANDOFF_TEXT)
        if provider == "freshchat":
            return freshchat_handoff(credentials, conversation_id, text)
        if provider == "zendesk":
            return zendesk_handoff(credentials, conversation_id, text, str(data.get("reason") or "requested"))
        if provider == "intercom":
            return intercom_handoff(credentials, conversation_id, text)
        return chatwoot_handoff(credentials, conversation_id, text)
    return []
