"""Idempotency, ordering and memory over real Kafka + FerretDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.topics import Topic
from switchboard_platform.kafka import event_publisher, publish_event
from switchboard_testing.builders import message_received
from switchboard_testing.kafka import read_for
from switchboard_testing.waiting import eventually
from switchboard_testing.webhooks import Platform

from .helpers import TENANT, events_of, of_type, platform_events
from .knowledge import seed


def _message(conversation_id: str, message_id: str, text: str) -> dict[str, Any]:
    return message_received(
        tenant_id=TENANT, conversation_id=conversation_id, message_id=message_id, text=text
    ).model_dump(mode="json")


async def test_the_same_inbound_event_twice_gets_one_answer(
    api: httpx.AsyncClient, platform: Platform, responder_settings: AiResponderSettings
) -> None:
    await seed(api)
    event = CloudEvent(
        source="//freshchat-bridge",
        type="message.received",
        tenant=TENANT,
        partitionkey="dup-1",
        data=_message("dup-1", "m-1", "where is my tracking number"),
    )
    publisher = event_publisher(
        platform.broker, responder_settings, Topic.PLATFORM_EVENTS, title="t", description="t"
    )
    await publish_event(publisher, event)
    await publish_event(publisher, event)
    # A later message on the same conversation: once it is answered, both copies of the first were handled.
    await platform.event("message.received", TENANT, _message("dup-1", "m-2", "thanks"), partitionkey="dup-1")

    events = await platform_events(
        responder_settings, lambda es: bool(of_type(es, "message.replied", in_reply_to="m-2"))
    )
    assert len(of_type(events, "message.replied", in_reply_to="m-1")) == 1
    assert len(of_type(events, "ai.response.generated")) == 1


async def test_a_conversations_messages_are_answered_in_order_with_memory(
    api: httpx.AsyncClient, platform: Platform, responder_settings: AiResponderSettings
) -> None:
    await seed(api)
    texts = ["hello", "how do I cancel my subscription", "how long does shipping take", "thank you"]
    for number, text in enumerate(texts):
        await platform.event(
            "message.received", TENANT, _message("ord-1", f"m-{number}", text), partitionkey="ord-1"
        )

    events = await platform_events(responder_settings, lambda es: len(of_type(es, "message.replied")) == 4)
    replies = of_type(events, "message.replied")
    assert [reply.data["in_reply_to"] for reply in replies] == ["m-0", "m-1", "m-2", "m-3"]
    assert [reply.data["content_type"] for reply in replies] == ["article", "article", "article", "text"]

    async def remembered() -> list[dict[str, Any]]:
        history: list[dict[str, Any]] = (await api.get("/conversations/ord-1")).json()["data"]["history"]
        return history if len(history) == 8 else []

    history = await eventually(remembered, timeout_s=20)
    assert [turn["role"] for turn in history] == ["user", "assistant"] * 4
    assert [turn["text"] for turn in history[::2]] == texts


async def test_memory_expires_after_the_idle_period(
    api: httpx.AsyncClient, platform: Platform, responder: FastAPI, responder_settings: AiResponderSettings
) -> None:
    async def replies_handled(count: int) -> bool:
        sample = responder.state.metrics.registry.get_sample_value(
            "ai_responder_events_total", {"type": "message.replied", "result": "recorded"}
        )
        return bool(sample == count)

    async def turns(count: int) -> list[dict[str, Any]]:
        response = await api.get("/conversations/idle-1")
        history: list[dict[str, Any]] = (
            response.json()["data"]["history"] if response.status_code == 200 else []
        )
        return history if len(history) == count else []

    await platform.event("message.received", TENANT, _message("idle-1", "m-1", "hi"), partitionkey="idle-1")
    await platform_events(
        responder_settings, lambda es: bool(of_type(es, "message.replied", in_reply_to="m-1"))
    )
    # Both turns remembered, and the bot's reply came back through the consumer, before time moves on.
    await eventually(lambda: turns(2), timeout_s=20)
    await eventually(lambda: replies_handled(1), timeout_s=20)
    later = datetime.now(UTC) + timedelta(seconds=responder_settings.session_idle_s + 60)
    responder.state.responder.clock = lambda: later

    await platform.event(
        "message.received", TENANT, _message("idle-1", "m-2", "thanks"), partitionkey="idle-1"
    )
    await platform_events(
        responder_settings, lambda es: bool(of_type(es, "message.replied", in_reply_to="m-2"))
    )

    history = await eventually(lambda: turns(2), timeout_s=20)
    assert history[0]["text"] == "thanks"
    # Both replies came back through the consumer (a late one would re-create the swept conversation).
    await eventually(lambda: replies_handled(2), timeout_s=20)
    # Where the server has no TTL index the sweep deletes it once it is idle long enough.
    store = responder.state.stores.conversations
    assert await store.sweep(later + timedelta(seconds=2 * responder_settings.session_idle_s)) >= 1
    assert (await api.get("/conversations/idle-1")).status_code == 404


async def test_events_that_are_not_for_the_responder_are_ignored(
    platform: Platform, responder_settings: AiResponderSettings, responder: FastAPI
) -> None:
    # Same partition (the default partitionkey): once the second is handled, the first was too.
    await platform.event("ticket.created", TENANT, {"ticket": {"id": "t-1", "subject": "Help"}})
    await platform.event("message.received", TENANT, {"not": "a message"})

    async def handled() -> bool:
        sample = responder.state.metrics.registry.get_sample_value(
            "ai_responder_events_total", {"type": "message.received", "result": "invalid"}
        )
        return bool(sample == 1)

    await eventually(handled, timeout_s=20)
    records = await read_for(
        responder_settings.kafka_bootstrap, responder_settings.topic(Topic.PLATFORM_EVENTS), 1.0
    )
    assert [event.type for event in events_of(records)] == ["ticket.created", "message.received"]
