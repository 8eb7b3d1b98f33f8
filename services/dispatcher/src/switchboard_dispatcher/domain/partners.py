"""Partner reply APIs: the HTTP requests that put a reply or a handoff into a partner's conversation.

Each partner's module (``switchboard_contracts.partners``) builds its own requests; this module picks the builder
for an event. ``requests_for(provider, credentials, event)`` turns a ``message.replied`` or ``handoff.requested``
CloudEvent and an integration's decrypted ``reply`` credentials into ``PartnerRequest`` values. The delivery
engine sends them in order with its SSRF-checked client, one attempt record per request, and resumes a retried
delivery at the first request that failed (``DeliveryTask.step``), so a message that went through is never
posted twice.

Optional credential fields beyond the registry's, for handoffs and for tests: ``base_url`` (Zendesk, Intercom:
overrides the public API host), ``handoff_group_id`` (Freshchat, Zendesk), ``handoff_assignee_id`` (Zendesk,
Intercom; Intercom's may be a team id with ``handoff_assignee_type: "team"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from switchboard_contracts import partners
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import EventType
from switchboard_contracts.partners.base import DEFAULT_HANDOFF_TEXT, MissingCredential, PartnerRequest

__all__ = ["USER_AGENT", "MissingCredential", "PartnerRequest", "has_reply_api", "requests_for"]

USER_AGENT = "Switchboard-Replies/1.0"


def has_reply_api(provider: object) -> bool:
    """Whether the partner named ``provider`` is answered through its own API (not only by webhook)."""
    partner = partners.get(provider) if isinstance(provider, str) else None
    return partner is not None and partner.replies is not None


def requests_for(provider: str, credentials: Mapping[str, Any], event: CloudEvent) -> list[PartnerRequest]:
    """The partner API calls that deliver ``event`` (``message.replied`` or ``handoff.requested``); an empty
    list for other events or providers without a reply API (generic partners get the outgoing webhook)."""
    partner = partners.get(provider)
    if partner is None or partner.replies is None or not isinstance(event.data, Mapping):
        return []
    data = event.data
    conversation_id = str(data.get("conversation_id") or event.subject or "")
    if not conversation_id:
        return []
    if event.type == EventType.MESSAGE_REPLIED:
        return partner.replies.reply(credentials, conversation_id, data)
    if event.type == EventType.HANDOFF_REQUESTED:
        text = str(data.get("message") or DEFAULT_HANDOFF_TEXT)
        return partner.replies.handoff(
            credentials, conversation_id, text, str(data.get("reason") or "requested")
        )
    return []
