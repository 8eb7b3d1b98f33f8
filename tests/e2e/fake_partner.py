"""A partner that exists only in tests: everything a partner module declares, in one module.

``SB_EXTRA_PARTNERS='["tests.e2e.fake_partner"]'`` registers it in every service of a development stack, which is
how ``test_a_partner_added_by_one_module`` proves that a partner needs nothing outside its module. The platform:
it signs webhooks with ``X-Fake-Signature: sha256=<hex HMAC-SHA256(signing_key, body)>``, posts
``{"id", "conversation", "text", "from": {"id", "name"}}``, and takes replies at
``POST {api_url}/conversations/{id}/messages`` with ``X-Api-Key``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from switchboard_contracts.events import Author, MessageReceived
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
    Origin,
    Outcome,
    accept_message,
    obj,
    opt_str,
    parse_time,
    text_id,
)
from switchboard_contracts.signing import SignatureError, constant_time_equal

NAME = "fakechat"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(verification: Mapping[str, Any], request: InboundRequest, *, tolerance_s: int) -> None:
    secret = material(verification, "signing_key")
    signature = request.headers.get("x-fake-signature")
    if not signature:
        raise SignatureError("missing X-Fake-Signature")
    if not constant_time_equal(signature.strip(), sign(secret, request.body)):
        raise SignatureError("signature does not match the body")


def normalize(payload: Mapping[str, Any], origin: Origin, request: InboundRequest) -> Outcome:
    message_id = text_id(payload.get("id"), "id")
    author = obj(payload.get("from"), "from")
    if origin.is_own(author.get("id")):
        return Dropped("own_reply", "message by our bot", {"message_id": message_id})
    text = str(payload.get("text") or "").strip()
    if not text:
        return Dropped("empty_message", "empty message", {"message_id": message_id})
    message = MessageReceived(
        tenant_id=origin.tenant_id,
        integration_id=origin.integration_id,
        provider=NAME,
        conversation_id=text_id(payload.get("conversation"), "conversation"),
        message_id=message_id,
        author=Author(id=opt_str(author.get("id")), name=opt_str(author.get("name")), type="user"),
        text=text,
        sent_at=parse_time(payload.get("sent_at")),
    )
    return accept_message(message, origin, f"message:{message_id}")


def _post(credentials: Mapping[str, Any], conversation_id: str, text: str) -> PartnerRequest:
    base = need(credentials, "api_url", NAME).rstrip("/")
    headers = {"X-Api-Key": need(credentials, "api_key", NAME)}
    body = {"text": text, "as": str(credentials.get("bot_id") or "bot")}
    return PartnerRequest("reply", "POST", f"{base}/conversations/{conversation_id}/messages", headers, body)


def reply(
    credentials: Mapping[str, Any], conversation_id: str, data: Mapping[str, Any]
) -> list[PartnerRequest]:
    return [_post(credentials, conversation_id, text_of(data))]


def handoff(
    credentials: Mapping[str, Any], conversation_id: str, text: str, reason: str
) -> list[PartnerRequest]:
    return [_post(credentials, conversation_id, text)]


PARTNER = Partner(
    name=NAME,
    title="Fakechat",
    verification=(
        CredentialField("signing_key", "the key webhooks are signed with.", secret=True, max_length=200),
    ),
    reply=(
        # Declared exactly like Freshchat's api_url: one field of the API model, described for both partners.
        CredentialField(
            "api_url",
            "where the Fakechat API answers",
            required=True,
            url=True,
            max_length=2048,
        ),
        CredentialField("api_key", "the API key.", secret=True, required=True, max_length=200),
        CredentialField("bot_id", "the bot replies are posted as", own_id=True, max_length=200),
    ),
    inbound=Inbound(verify=verify, normalize=normalize),
    replies=Replies(reply=reply, handoff=handoff),
)
