"""Every ingress endpoint over real Kafka and FerretDB: what a partner sends is on ``platform.events``, keyed by
conversation, once; synchronous answers travel the Kafka request/reply contract; limits and dedup hold across
two replicas sharing MongoDB."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from switchboard_contracts.events import MessageReceived
from switchboard_contracts.topics import Topic
from switchboard_ingress.settings import IngressSettings
from switchboard_testing.kafka import read_for
from switchboard_testing.webhooks import Platform

from ..partners import (
    BEARER,
    BOT_AGENT,
    CHATWOOT_SECRET,
    GENERIC_SECRET,
    INTERCOM_SECRET,
    SEED002_MESSAGE,
    SEED003_TICKET,
    ZENDESK_SECRET,
    body_of,
    chatwoot_headers,
    chatwoot_message,
    freshchat_headers,
    freshchat_message,
    freshchat_public_key_as_pasted,
    intercom_headers,
    intercom_reply,
    seed003_signature,
    zendesk_comment,
    zendesk_headers,
)
from .conftest import add_integration, events_on, reply_to, responder, running

Ingress = tuple[FastAPI, httpx.AsyncClient]
AUTH = {"Authorization": f"Bearer {BEARER}"}


async def test_ready_only_once_the_integrations_view_caught_up(ingress: Ingress) -> None:
    _, client = ingress
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"kafka": "ok", "mongodb": "ok", "config_view": "ok"}


async def test_freshchat_message_reaches_kafka_once_despite_a_redelivery(
    ingress: Ingress, platform: Platform, ingress_settings: IngressSettings
) -> None:
    app, client = ingress
    await add_integration(
        platform,
        [app],
        "fc-1",
        "freshchat",
        verification={"public_key": freshchat_public_key_as_pasted()},
        reply={"actor_id": BOT_AGENT},
    )
    body = body_of(freshchat_message())
    first = await client.post("/webhooks/freshchat/fc-1", content=body, headers=freshchat_headers(body))
    again = await client.post(
        "/webhooks/freshchat/fc-1", content=body, headers=freshchat_headers(body, retry=1)
    )
    echo = body_of(
        freshchat_message("our reply", message_id="m-echo", actor_type="agent", actor_id=BOT_AGENT)
    )
    dropped = await client.post("/webhooks/freshchat/fc-1", content=echo, headers=freshchat_headers(echo))

    assert (first.status_code, again.json()["status"], dropped.json()["reason"]) == (
        200,
        "duplicate",
        "own_reply",
    )
    (event,) = await events_on(ingress_settings, 1)
    assert event.id == first.json()["event_ids"][0]
    assert (event.tenant, event.partitionkey) == ("acme", "c0ffee00-1111-4222-8333-444455556666")
    assert event.data_as(MessageReceived).text == "Hello, I need help with my account"
    later = await read_for(
        ingress_settings.kafka_bootstrap, ingress_settings.topic(Topic.PLATFORM_EVENTS), 1.0
    )
    assert len(later) == 1


async def test_zendesk_intercom_and_chatwoot_messages_reach_kafka(
    ingress: Ingress, platform: Platform, ingress_settings: IngressSettings
) -> None:
    app, client = ingress
    await add_integration(platform, [app], "zd-1", "zendesk", verification={"signing_secret": ZENDESK_SECRET})
    await add_integration(
        platform, [app], "ic-1", "intercom", verification={"client_secret": INTERCOM_SECRET}
    )
    await add_integration(
        platform, [app], "cw-1", "chatwoot", verification={"webhook_secret": CHATWOOT_SECRET}
    )

    zendesk = body_of(zendesk_comment())
    intercom = body_of(intercom_reply())
    chatwoot = body_of(chatwoot_message())
    responses = [
        await client.post("/webhooks/zendesk/zd-1", content=zendesk, headers=zendesk_headers(zendesk)),
        await client.post("/webhooks/intercom/ic-1", content=intercom, headers=intercom_headers(intercom)),
        await client.post("/webhooks/chatwoot/cw-1", content=chatwoot, headers=chatwoot_headers(chatwoot)),
    ]
    assert [response.status_code for response in responses] == [200, 200, 200]

    events = await events_on(ingress_settings, 3)
    by_provider = {event.data["provider"]: event for event in events}
    assert {name: event.partitionkey for name, event in by_provider.items()} == {
        "zendesk": "5158",
        "intercom": "148",
        "chatwoot": "10",
    }


async def test_seed002_async_is_202_and_the_message_is_in_kafka(
    ingress: Ingress, platform: Platform, ingress_settings: IngressSettings
) -> None:
    app, client = ingress
    await add_integration(platform, [app], "gen-1", "generic", verification={"bearer_token": BEARER})
    response = await client.post("/api/webhook/incoming", json=SEED002_MESSAGE, headers=AUTH)
    assert response.status_code == 202, response.text
    (event,) = await events_on(ingress_settings, 1)
    assert event.data["message_id"] == response.json()["message_id"]
    assert event.partitionkey == "conv_456"


async def test_seed002_wait_gets_the_answer_over_kafka_request_reply(
    ingress: Ingress, platform: Platform, ingress_settings: IngressSettings
) -> None:
    app, client = ingress
    await add_integration(platform, [app], "gen-1", "generic", verification={"bearer_token": BEARER})
    async with responder(ingress_settings, lambda request: reply_to(request, "Hello John!")):
        response = await client.post("/api/webhook/incoming?wait=true", json=SEED002_MESSAGE, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["response"]["answer"] == "Hello John!"


async def test_seed003_ticket_is_ticket_created_on_kafka(
    ingress: Ingress, platform: Platform, ingress_settings: IngressSettings
) -> None:
    app, client = ingress
    await add_integration(
        platform, [app], "gen-1", "generic", verification={"webhook_secret": GENERIC_SECRET}
    )
    body = body_of(SEED003_TICKET)
    response = await client.post(
        "/api/webhooks/receive?integration=gen-1",
        content=body,
        headers={"X-Webhook-Signature": seed003_signature(body)},
    )
    assert response.status_code == 202, response.text
    (event,) = await events_on(ingress_settings, 1)
    assert event.type == "ticket.created"
    assert event.data["ticket"]["subject"] == "Support Request"


async def test_seed004_chat_answer_and_form_over_kafka(
    ingress: Ingress, platform: Platform, ingress_settings: IngressSettings
) -> None:
    app, client = ingress
    await add_integration(platform, [app], "widget-1", "generic")
    async with responder(
        ingress_settings, lambda request: reply_to(request, "Hello! How can I help you today?")
    ):
        chat = await client.post(
            "/chat?integration=widget-1", json={"prompt": "Hello", "session_id": "test-session"}
        )
    form = await client.post(
        "/contact-form?integration=widget-1",
        json={"name": "Ada", "email": "ada@example.com", "message": "Call me"},
    )
    assert chat.status_code == 200, chat.text
    assert chat.json() == {"output": "Hello! How can I help you today?"}
    assert form.status_code == 200, form.text
    (submitted,) = await events_on(ingress_settings, 1, "form.submitted")
    assert submitted.data["email"] == "ada@example.com"


async def test_the_request_limit_holds_across_two_replicas(
    platform: Platform, ingress_settings: IngressSettings
) -> None:
    settings = ingress_settings.model_copy(update={"rate_limit_per_minute": 10})
    async with running(settings) as (app_a, client_a), running(settings) as (app_b, client_b):
        await add_integration(
            platform, [app_a, app_b], "ic-1", "intercom", verification={"client_secret": INTERCOM_SECRET}
        )
        statuses = []
        for index in range(12):
            body = body_of(intercom_reply(notification_id=f"n-{index}", part_id=f"p-{index}"))
            client = client_a if index % 2 else client_b
            statuses.append(
                (
                    await client.post("/webhooks/intercom/ic-1", content=body, headers=intercom_headers(body))
                ).status_code
            )
    assert sorted(statuses) == [200] * 10 + [429] * 2
    events = await events_on(ingress_settings, 10)
    assert len({event.id for event in events}) == 10


async def test_redelivery_to_another_replica_is_acknowledged_once(
    platform: Platform, ingress_settings: IngressSettings
) -> None:
    async with running(ingress_settings) as (app_a, client_a), running(ingress_settings) as (app_b, client_b):
        await add_integration(
            platform, [app_a, app_b], "cw-1", "chatwoot", verification={"webhook_secret": CHATWOOT_SECRET}
        )
        body = body_of(chatwoot_message())
        first = await client_a.post("/webhooks/chatwoot/cw-1", content=body, headers=chatwoot_headers(body))
        await app_a.state.gateway.dedup.flush()  # the completion is written behind the response
        again = await client_b.post("/webhooks/chatwoot/cw-1", content=body, headers=chatwoot_headers(body))
    assert (first.json()["status"], again.json()["status"]) == ("accepted", "duplicate")
    records = await read_for(
        ingress_settings.kafka_bootstrap, ingress_settings.topic(Topic.PLATFORM_EVENTS), 1.0
    )
    assert len(records) == 1
