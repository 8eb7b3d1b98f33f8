"""Zendesk Support (platforms.md §2): signed webhooks in, ticket comments through the Tickets API out.

**Inbound.** ``X-Zendesk-Webhook-Signature`` = base64 HMAC-SHA256(secret, timestamp + body), the timestamp being
the ``X-Zendesk-Webhook-Signature-Timestamp`` header byte for byte (§2.4); we add a replay window. A Zendesk webhook is connected one of two ways, and both arrive here:

- **Event subscriptions** (``"type": "zen:event-type:…"``, fixed schema): ``ticket.comment_added`` from an end
  user's public comment is a ``message.received`` (the ticket is the conversation); ``ticket.created`` is a
  ``ticket.created``; status changes are ``ticket.resolved`` (solved / closed) or ``ticket.updated``. Agent
  comments (``is_staff``), private notes (``is_public: false``) and comments by our own bot agent are dropped.
  Redeliveries dedupe on the comment id (messages) or the event ``id``.
- **Trigger-connected** webhooks: the body is whatever JSON template the admin wrote. We read the template
  documented in ``services/ingress/README.md`` (flat keys such as ``ticket_id``, ``comment``,
  ``current_user_email``), the same with people as objects, as Zendesk's JSON placeholders render them
  (``requester: {id, email, name}``, ``current_user: {id, email}``, also under ``ticket``), a comment object
  (``body``, ``author_id``, ``public``) and seed 002's ``ticket.comments`` list; every value may arrive as a
  string. Loop prevention without ``is_staff``: a comment by our bot agent (``reply.email`` /
  ``reply.author_id``) or by anyone but the requester is dropped, and so — failing closed — is a comment whose
  author the body does not establish as the requester (same id or same email): ``unknown_author``. Add the
  trigger conditions "Current user is (end-user)" and "Comment is public" as well. Redeliveries dedupe on
  ``x-zendesk-webhook-invocation-id``.

**Replies** (§2.5): ``PUT /api/v2/tickets/{id}.json`` with a public comment (as ``author_id`` when set) and status
``pending``; a handoff adds a private note, reopens the ticket, tags it and assigns ``handoff_group_id`` /
``handoff_assignee_id`` when set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from switchboard_contracts.events import Author, EventType, MessageReceived, Ticket, TicketCreated
from switchboard_contracts.partners.base import (
    CredentialField,
    Inbound,
    InboundRequest,
    Partner,
    PartnerRequest,
    Replies,
    basic_auth,
    check_window,
    int_or_str,
    material,
    need,
    text_of,
)
from switchboard_contracts.partners.inbound import (
    Accepted,
    Dropped,
    InvalidPayload,
    Origin,
    Outcome,
    accept_message,
    build_event,
    obj,
    opt_obj,
    opt_str,
    parse_time,
    present,
    text_id,
)
from switchboard_contracts.signing import SignatureError, constant_time_equal

_EVENT_PREFIX = "zen:event-type:"
_RESOLVED = frozenset({"solved", "closed"})
_COMMENT_PATHS = (
    "comment",
    "latest_public_comment",
    "latest_comment",
    "ticket.latest_public_comment",
    "ticket.latest_comment",
    "message",
)


def normalize(payload: Mapping[str, Any], origin: Origin, request: InboundRequest) -> Outcome:
    kind = payload.get("type")
    if isinstance(kind, str) and kind.startswith(_EVENT_PREFIX):
        return _subscription_event(payload, kind.removeprefix(_EVENT_PREFIX), origin)
    return _trigger(payload, origin, request.headers, request.body)


# -- event subscriptions -----------------------------------------------------------------------------------------


def _subscription_event(payload: Mapping[str, Any], kind: str, origin: Origin) -> Outcome:
    envelope_id = text_id(payload.get("id"), "id")
    detail = obj(payload.get("detail"), "detail")
    ticket_id = text_id(detail.get("id"), "detail.id")
    at = parse_time(payload.get("time"))
    if kind == "ticket.comment_added":
        return _comment(payload, envelope_id, detail, ticket_id, origin)
    if not kind.startswith("ticket."):
        return Dropped("unsupported_event", f"event type {kind!r} is not handled", {"event_id": envelope_id})
    event_type = EventType.TICKET_UPDATED
    if kind == "ticket.created":
        event_type = EventType.TICKET_CREATED
    elif kind == "ticket.status_changed" and str(detail.get("status", "")).lower() in _RESOLVED:
        event_type = EventType.TICKET_RESOLVED
    ticket = _ticket(detail, ticket_id)
    key = f"event:{envelope_id}"
    event = build_event(
        event_type,
        origin=origin,
        key=key,
        aggregate_id=ticket_id,
        data=TicketCreated(ticket=ticket),
        time=at,
    )
    return Accepted((event,), key)


def _ticket(detail: Mapping[str, Any], ticket_id: str) -> Ticket:
    return Ticket(
        id=ticket_id,
        subject=str(detail.get("subject") or "(no subject)"),
        message=opt_str(detail.get("description")),
        status=str(detail.get("status") or "new").lower(),
        priority=(opt_str(detail.get("priority")) or "").lower() or None,
        category=(opt_str(detail.get("type")) or "").lower() or None,
    )


def _comment(
    payload: Mapping[str, Any], envelope_id: str, detail: Mapping[str, Any], ticket_id: str, origin: Origin
) -> Outcome:
    comment = obj(opt_obj(payload.get("event")).get("comment"), "event.comment")
    comment_id = opt_str(comment.get("id"))
    author = opt_obj(comment.get("author"))
    where = {"event_id": envelope_id, "comment_id": comment_id}
    if origin.is_own(author.get("id")):
        return Dropped("own_reply", "comment by the integration's reply agent", where)
    if comment.get("is_public") is False:
        return Dropped("private_note", "private comment", where)
    if author.get("is_staff") is True:
        return Dropped("agent_message", "comment by a staff member", where)
    if author.get("is_staff") is not False or opt_str(author.get("id")) is None:
        # Fail closed: only an author Zendesk calls non-staff, by id, is a customer.
        return Dropped("unknown_author", "the comment's author has no id or no is_staff", where)
    text = str(comment.get("body") or "").strip()
    if not text:
        return Dropped("empty_message", "empty comment", where)
    message_id = comment_id or envelope_id
    received = MessageReceived(
        tenant_id=origin.tenant_id,
        integration_id=origin.integration_id,
        provider="zendesk",
        conversation_id=ticket_id,
        message_id=message_id,
        author=Author(id=opt_str(author.get("id")), name=opt_str(author.get("name")), type="user"),
        text=text,
        sent_at=parse_time(payload.get("time")),
        channel=opt_str(opt_obj(detail.get("via")).get("channel")),
        metadata=present(
            ("account_id", payload.get("account_id")),
            ("subject", detail.get("subject")),
            ("status", detail.get("status")),
            ("priority", detail.get("priority")),
            ("requester_id", detail.get("requester_id")),
        ),
        raw_ref=envelope_id,
    )
    # The comment id, not the envelope id: one comment is one message however many times it is announced.
    return accept_message(received, origin, f"comment:{message_id}")


# -- trigger-connected webhooks ----------------------------------------------------------------------------------


def _field(payload: Mapping[str, Any], *paths: str) -> Any:
    """The first present value among dotted ``paths`` (flat ``ticket_id`` or nested ``ticket.id``)."""
    for path in paths:
        value: Any = payload
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is not None and value != "":
            return value
    return None


@dataclass(frozen=True)
class _Person:
    id: str | None
    email: str | None
    name: str | None = None


def _person(payload: Mapping[str, Any], *prefixes: str) -> _Person:
    """A person a trigger body names, whichever way the template writes it: flat (``requester_id``), as an
    object (``requester.id``, what Zendesk's JSON placeholders render) or under ``ticket``."""
    flat = [prefix.replace(".", "_") for prefix in prefixes]
    return _Person(
        id=opt_str(_field(payload, *(f"{p}_id" for p in flat), *(f"{p}.id" for p in prefixes))),
        email=opt_str(_field(payload, *(f"{p}_email" for p in flat), *(f"{p}.email" for p in prefixes))),
        name=opt_str(_field(payload, *(f"{p}_name" for p in flat), *(f"{p}.name" for p in prefixes))),
    )


def _latest_comment(payload: Mapping[str, Any]) -> tuple[str, _Person, Any]:
    """The comment's text, author and visibility. A comment may be the rendered text, an object (``body``,
    ``author_id`` / ``author``, ``public`` / ``is_public``) or the last of ``ticket.comments`` (seed 002's bridge)."""
    comment = _field(payload, *_COMMENT_PATHS)
    if comment is None:
        comments = _field(payload, "ticket.comments", "comments")
        comment = comments[-1] if isinstance(comments, list) and comments else None
    if not isinstance(comment, Mapping):
        text = comment if isinstance(comment, str | int | float) and not isinstance(comment, bool) else ""
        return str(text).strip(), _Person(None, None), None
    author = _person(comment, "author")
    visibility = _field(comment, "public", "is_public")
    return (
        str(opt_str(_field(comment, "body", "plain_body", "value", "text")) or "").strip(),
        author,
        visibility,
    )


def _differ(one: str | None, other: str | None) -> bool:
    return one is not None and other is not None and one.lower() != other.lower()


def _trigger(payload: Mapping[str, Any], origin: Origin, headers: Mapping[str, str], body: bytes) -> Outcome:
    ticket_id = opt_str(_field(payload, "ticket_id", "ticket.id", "id"))
    if ticket_id is None:
        raise InvalidPayload(
            "ticket_id",
            'a trigger body needs ticket_id ("{{ticket.id}}"); see the ingress README\'s template',
        )
    invocation = headers.get("x-zendesk-webhook-invocation-id")
    # A retry of one invocation carries the same invocation id; without one, the same body is the same delivery.
    delivery = invocation or hashlib.sha256(body).hexdigest()[:32]
    where = {"ticket_id": ticket_id, "invocation_id": invocation}
    text, comment_author, visibility = _latest_comment(payload)
    current = _person(payload, "current_user", "ticket.current_user")
    # Who wrote the comment: the acting user, else the comment's own author.
    author = _Person(current.id or comment_author.id, current.email or comment_author.email)
    if origin.is_own(author.id, author.email) or origin.is_own(comment_author.id, comment_author.email):
        return Dropped("own_reply", "comment by the integration's reply agent", where)
    public = _field(payload, "is_public", "comment_is_public")
    if str(visibility if public is None else public).lower() == "false":
        return Dropped("private_note", "private comment", where)
    requester = _person(payload, "requester", "ticket.requester")
    if requester.id is None:
        requester = _Person(opt_str(_field(payload, "ticket.requester_id")), requester.email, requester.name)
    if _differ(author.id, requester.id) or _differ(author.email, requester.email):
        return Dropped("agent_message", "comment by someone other than the requester", where)
    # Fail closed: a comment is the customer's only when the body shows that its author is the requester.
    # A template that names neither (or names them by different keys, id against email) could be an agent's.
    same_id = author.id is not None and requester.id is not None
    same_email = author.email is not None and requester.email is not None
    if not (same_id or same_email):
        return Dropped(
            "unknown_author",
            "the trigger body does not show who commented (current_user and requester ids or emails); "
            "see the ingress README's template",
            where,
        )
    if not text:
        return Dropped("empty_message", "the trigger body has no comment", where)
    message_id = f"{ticket_id}:{delivery}"
    received = MessageReceived(
        tenant_id=origin.tenant_id,
        integration_id=origin.integration_id,
        provider="zendesk",
        conversation_id=ticket_id,
        message_id=message_id,
        author=Author(id=requester.id, name=requester.name, email=requester.email, type="user"),
        text=text,
        sent_at=parse_time(_field(payload, "updated_at", "ticket.updated_at_with_timestamp")),
        channel=opt_str(_field(payload, "via", "ticket.via")),
        metadata=present(
            ("account_id", headers.get("x-zendesk-account-id")),
            ("webhook_id", headers.get("x-zendesk-webhook-id")),
            ("subject", _field(payload, "subject", "ticket.title", "ticket.subject")),
            ("status", _field(payload, "status", "ticket.status")),
            ("priority", _field(payload, "priority", "ticket.priority")),
        ),
        raw_ref=invocation,
    )
    return accept_message(received, origin, f"trigger:{message_id}")


# -- verification (§2.4) ----------------------------------------------------------------------------------------


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
        raise SignatureError("missing X-Zendesk-Webhook-Signature or X-Zendesk-Webhook-Signature-Timestamp")
    # The secret is used as its literal UTF-8 string even though it looks like base64 (platforms.md §2.4).
    expected = base64.b64encode(
        hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    ).decode()
    if not constant_time_equal(signature.strip(), expected):
        raise SignatureError("signature does not match the body")
    # Checked after the signature so a forged request learns nothing about the window.
    try:
        signed_at = datetime.fromisoformat(timestamp.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SignatureError("X-Zendesk-Webhook-Signature-Timestamp is not an ISO-8601 time") from None
    if signed_at.tzinfo is None:
        signed_at = signed_at.replace(tzinfo=UTC)
    check_window(signed_at, now or datetime.now(UTC), tolerance_s)


def verify(verification: Mapping[str, Any], request: InboundRequest, *, tolerance_s: int) -> None:
    verify_signature(
        material(verification, "signing_secret"),
        request.body,
        request.headers.get("x-zendesk-webhook-signature"),
        request.headers.get("x-zendesk-webhook-signature-timestamp"),
        tolerance_s=tolerance_s,
    )


# -- replies (§2.5) ---------------------------------------------------------------------------------------------


def _ticket_api(credentials: Mapping[str, Any], ticket_id: str) -> tuple[str, dict[str, str]]:
    base = credentials.get("base_url") or f"https://{need(credentials, 'subdomain', 'zendesk')}.zendesk.com"
    email = need(credentials, "email", "zendesk")
    token = need(credentials, "api_token", "zendesk")
    url = f"{str(base).rstrip('/')}/api/v2/tickets/{ticket_id}.json"
    return url, {"Authorization": basic_auth(f"{email}/token", token)}


def comment(credentials: Mapping[str, Any], ticket_id: str, text: str) -> PartnerRequest:
    url, headers = _ticket_api(credentials, ticket_id)
    public: dict[str, Any] = {"body": text, "public": True}
    if credentials.get("author_id"):
        public["author_id"] = int_or_str(str(credentials["author_id"]))
    # "pending": the ticket waits for the requester's answer (Zendesk's own convention after an agent reply).
    body = {"ticket": {"comment": public, "status": "pending"}}
    return PartnerRequest("reply", "PUT", url, headers, body)


def reply(
    credentials: Mapping[str, Any], conversation_id: str, data: Mapping[str, Any]
) -> list[PartnerRequest]:
    return [comment(credentials, conversation_id, text_of(data))]


def handoff(
    credentials: Mapping[str, Any], conversation_id: str, text: str, reason: str
) -> list[PartnerRequest]:
    # The ticket is the conversation.
    url, headers = _ticket_api(credentials, conversation_id)
    public = comment(credentials, conversation_id, text)
    ticket: dict[str, Any] = {
        "comment": {"body": f"Handed over to a human by Switchboard ({reason}).", "public": False},
        "status": "open",
        # additional_tags adds without replacing the ticket's tags (a plain "tags" would overwrite them).
        "additional_tags": ["switchboard_handoff"],
    }
    if credentials.get("handoff_group_id"):
        ticket["group_id"] = int_or_str(str(credentials["handoff_group_id"]))
    if credentials.get("handoff_assignee_id"):
        ticket["assignee_id"] = int_or_str(str(credentials["handoff_assignee_id"]))
    return [public, PartnerRequest("handoff", "PUT", url, headers, {"ticket": ticket})]


# -- registry fields ---------------------------------------------------------------------------------------------

_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _subdomain(value: str) -> str:
    name = value.strip().lower().removeprefix("https://").rstrip("/").removesuffix(".zendesk.com")
    if not _SUBDOMAIN.match(name):
        raise ValueError("must be your Zendesk subdomain, e.g. 'acme' for acme.zendesk.com")
    return name


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("must be an email address")
    return value


PARTNER = Partner(
    name="zendesk",
    title="Zendesk",
    verification=(
        CredentialField(
            "signing_secret",
            "the webhook signing secret (X-Zendesk-Webhook-Signature).",
            secret=True,
            max_length=1024,
        ),
    ),
    reply=(
        CredentialField(
            "subdomain", "'acme' for acme.zendesk.com", required=True, max_length=200, check=_subdomain
        ),
        CredentialField(
            "email",
            "the agent the API token belongs to",
            required=True,
            own_email=True,
            min_length=3,
            max_length=320,
            check=_email,
        ),
        CredentialField("api_token", "the API token.", secret=True, required=True, max_length=4096),
        CredentialField("author_id", "the bot agent's user id", own_id=True, max_length=200),
    ),
    inbound=Inbound(verify=verify, normalize=normalize),
    replies=Replies(reply=reply, handoff=handoff),
    examples=(
        {
            "name": "Zendesk Support",
            "provider": "zendesk",
            "verification": {"signing_secret": "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="},
            "reply": {
                "subdomain": "acme",
                "email": "bot@acme.com",
                "api_token": "6wiIBWbGkBMo1mRDMuVwkw1Eq…",
            },
        },
    ),
)
