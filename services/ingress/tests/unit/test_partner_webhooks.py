"""Native partner webhooks at the HTTP edge: signatures over the raw bytes, loop prevention, dedup, limits.

Every request is built from the platform's documented payload and signed with real keys (an RSA-2048 pair for
Freshchat, HMACs for the others); events land on FastStream's in-memory broker.
"""

from __future__ import annotations

import pytest

from switchboard_contracts.events import MessageReceived

from ..harness import Harness
from ..partners import (
    BOT_AGENT,
    CHATWOOT_PATH_TOKEN,
    CHATWOOT_SECRET,
    INTERCOM_SECRET,
    ZENDESK_SECRET,
    body_of,
    chatwoot_headers,
    chatwoot_message,
    freshchat_headers,
    freshchat_legacy_message,
    freshchat_message,
    freshchat_public_key_as_pasted,
    intercom_headers,
    intercom_ping,
    intercom_reply,
    other_key,
    zendesk_comment,
    zendesk_headers,
    zendesk_ticket_created,
    zendesk_trigger,
)


@pytest.fixture
def partners(harness: Harness) -> Harness:
    harness.integration(
        "fc-1",
        "freshchat",
        verification={"public_key": freshchat_public_key_as_pasted()},
        reply={"api_url": "https://acme.freshchat.com/v2", "api_token": "enc", "actor_id": BOT_AGENT},
    )
    harness.integration(
        "zd-1",
        "zendesk",
        verification={"signing_secret": ZENDESK_SECRET},
        reply={"subdomain": "acme", "email": "bot@acme.com", "author_id": BOT_AGENT},
    )
    harness.integration(
        "ic-1", "intercom", verification={"client_secret": INTERCOM_SECRET}, reply={"admin_id": BOT_AGENT}
    )
    harness.integration(
        "cw-1",
        "chatwoot",
        verification={"webhook_secret": CHATWOOT_SECRET, "path_token": CHATWOOT_PATH_TOKEN},
    )
    return harness


# -- Freshchat -------------------------------------------------------------------------------------------------------


async def test_freshchat_user_message_becomes_one_canonical_event(partners: Harness) -> None:
    body = body_of(freshchat_message(image_url="https://cdn.example.com/a.png"))
    response = await partners.client.post(
        "/webhooks/freshchat/fc-1", content=body, headers=freshchat_headers(body)
    )

    assert response.status_code == 200, response.text
    (event,) = partners.events
    assert response.json() == {"status": "accepted", "event_ids": [event.id]}
    message = event.data_as(MessageReceived)
    assert (event.type, event.tenant, event.partitionkey) == (
        "message.received",
        "acme",
        message.conversation_id,
    )
    assert message.conversation_id == "c0ffee00-1111-4222-8333-444455556666"
    assert message.message_id == "b3a1c2d4-0000-4000-8000-000000000001"
    assert (message.provider, message.integration_id, message.author.type) == ("freshchat", "fc-1", "user")
    assert message.text == "Hello, I need help with my account"
    assert [a.url for a in message.attachments] == ["https://cdn.example.com/a.png"]
    assert message.sent_at.isoformat() == "2022-11-22T10:55:23.126000+00:00"
    assert message.metadata["retry_count"] == "0"


async def test_freshchat_legacy_msg_parts_are_read(partners: Harness) -> None:
    body = body_of(freshchat_legacy_message("Legacy hello"))
    response = await partners.client.post(
        "/webhooks/freshchat/fc-1", content=body, headers=freshchat_headers(body)
    )
    assert response.status_code == 200, response.text
    assert partners.events[0].data["text"] == "Legacy hello"
    assert partners.events[0].data["sent_at"] == "2018-06-01T09:00:00Z"


async def test_freshchat_tampered_body_is_401_and_publishes_nothing(partners: Harness) -> None:
    body = body_of(freshchat_message())
    headers = freshchat_headers(body)
    response = await partners.client.post("/webhooks/freshchat/fc-1", content=body + b"\n", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert partners.events == []


async def test_freshchat_signature_from_another_key_is_401(partners: Harness) -> None:
    body = body_of(freshchat_message())
    response = await partners.client.post(
        "/webhooks/freshchat/fc-1", content=body, headers=freshchat_headers(body, key=other_key())
    )
    assert response.status_code == 401


async def test_freshchat_missing_signature_is_401(partners: Harness) -> None:
    response = await partners.client.post("/webhooks/freshchat/fc-1", content=body_of(freshchat_message()))
    assert response.status_code == 401


async def test_freshchat_redelivery_is_acknowledged_once(partners: Harness) -> None:
    body = body_of(freshchat_message())
    first = await partners.client.post(
        "/webhooks/freshchat/fc-1", content=body, headers=freshchat_headers(body)
    )
    again = await partners.client.post(
        "/webhooks/freshchat/fc-1", content=body, headers=freshchat_headers(body, retry=1)
    )
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == {"status": "duplicate"}
    assert len(partners.events) == 1


@pytest.mark.parametrize(
    ("actor_type", "actor_id", "message_type", "reason"),
    [
        ("agent", BOT_AGENT, "normal", "own_reply"),
        ("agent", "human-agent-1", "normal", "agent_message"),
        ("bot", "some-bot", "normal", "bot_message"),
        ("system", "system", "normal", "system_message"),
        ("user", "user-7f3e", "private", "private_note"),
    ],
)
async def test_freshchat_messages_not_from_the_customer_are_acknowledged_and_dropped(
    partners: Harness, actor_type: str, actor_id: str, message_type: str, reason: str
) -> None:
    payload = freshchat_message("echo", actor_type=actor_type, actor_id=actor_id, message_type=message_type)
    body = body_of(payload)
    response = await partners.client.post(
        "/webhooks/freshchat/fc-1", content=body, headers=freshchat_headers(body)
    )
    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "reason": reason}
    assert partners.events == []
    metrics = partners.app.state.metrics
    assert metrics.dropped.labels("freshchat", reason)._value.get() == 1


async def test_freshchat_resolution_is_a_conversation_update(partners: Harness) -> None:
    payload = {
        "actor": {"actor_type": "agent", "actor_id": "agent-1"},
        "action": "conversation_resolution",
        "action_time": "2022-11-22T11:00:00.000Z",
        "data": {
            "resolve": {
                "resolver": "agent",
                "resolver_id": "agent-1",
                "conversation": {"conversation_id": "conv-9", "app_id": "app", "status": "resolved"},
                "interaction_id": "1-2",
            }
        },
    }
    body = body_of(payload)
    response = await partners.client.post(
        "/webhooks/freshchat/fc-1", content=body, headers=freshchat_headers(body)
    )
    assert response.status_code == 200, response.text
    (event,) = partners.events
    assert event.type == "conversation.updated"
    assert (event.data["change"], event.data["status"], event.partitionkey) == (
        "resolved",
        "resolved",
        "conv-9",
    )


async def test_unknown_integration_is_404_and_wrong_provider_too(partners: Harness) -> None:
    body = body_of(freshchat_message())
    assert (await partners.client.post("/webhooks/freshchat/nope", content=body)).status_code == 404
    assert (
        await partners.client.post("/webhooks/zendesk/fc-1", content=body, headers=freshchat_headers(body))
    ).status_code == 404


async def test_inactive_integration_is_403(partners: Harness) -> None:
    partners.integration(
        "fc-off", "freshchat", verification={"public_key": freshchat_public_key_as_pasted()}, is_active=False
    )
    body = body_of(freshchat_message())
    response = await partners.client.post(
        "/webhooks/freshchat/fc-off", content=body, headers=freshchat_headers(body)
    )
    assert response.status_code == 403


async def test_integration_without_verification_material_refuses_everything(partners: Harness) -> None:
    partners.integration("fc-bare", "freshchat")
    body = body_of(freshchat_message())
    response = await partners.client.post(
        "/webhooks/freshchat/fc-bare", content=body, headers=freshchat_headers(body)
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "verification_not_configured"


# -- Zendesk ---------------------------------------------------------------------------------------------------------


async def test_zendesk_end_user_comment_is_a_message_on_the_ticket(partners: Harness) -> None:
    body = body_of(zendesk_comment())
    response = await partners.client.post(
        "/webhooks/zendesk/zd-1", content=body, headers=zendesk_headers(body)
    )
    assert response.status_code == 200, response.text
    message = partners.events[0].data_as(MessageReceived)
    assert (message.conversation_id, message.message_id, message.text) == (
        "5158",
        "11223344",
        "My order never arrived",
    )
    assert message.author.name == "Jane Customer"
    assert message.sent_at.isoformat() == "2025-01-08T10:12:07.672717+00:00"
    assert message.raw_ref == "cbe4028c-0000-4000-8000-000000000001"


async def test_zendesk_wrong_secret_is_401(partners: Harness) -> None:
    body = body_of(zendesk_comment())
    response = await partners.client.post(
        "/webhooks/zendesk/zd-1", content=body, headers=zendesk_headers(body, secret="not-the-secret")
    )
    assert response.status_code == 401
    assert partners.events == []


async def test_zendesk_stale_timestamp_is_401_even_when_correctly_signed(partners: Harness) -> None:
    body = body_of(zendesk_comment())
    response = await partners.client.post(
        "/webhooks/zendesk/zd-1",
        content=body,
        headers=zendesk_headers(body, timestamp="2021-03-25T05:09:27Z"),
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "stale_timestamp"


async def test_zendesk_tampered_body_is_401(partners: Harness) -> None:
    body = body_of(zendesk_comment())
    headers = zendesk_headers(body)
    tampered = body.replace(b"never arrived", b"arrived, thanks")
    response = await partners.client.post("/webhooks/zendesk/zd-1", content=tampered, headers=headers)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"author_id": BOT_AGENT, "is_staff": True}, "own_reply"),
        ({"author_id": "agent-7", "is_staff": True}, "agent_message"),
        ({"is_public": False}, "private_note"),
    ],
)
async def test_zendesk_staff_private_and_own_comments_are_dropped(
    partners: Harness, kwargs: dict[str, object], reason: str
) -> None:
    body = body_of(zendesk_comment(**kwargs))  # type: ignore[arg-type]
    response = await partners.client.post(
        "/webhooks/zendesk/zd-1", content=body, headers=zendesk_headers(body)
    )
    assert response.json() == {"status": "ignored", "reason": reason}
    assert partners.events == []


async def test_zendesk_repeated_comment_under_a_new_event_id_is_one_message(partners: Harness) -> None:
    for event_id in ("evt-a", "evt-b"):
        body = body_of(zendesk_comment(event_id=event_id))
        response = await partners.client.post(
            "/webhooks/zendesk/zd-1", content=body, headers=zendesk_headers(body)
        )
        assert response.status_code == 200
    assert len(partners.events) == 1


async def test_zendesk_ticket_created_event(partners: Harness) -> None:
    body = body_of(zendesk_ticket_created())
    response = await partners.client.post(
        "/webhooks/zendesk/zd-1", content=body, headers=zendesk_headers(body)
    )
    assert response.status_code == 200, response.text
    (event,) = partners.events
    assert event.type == "ticket.created"
    assert event.data["ticket"] == {
        "id": "5158",
        "subject": "Where is my order?",
        "message": "My order never arrived",
        "status": "open",
        "priority": "normal",
        "category": "question",
    }


async def test_zendesk_trigger_body_from_the_requester_is_a_message(partners: Harness) -> None:
    body = body_of(zendesk_trigger())
    response = await partners.client.post(
        "/webhooks/zendesk/zd-1", content=body, headers=zendesk_headers(body)
    )
    assert response.status_code == 200, response.text
    message = partners.events[0].data_as(MessageReceived)
    assert (message.conversation_id, message.text, message.author.email) == (
        "90417",
        "Still waiting",
        "jane@example.com",
    )


async def test_zendesk_trigger_body_from_our_bot_agent_is_dropped(partners: Harness) -> None:
    body = body_of(zendesk_trigger("Here is your answer", current_user_email="BOT@acme.com"))
    response = await partners.client.post(
        "/webhooks/zendesk/zd-1", content=body, headers=zendesk_headers(body)
    )
    assert response.json() == {"status": "ignored", "reason": "own_reply"}


async def test_zendesk_trigger_body_without_ticket_id_is_422(partners: Harness) -> None:
    body = body_of({"comment": "hi"})
    response = await partners.client.post(
        "/webhooks/zendesk/zd-1", content=body, headers=zendesk_headers(body)
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "ticket_id"


# -- Intercom --------------------------------------------------------------------------------------------------------


async def test_intercom_user_reply_is_a_plain_text_message(partners: Harness) -> None:
    body = body_of(intercom_reply())
    response = await partners.client.post(
        "/webhooks/intercom/ic-1", content=body, headers=intercom_headers(body)
    )
    assert response.status_code == 200, response.text
    message = partners.events[0].data_as(MessageReceived)
    assert (message.conversation_id, message.message_id, message.text) == ("148", "7001", "Can you help me?")
    assert (message.author.email, message.metadata["app_id"]) == ("sam@example.com", "ws12345")


async def test_intercom_wrong_secret_and_tampered_body_are_401(partners: Harness) -> None:
    body = body_of(intercom_reply())
    wrong = await partners.client.post(
        "/webhooks/intercom/ic-1", content=body, headers=intercom_headers(body, secret="other")
    )
    tampered = await partners.client.post(
        "/webhooks/intercom/ic-1", content=body.replace(b"help", b"hurt"), headers=intercom_headers(body)
    )
    assert (wrong.status_code, tampered.status_code) == (401, 401)
    assert partners.events == []


async def test_intercom_ping_and_head_validate_the_url(partners: Harness) -> None:
    head = await partners.client.head("/webhooks/intercom/ic-1")
    body = body_of(intercom_ping())
    ping = await partners.client.post("/webhooks/intercom/ic-1", content=body, headers=intercom_headers(body))
    assert head.status_code == 200
    assert ping.json() == {"status": "ignored", "reason": "ping"}
    assert (await partners.client.head("/webhooks/intercom/unknown")).status_code == 404


async def test_intercom_admin_reply_echoing_our_answer_is_dropped(partners: Harness) -> None:
    payload = intercom_reply(
        "<p>Our answer</p>", author_type="admin", author_id=BOT_AGENT, topic="conversation.admin.replied"
    )
    body = body_of(payload)
    response = await partners.client.post(
        "/webhooks/intercom/ic-1", content=body, headers=intercom_headers(body)
    )
    assert response.json() == {"status": "ignored", "reason": "agent_message"}
    assert partners.events == []


async def test_intercom_admin_closed_is_a_conversation_update(partners: Harness) -> None:
    body = body_of(intercom_reply(topic="conversation.admin.closed"))
    response = await partners.client.post(
        "/webhooks/intercom/ic-1", content=body, headers=intercom_headers(body)
    )
    assert response.status_code == 200, response.text
    (event,) = partners.events
    assert (event.type, event.partitionkey, event.data["change"], event.data["status"]) == (
        "conversation.updated",
        "148",
        "closed",
        "open",
    )
    assert event.time.isoformat() == "2019-03-22T21:48:28+00:00"


async def test_intercom_redelivered_notification_is_one_event(partners: Harness) -> None:
    body = body_of(intercom_reply())
    for _ in range(3):
        response = await partners.client.post(
            "/webhooks/intercom/ic-1", content=body, headers=intercom_headers(body)
        )
        assert response.status_code == 200
    assert len(partners.events) == 1


# -- Chatwoot --------------------------------------------------------------------------------------------------------


async def test_chatwoot_incoming_contact_message_is_a_message(partners: Harness) -> None:
    body = body_of(chatwoot_message())
    response = await partners.client.post(
        "/webhooks/chatwoot/cw-1", content=body, headers=chatwoot_headers(body)
    )
    assert response.status_code == 200, response.text
    message = partners.events[0].data_as(MessageReceived)
    assert (message.conversation_id, message.message_id, message.text) == ("10", "118", "hi")
    assert message.metadata["account_id"] == 1


async def test_chatwoot_stale_timestamp_is_401(partners: Harness) -> None:
    body = body_of(chatwoot_message())
    response = await partners.client.post(
        "/webhooks/chatwoot/cw-1", content=body, headers=chatwoot_headers(body, timestamp=1627063369)
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "stale_timestamp"


async def test_chatwoot_wrong_secret_is_401(partners: Harness) -> None:
    body = body_of(chatwoot_message())
    response = await partners.client.post(
        "/webhooks/chatwoot/cw-1", content=body, headers=chatwoot_headers(body, secret="wrong-secret-000000")
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"message_type": "outgoing", "sender_type": "agent_bot"}, "own_reply"),
        ({"message_type": "outgoing", "sender_type": "user"}, "agent_message"),
        ({"private": True}, "private_note"),
        ({"status": "open"}, "not_pending"),
    ],
)
async def test_chatwoot_outgoing_private_and_human_owned_messages_are_dropped(
    partners: Harness, kwargs: dict[str, object], reason: str
) -> None:
    body = body_of(chatwoot_message(**kwargs))  # type: ignore[arg-type]
    response = await partners.client.post(
        "/webhooks/chatwoot/cw-1", content=body, headers=chatwoot_headers(body)
    )
    assert response.json() == {"status": "ignored", "reason": reason}


async def test_chatwoot_resolved_conversation_is_a_conversation_update(partners: Harness) -> None:
    payload = {"event": "conversation_resolved", "id": 10, "status": "resolved", "account": {"id": 1}}
    body = body_of(payload)
    response = await partners.client.post(
        "/webhooks/chatwoot/cw-1", content=body, headers=chatwoot_headers(body, delivery="d-77")
    )
    again = await partners.client.post(
        "/webhooks/chatwoot/cw-1", content=body, headers=chatwoot_headers(body, delivery="d-77")
    )
    assert (response.status_code, again.json()) == (200, {"status": "duplicate"})
    (event,) = partners.events
    assert (event.type, event.partitionkey, event.data["change"], event.data["status"]) == (
        "conversation.updated",
        "10",
        "resolved",
        "resolved",
    )
    assert event.data["metadata"] == {"account_id": 1}


async def test_chatwoot_path_token_replaces_the_signature_for_old_installs(partners: Harness) -> None:
    body = body_of(chatwoot_message())
    ok = await partners.client.post(f"/webhooks/chatwoot/cw-1/{CHATWOOT_PATH_TOKEN}", content=body)
    wrong = await partners.client.post("/webhooks/chatwoot/cw-1/not-the-token-at-all-123456", content=body)
    assert (ok.status_code, wrong.status_code) == (200, 401)
    assert len(partners.events) == 1


async def test_chatwoot_retry_with_the_same_message_is_one_event(partners: Harness) -> None:
    body = body_of(chatwoot_message())
    for _ in range(2):
        await partners.client.post("/webhooks/chatwoot/cw-1", content=body, headers=chatwoot_headers(body))
    assert len(partners.events) == 1


# -- limits and durability -------------------------------------------------------------------------------------------


async def test_integration_over_its_limit_gets_429_with_retry_after(partners: Harness) -> None:
    partners.integration(
        "ic-2", "intercom", verification={"client_secret": INTERCOM_SECRET}, rate_limit_per_minute=2
    )
    statuses = []
    for index in range(3):
        body = body_of(intercom_reply(notification_id=f"n-{index}", part_id=f"p-{index}"))
        response = await partners.client.post(
            "/webhooks/intercom/ic-2", content=body, headers=intercom_headers(body)
        )
        statuses.append(response.status_code)
    assert statuses == [200, 200, 429]
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert len(partners.events) == 2


async def test_oversized_body_is_413(partners: Harness) -> None:
    body = body_of(freshchat_message("x" * (300 * 1024)))
    response = await partners.client.post(
        "/webhooks/freshchat/fc-1", content=body, headers=freshchat_headers(body)
    )
    assert response.status_code == 413


async def test_kafka_not_acknowledging_is_503_and_the_retry_is_published(
    partners: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiokafka.errors import KafkaTimeoutError

    publisher = partners.app.state.to_platform_events
    original = publisher.publish

    async def refuse(*args: object, **kwargs: object) -> None:
        raise KafkaTimeoutError

    monkeypatch.setattr(publisher, "publish", refuse)
    body = body_of(freshchat_message())
    down = await partners.client.post(
        "/webhooks/freshchat/fc-1", content=body, headers=freshchat_headers(body)
    )
    assert down.status_code == 503
    assert down.headers["retry-after"] == "5"
    monkeypatch.setattr(publisher, "publish", original)
    retried = await partners.client.post(
        "/webhooks/freshchat/fc-1", content=body, headers=freshchat_headers(body, retry=1)
    )
    assert retried.json()["status"] == "accepted"
    assert len(partners.events) == 1
