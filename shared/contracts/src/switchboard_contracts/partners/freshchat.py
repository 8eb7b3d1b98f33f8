"""Freshchat (platforms.md §1): RSA-signed conversation webhooks in, replies through the REST API v2 out.

**Inbound.** ``X-Freshchat-Signature`` is the base64 RSA PKCS#1 v1.5 / SHA-256 signature of the raw body, checked
with the public key pasted from Freshchat's settings (§1.3); no timestamp is signed. Both payload generations are read: current ``message_parts[].text.content`` (plus ``image`` / ``file`` /
``video`` parts) and the 2018 ``msg_parts[].properties.text`` with ``part_type``. Only a user's normal message
is a ``message.received``; agent, bot and system messages, private notes, and messages from our own bot agent
(our replies, echoed back) are dropped. Redeliveries (``X-Retry-Count``) dedupe on ``data.message.id``.

**Replies** (§1.4): ``POST {api_url}/conversations/{id}/messages`` as the configured bot agent (``actor_id``), else
as Freshchat's "bot" actor; a handoff then assigns the conversation to ``handoff_group_id`` when one is set.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

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
    obj,
    opt_obj,
    opt_str,
    parse_time,
    text_id,
)
from switchboard_contracts.signing import SignatureError

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


def normalize(payload: Mapping[str, Any], origin: Origin, request: InboundRequest) -> Outcome:
    headers = request.headers
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


# -- verification (§1.3) ----------------------------------------------------------------------------------------

_ARMOR = re.compile(r"-----(?:BEGIN|END) [A-Z0-9 ]+-----")


def _der(text: str) -> bytes:
    body = re.sub(r"\s+|\\n", "", _ARMOR.sub("", text))
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            "not a PEM public key: the text between the BEGIN and END lines must be base64"
        ) from None


def _load_der(der: bytes) -> object:
    try:
        return serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        pass
    pem = b"-----BEGIN RSA PUBLIC KEY-----\n" + base64.encodebytes(der) + b"-----END RSA PUBLIC KEY-----\n"
    try:
        return serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError(
            "not a public key (expected the RSA public key shown in Freshchat's settings)"
        ) from None


def load_public_key(text: str) -> rsa.RSAPublicKey:
    """A Freshchat public key however it was pasted: SPKI or PKCS#1, with or without newlines, and with the
    misleading ``RSA PUBLIC KEY`` label around an SPKI body (platforms.md §1.3). The registry stores it
    normalized, but a key typed straight into the config topic must load too."""
    key = _load_der(_der(text))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("Freshchat signs with RSA; this is not an RSA public key")
    return key


def normalize_public_key(text: str) -> str:
    """A Freshchat public key as pasted, as a standard SubjectPublicKeyInfo PEM, so ingress gets one format
    every library reads; keys under 2048 bits are refused."""
    key = load_public_key(text)
    if key.key_size < 2048:
        raise ValueError(f"the RSA key has {key.key_size} bits; at least 2048 are required")
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def public_key_fingerprint(pem: str) -> dict[str, str]:
    """``public_key_fingerprint``: ``sha256:<hex>`` of the key's DER, to recognise a key without reading the PEM."""
    key = serialization.load_pem_public_key(pem.encode())
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return {"public_key_fingerprint": "sha256:" + hashlib.sha256(der).hexdigest()}


def verify_signature(key: rsa.RSAPublicKey, body: bytes, signature: str | None) -> None:
    if not signature:
        raise SignatureError("missing X-Freshchat-Signature")
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("X-Freshchat-Signature is not base64") from None
    try:
        key.verify(raw, body, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise SignatureError("signature does not match the body") from None


def verify(verification: Mapping[str, Any], request: InboundRequest, *, tolerance_s: int) -> None:
    key = material(verification, "public_key")
    verify_signature(key, request.body, request.headers.get("x-freshchat-signature"))


# -- replies (§1.4) ---------------------------------------------------------------------------------------------


def _base(credentials: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    base = need(credentials, "api_url", "freshchat").rstrip("/")
    token = need(credentials, "api_token", "freshchat")
    return base, {"Authorization": f"Bearer {token}"}


def message(credentials: Mapping[str, Any], conversation_id: str, text: str) -> PartnerRequest:
    base, headers = _base(credentials)
    body: dict[str, Any] = {"message_parts": [{"text": {"content": text}}], "message_type": "normal"}
    actor_id = credentials.get("actor_id")
    # Posting as the configured bot agent; without one, as Freshchat's "bot" actor (botpress does the same).
    body.update({"actor_type": "agent", "actor_id": str(actor_id)} if actor_id else {"actor_type": "bot"})
    return PartnerRequest("reply", "POST", f"{base}/conversations/{conversation_id}/messages", headers, body)


def reply(
    credentials: Mapping[str, Any], conversation_id: str, data: Mapping[str, Any]
) -> list[PartnerRequest]:
    return [message(credentials, conversation_id, text_of(data))]


def handoff(
    credentials: Mapping[str, Any], conversation_id: str, text: str, reason: str
) -> list[PartnerRequest]:
    requests = [message(credentials, conversation_id, text)]
    group = credentials.get("handoff_group_id")
    if group:
        base, headers = _base(credentials)
        body = {"status": "assigned", "assigned_group_id": str(group)}
        requests.append(
            PartnerRequest("handoff", "PUT", f"{base}/conversations/{conversation_id}", headers, body)
        )
    return requests


#: A Freshchat-style key as pasted: one line, PKCS#1 label, SubjectPublicKeyInfo inside (platforms.md §1.3).
EXAMPLE_PUBLIC_KEY = (
    "-----BEGIN RSA PUBLIC KEY----- "
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAo67LJJto/jkcuNjoLOJoSlkNudi6uD8RkOoyTEA2HE041sZ1UYb0sM0+8dTGFVBp"
    "qOVE4rlE9v7lb6x87N7cyvRaiTVtx7Iv8zuuHMuOseGbBqE+1Ncnnecnn8pMZMEGp180l8tEXL4+pxLnCDdioclTrfwb0Ko+Ggedbr1UKJim"
    "27+lguBVSjuyj7zvy7WOU2ljnGDiRjVFHyqnl5ZLkPVBpdfpQ4c4N3qXTkAMSeAOSuOalUsgybMNRcinodgtkgkBFE09uCntGuBVwQyeXUWN"
    "gZCamtkVhvpIui4aMW+YTiN+Jas+UXQqlV0zsYmoilj3iDC3Y2kFrh5j5AVLQQIDAQAB"
    " -----END RSA PUBLIC KEY-----"
)

PARTNER = Partner(
    name="freshchat",
    title="Freshchat",
    verification=(
        CredentialField(
            "public_key",
            "the RSA public key PEM exactly as shown in Freshchat's webhook settings (X-Freshchat-Signature, "
            "RSA-SHA256). Public, so returned in full.",
            max_length=16_384,
            check=normalize_public_key,
            load=load_public_key,
            describe=public_key_fingerprint,
        ),
    ),
    reply=(
        CredentialField(
            "api_url",
            "the API base URL shown next to the token, e.g. https://acme.freshchat.com/v2",
            required=True,
            url=True,
            max_length=2048,
        ),
        CredentialField("api_token", "the API token.", secret=True, required=True, max_length=4096),
        CredentialField("actor_id", "the agent id replies are sent as", own_id=True, max_length=200),
    ),
    inbound=Inbound(verify=verify, normalize=normalize),
    replies=Replies(reply=reply, handoff=handoff),
    examples=(
        {
            "name": "Freshchat (native webhooks, replies through the API)",
            "provider": "freshchat",
            "verification": {"public_key": EXAMPLE_PUBLIC_KEY},
            "reply": {"api_url": "https://acme.freshchat.com/v2", "api_token": "eyJraWQiOiJjdXN0b20…"},
        },
    ),
)
