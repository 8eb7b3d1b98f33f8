"""Seed 002's message history: what a message event becomes and how deliveries decide its status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import Author, AuthorType, DeliveryAttempt, EndpointKind, Reply
from switchboard_registry.domain import messages as rules
from switchboard_testing.builders import message_received

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _reply(author_type: AuthorType = "bot", tenant: str = "t1") -> CloudEvent:
    reply = Reply(
        tenant_id="t1",
        conversation_id="conv_456",
        in_reply_to="m-1",
        provider="zendesk",
        user_id="external_user_123",
        author=Author(name="Agent Sarah" if author_type == "agent" else "Bot", type=author_type),
        text="Agent is now connected. How can I help you?",
    )
    return CloudEvent(source="/tests", type="message.replied", tenant=tenant, data=reply)


def _attempt(kind: EndpointKind = "integration", **overrides: Any) -> DeliveryAttempt:
    fields: dict[str, Any] = {
        "delivery_id": f"msg_{kind}",
        "event_id": "e1",
        "event_type": "message.replied",
        "tenant_id": "t1",
        "endpoint_id": "i1",
        "endpoint_kind": kind,
        "url": "https://partner.example.com/h",
        "attempt": 1,
        "outcome": "succeeded",
        "status_code": 200,
        "latency_ms": 20.0,
        "attempted_at": T0,
    }
    fields.update(overrides)
    return DeliveryAttempt(**fields)


def test_an_incoming_message_keeps_the_seed_vocabulary() -> None:
    event = CloudEvent(
        source="/tests",
        type="message.received",
        tenant="t1",
        data=message_received(tenant_id="t1", provider="freshchat", conversation_id="conv_456"),
    )

    tenant, fields = rules.from_event(event)

    assert tenant == "t1"
    assert fields["message_type"] == "incoming"
    assert fields["platform"] == "freshchat"
    assert fields["conversation_id"] == "conv_456"
    assert fields["username"] == "Ada"
    assert fields["message"] == "Hello, I need help with my account."
    assert rules.status_of(fields["message_type"], {}) == "received"


@pytest.mark.parametrize(("author", "message_type"), [("agent", "agent_outgoing"), ("bot", "outgoing")])
def test_a_reply_is_agent_outgoing_only_when_a_human_agent_wrote_it(
    author: AuthorType, message_type: str
) -> None:
    _, fields = rules.from_event(_reply(author))
    assert fields["message_type"] == message_type
    assert fields["platform"] == "zendesk"
    assert fields["user_id"] == "external_user_123"


def test_a_message_event_of_another_tenant_than_its_envelope_is_refused() -> None:
    with pytest.raises(rules.NotAMessage):
        rules.from_event(_reply(tenant="t2"))


def _deliveries(*attempts: DeliveryAttempt) -> dict[str, Any]:
    document = rules.with_deliveries(None, attempts)
    return document["deliveries"] if document else {}


def test_an_outgoing_message_is_pending_until_the_platform_got_it() -> None:
    assert rules.status_of("outgoing", {}) == "pending"
    assert rules.status_of("outgoing", _deliveries(_attempt("webhook"))) == "pending"
    assert rules.status_of("outgoing", _deliveries(_attempt(outcome="retry_scheduled"))) == "pending"
    assert rules.status_of("outgoing", _deliveries(_attempt())) == "sent"
    assert (
        rules.status_of("agent_outgoing", _deliveries(_attempt(outcome="exhausted", status_code=500)))
        == "failed"
    )


def test_a_success_to_the_platform_outweighs_a_failed_notification() -> None:
    deliveries = _deliveries(_attempt(), _attempt("slack", outcome="failed", status_code=404))
    assert rules.status_of("outgoing", deliveries) == "sent"


def test_an_older_attempt_arriving_late_does_not_undo_a_newer_one() -> None:
    newer = rules.with_delivery(None, _attempt(attempt=2, attempted_at=T0 + timedelta(seconds=5)))
    assert newer is not None

    assert rules.with_delivery(newer, _attempt(outcome="retry_scheduled", status_code=500)) is None
    assert rules.with_delivery(newer, _attempt(attempt=2, attempted_at=T0 + timedelta(seconds=5))) is None


def test_the_status_is_right_whichever_of_message_and_attempt_comes_first() -> None:
    tenant, fields = rules.from_event(_reply())
    attempt = _attempt()

    attempt_first = rules.with_message(rules.with_delivery(None, attempt), tenant, "e1", fields)
    message_first = rules.with_delivery(rules.with_message(None, tenant, "e1", fields), attempt)

    assert message_first is not None
    assert attempt_first["status"] == message_first["status"] == "sent"
    assert rules.public(attempt_first)["deliveries"] == rules.public(message_first)["deliveries"]


def test_a_document_that_only_knows_a_delivery_has_no_status_yet() -> None:
    document = rules.with_delivery(None, _attempt())
    assert document is not None
    assert document["message_type"] is None
    assert document["status"] is None


def test_the_public_message_names_the_failure() -> None:
    tenant, fields = rules.from_event(_reply("agent"))
    failed = _attempt(outcome="exhausted", status_code=502, error="HTTP 502")
    document = rules.with_delivery(rules.with_message(None, tenant, "e1", fields), failed)
    assert document is not None

    data = rules.public(document)

    assert data["status"] == "failed"
    assert data["error"] == "HTTP 502"
    assert data["sender"] == "Agent Sarah"
    assert data["sender_type"] == "agent"
    assert data["deliveries"][0]["status"] == "failed"


def test_a_batch_of_attempts_is_one_change_of_the_message_or_none() -> None:
    newer = _attempt(attempt=2, attempted_at=T0 + timedelta(seconds=5))
    older = _attempt(outcome="retry_scheduled", status_code=500)
    document = rules.with_deliveries(None, [newer, older])

    assert document is not None
    assert [entry["attempt"] for entry in document["deliveries"].values()] == [2]
    assert rules.with_deliveries(document, [older, newer]) is None
