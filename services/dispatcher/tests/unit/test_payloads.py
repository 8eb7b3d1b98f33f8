from __future__ import annotations

import json
from datetime import UTC, datetime

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_dispatcher.domain.payloads import build_request, callback_body, integration_body, slack_body
from switchboard_dispatcher.domain.targets import Target
from switchboard_dispatcher.domain.tasks import delivery_id

TIME = datetime(2024, 3, 21, 10, 0, tzinfo=UTC)


def test_delivery_ids_are_deterministic_per_event_and_endpoint() -> None:
    first = delivery_id("/s", "e-1", "webhook", "w-1")
    assert first == delivery_id("/s", "e-1", "webhook", "w-1")
    assert first != delivery_id("/s", "e-1", "webhook", "w-2")
    assert first.startswith("msg_")
    assert "." not in first  # Standard Webhooks ids must not contain dots


def test_callback_payload_has_seed_001_fields() -> None:
    event = CloudEvent(
        source="/ingress",
        type="message.received",
        time=TIME,
        tenant="t",
        data={
            "message_id": "m-1",
            "conversation_id": "c-1",
            "text": "Hello",
            "sent_at": "2024-03-21T10:00:00Z",
            "author": {"id": "user123", "type": "user"},
            "provider": "widget",
        },
    )
    body = callback_body(event, "c-1", "api")
    assert body["conversation_id"] == "c-1"
    assert body["timestamp"] == "2024-03-21T10:00:00.000Z"
    assert body["data"] | {"metadata": {}} == {
        "id": "m-1",
        "content": "Hello",
        "content_type": "TEXT",
        "type": "USER_INPUT",
        "channel": "API",
        "status": "RECEIVED",
        "metadata": {},
        "created_by": "user123",
        "updated_by": "user123",
        "created_at": "2024-03-21T10:00:00Z",
        "updated_at": "2024-03-21T10:00:00Z",
    }


def test_media_messages_carry_a_filename() -> None:
    event = CloudEvent(
        source="/x",
        type="message.received",
        time=TIME,
        data={
            "message_id": "m",
            "text": "",
            "author": {"id": "u"},
            "attachments": [{"content_type": "application/pdf", "filename": "document.pdf"}],
        },
    )
    data = callback_body(event, "c", None)["data"]
    assert (data["content_type"], data["filename"]) == ("DOCUMENT", "document.pdf")


def test_integration_reply_and_live_chat_payloads_follow_seed_002() -> None:
    target = Target(kind="integration", id="i", tenant_id="t", url="https://x", provider="freshchat")
    reply = CloudEvent(
        source="/ai",
        type="message.replied",
        time=TIME,
        data={
            "conversation_id": "conv_456",
            "user_id": "external_user_123",
            "text": "Hi!",
            "author": {"type": "bot"},
        },
    )
    handoff = CloudEvent(
        source="/ai",
        type="handoff.requested",
        time=TIME,
        data={"conversation_id": "conv_456", "user_id": "external_user_123", "session_id": "live_abc123"},
    )
    assert integration_body(reply, target) == {
        "user_id": "external_user_123",
        "conversation_id": "conv_456",
        "message": "Hi!",
        "response_type": "text",
        "platform": "freshchat",
        "timestamp": "2024-03-21T10:00:00Z",
    }
    live = integration_body(handoff, target)
    assert set(live) == {
        "user_id",
        "conversation_id",
        "platform",
        "message",
        "sender",
        "sender_type",
        "timestamp",
        "session_id",
    }


def test_slack_attachments_are_colour_coded() -> None:
    event = CloudEvent(
        source="/x",
        type="ticket.escalated",
        time=TIME,
        data={"ticket": {"subject": "Refund", "status": "open"}},
    )
    attachment = slack_body(event)["attachments"][0]
    assert attachment["color"] == "#e01e5a"
    assert attachment["title"] == "Refund"


def test_integration_requests_carry_bearer_and_custom_headers() -> None:
    target = Target(
        kind="integration",
        id="i",
        tenant_id="t",
        url="https://x",
        headers=(("Authorization", "Bearer tok"), ("X-Team", "blue")),
    )
    event = CloudEvent(source="/x", type="message.replied", time=TIME, data={"text": "x"})
    body, headers = build_request(target, event, "msg_1", 1, TIME)
    assert headers["Authorization"] == "Bearer tok"
    assert headers["X-Team"] == "blue"
    assert headers["webhook-id"] == "msg_1"
    assert json.loads(body)["message"] == "x"
