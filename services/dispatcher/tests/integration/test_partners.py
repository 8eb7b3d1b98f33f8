"""Replies and handoffs through partners' own APIs, sent by the delivery engine over real HTTP (loopback)."""

from __future__ import annotations

from fastapi import FastAPI

from switchboard_testing.webhooks import Platform, Receiver

from ..conftest import wait_for_target


async def test_a_reply_is_posted_to_the_freshchat_conversation(
    dispatcher: FastAPI, platform: Platform, receiver: Receiver
) -> None:
    await platform.config(
        "integration",
        "fc",
        "acme",
        {
            "name": "Freshchat",
            "provider": "freshchat",
            "is_active": True,
            "timeout_seconds": 5,
            "reply": {
                "api_url": receiver.url("v2"),
                "api_token": platform.box.encrypt("fc-token"),
                "actor_id": "bot-agent-1",
            },
        },
    )
    await wait_for_target(dispatcher, "partner", "fc")

    await platform.event(
        "message.replied",
        "acme",
        {
            "conversation_id": "fc-conv-7",
            "integration_id": "fc",
            "text": "Reset it from Settings.",
            "author": {"type": "bot"},
        },
        partitionkey="fc-conv-7",
    )

    (request,) = await receiver.wait_for("v2/conversations/fc-conv-7/messages", 1)
    assert request.method == "POST"
    assert request.headers["authorization"] == "Bearer fc-token"
    body = request.json()
    assert (body["actor_type"], body["actor_id"], body["message_type"]) == ("agent", "bot-agent-1", "normal")
    assert body["message_parts"][0]["text"]["content"] == "Reset it from Settings."


async def test_a_retried_handoff_resumes_at_the_call_that_failed(
    dispatcher: FastAPI, platform: Platform, receiver: Receiver
) -> None:
    receiver.script("api/v1/accounts/1/conversations/10/toggle_status", (503, {"Retry-After": "1"}, 0.0))
    await platform.config(
        "integration",
        "cw",
        "acme",
        {
            "name": "Chatwoot",
            "provider": "chatwoot",
            "is_active": True,
            "timeout_seconds": 5,
            "retry_attempts": 3,
            "reply": {
                "base_url": receiver.url(""),
                "account_id": 1,
                "inbox_id": 3,
                "api_access_token": platform.box.encrypt("cw-token"),
            },
        },
    )
    await wait_for_target(dispatcher, "partner", "cw")

    await platform.event(
        "handoff.requested",
        "acme",
        {
            "tenant_id": "acme",
            "conversation_id": "10",
            "session_id": "live_1",
            "platform": "chatwoot",
            "reason": "requested",
            "message": "Connecting you with a human agent.",
        },
        partitionkey="10",
    )

    toggles = await receiver.wait_for("api/v1/accounts/1/conversations/10/toggle_status", 2, timeout_s=20)
    announcements = receiver.requests["/api/v1/accounts/1/conversations/10/messages"]
    assert len(announcements) == 1  # the retry did not post the announcement again
    assert announcements[0].json()["content"] == "Connecting you with a human agent."
    assert [t.json() for t in toggles] == [{"status": "open"}, {"status": "open"}]
    assert toggles[0].headers["api_access_token"] == "cw-token"
