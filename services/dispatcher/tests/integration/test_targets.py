"""Conversation callbacks (seed 001) and partner integrations (seed 002, Slack) over real Kafka."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import FastAPI

from switchboard_testing.webhooks import Platform, Receiver

from ..conftest import wait_for_target


async def test_message_events_of_a_registered_conversation_reach_its_callback(
    dispatcher: FastAPI, platform: Platform, receiver: Receiver
) -> None:
    await platform.config(
        "conversation",
        "conv-42",
        "acme",
        {
            "channel": "API",
            "usecase": "WORKFLOW_EXECUTION",
            "config": {"workflow_id": "123", "callback_url": receiver.url("callback")},
        },
    )
    await wait_for_target(dispatcher, "callback", "conv-42")

    await platform.event(
        "message.received",
        "acme",
        {
            "tenant_id": "acme",
            "provider": "api",
            "conversation_id": "conv-42",
            "message_id": "m-9",
            "author": {"id": "user123", "type": "user"},
            "text": "Hello",
            "sent_at": "2024-03-21T10:00:00Z",
        },
        partitionkey="conv-42",
    )
    await platform.event(
        "message.received",
        "acme",
        {"conversation_id": "conv-other", "text": "not mine"},
        partitionkey="conv-other",
    )

    (request,) = await receiver.wait_for("callback", 1)
    body = request.json()
    assert body["conversation_id"] == "conv-42"
    assert body["data"]["id"] == "m-9"
    assert body["data"]["content"] == "Hello"
    assert (body["data"]["type"], body["data"]["channel"], body["data"]["status"]) == (
        "USER_INPUT",
        "API",
        "RECEIVED",
    )
    assert body["timestamp"].endswith("Z")


async def test_replies_go_to_the_integration_with_its_bearer_token_and_headers(
    dispatcher: FastAPI, platform: Platform, receiver: Receiver
) -> None:
    box = platform.box
    await platform.config(
        "integration",
        "int-1",
        "acme",
        {
            "name": "Freshchat bridge",
            "provider": "freshchat",
            "outgoing_webhook_url": receiver.url("partner"),
            "auth_token": box.encrypt("partner-token"),
            "custom_headers": {"X-Team": "blue"},
            "timeout_seconds": 5,
            "retry_attempts": 3,
            "is_active": True,
        },
    )
    await wait_for_target(dispatcher, "integration", "int-1")

    await platform.event(
        "message.replied",
        "acme",
        {
            "tenant_id": "acme",
            "conversation_id": "conv_456",
            "user_id": "external_user_123",
            "integration_id": "int-1",
            "text": "Here is how to reset your password.",
            "author": {"type": "bot"},
        },
        partitionkey="conv_456",
    )

    (request,) = await receiver.wait_for("partner", 1)
    assert request.headers["authorization"] == "Bearer partner-token"
    assert request.headers["x-team"] == "blue"
    assert request.json() | {"timestamp": None} == {
        "user_id": "external_user_123",
        "conversation_id": "conv_456",
        "message": "Here is how to reset your password.",
        "response_type": "text",
        "platform": "freshchat",
        "timestamp": None,
    }


async def test_slack_integrations_get_colour_coded_ticket_notifications(
    dispatcher: FastAPI, platform: Platform, receiver: Receiver
) -> None:
    await platform.config(
        "integration",
        "slack-1",
        "acme",
        {
            "name": "Slack",
            "provider": "slack",
            "is_active": True,
            "reply": {"webhook_url": platform.box.encrypt(receiver.url("slack"))},
        },
    )
    await wait_for_target(dispatcher, "slack", "slack-1")

    await platform.event(
        "ticket.escalated", "acme", {"ticket": {"id": "t-1", "subject": "Refund", "status": "open"}}
    )

    (request,) = await receiver.wait_for("slack", 1)
    attachment = request.json()["attachments"][0]
    assert (attachment["color"], attachment["title"]) == ("#e01e5a", "Refund")


async def test_generic_integrations_with_a_webhook_secret_are_signed(
    dispatcher: FastAPI, platform: Platform, receiver: Receiver
) -> None:
    await platform.config(
        "integration",
        "int-2",
        "acme",
        {
            "name": "Tickets",
            "provider": "generic",
            "outgoing_webhook_url": receiver.url("generic"),
            "is_active": True,
            "verification": {"webhook_secret": platform.box.encrypt("s3cret-for-tickets")},
        },
    )
    await wait_for_target(dispatcher, "integration", "int-2")

    await platform.event(
        "message.replied", "acme", {"conversation_id": "c", "text": "hi", "author": {"type": "bot"}}
    )

    (request,) = await receiver.wait_for("generic", 1)
    expected = hmac.new(b"s3cret-for-tickets", request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-webhook-signature"] == expected
