"""GET /chat/messages: a handed-off widget conversation receives its agent's messages by polling, from the
agent replies the ingress keeps off the replies topic (``adapters.agent_messages``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka.structs import ConsumerRecord

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import CORRELATION_EXTENSION, Author, EventType, Reply
from switchboard_ingress.adapters.agent_messages import AgentMessages

from ..conftest import start_harness, unit_settings
from ..harness import Harness


def reply_record(
    offset: int,
    text: str,
    *,
    conversation: str = "s-1",
    integration: str | None = "widget-1",
    author: str = "agent",
    event_type: str = EventType.MESSAGE_REPLIED.value,
    event_id: str | None = None,
    correlation: str | None = None,
) -> ConsumerRecord[bytes, bytes]:
    reply = Reply(
        tenant_id="acme",
        conversation_id=conversation,
        integration_id=integration,
        author=Author(name="Agent Sarah", type=author),  # type: ignore[arg-type]
        text=text,
    )
    event = CloudEvent(
        id=event_id or f"e-{offset}",
        source="/switchboard/ai-responder",
        type=event_type,
        tenant="acme",
        partitionkey=conversation,
        data=reply,
        extensions={CORRELATION_EXTENSION: correlation} if correlation else {},
    )
    return ConsumerRecord(
        topic="switchboard.replies",
        partition=0,
        offset=offset,
        timestamp=1_780_000_000_000,
        timestamp_type=0,
        key=conversation.encode(),
        value=event.kafka_value(),
        checksum=None,
        serialized_key_size=len(conversation),
        serialized_value_size=0,
        headers=event.kafka_header_list(),
    )


@pytest.fixture
async def widget() -> AsyncIterator[Harness]:
    async for running in start_harness(unit_settings()):
        running.integration("widget-1", "generic")
        running.integration("widget-2", "generic")
        yield running


def mailbox(harness: Harness) -> AgentMessages:
    messages: AgentMessages = harness.app.state.agent_messages
    return messages


async def poll(
    harness: Harness, session: str = "s-1", after: int | None = None, integration: str = "widget-1"
) -> dict[str, object]:
    query = f"/chat/messages?integration={integration}&session_id={session}"
    response = await harness.client.get(query if after is None else f"{query}&after={after}")
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_the_widget_receives_the_agents_messages_after_its_cursor(widget: Harness) -> None:
    mailbox(widget).take(reply_record(7, "Hi, I'm Sarah from support."))
    mailbox(widget).take(reply_record(9, "Your refund is on its way."))

    first = await poll(widget)
    assert [message["text"] for message in first["messages"]] == [  # type: ignore[attr-defined]
        "Hi, I'm Sarah from support.",
        "Your refund is on its way.",
    ]
    assert first["cursor"] == 9
    assert (await poll(widget, after=7))["messages"][0]["author"] == "Agent Sarah"  # type: ignore[index]
    assert await poll(widget, after=9) == {"messages": [], "cursor": 9}


async def test_only_agent_replies_of_that_widget_conversation_are_kept(widget: Harness) -> None:
    box = mailbox(widget)
    box.take(reply_record(1, "bot answer", author="bot"))
    box.take(reply_record(2, "another session", conversation="s-2"))
    box.take(reply_record(3, "another widget", integration="widget-2"))
    box.take(reply_record(4, "not a reply", event_type=EventType.MESSAGE_RECEIVED.value))
    box.take(reply_record(5, "no integration", integration=None))
    box.take(reply_record(7, "a synchronous answer", correlation="corr-1"))  # a waiter's, never kept
    box.take(reply_record(6, "twice", event_id="same"))
    box.take(reply_record(8, "twice", event_id="same"))  # the same event published again

    assert [message["text"] for message in (await poll(widget))["messages"]] == ["twice"]  # type: ignore[attr-defined]
    assert [message["text"] for message in (await poll(widget, "s-2"))["messages"]] == ["another session"]  # type: ignore[attr-defined]


async def test_an_unknown_widget_is_404(widget: Harness) -> None:
    response = await widget.client.get("/chat/messages?integration=nope&session_id=s-1")
    assert response.status_code == 404
    assert response.json()["error"] == "Unknown widget"


def test_conversations_are_bounded_and_forgotten_after_the_ttl() -> None:
    now = [0.0]
    box = AgentMessages(per_conversation=2, max_conversations=2, ttl_s=60, clock=lambda: now[0])
    for index, session in enumerate(("a", "b", "c")):
        box.add("w", session, {"id": session, "cursor": index, "text": session})
    assert len(box) == 2
    assert box.after("w", "a", -1) == []  # the oldest conversation went first
    for cursor in (10, 11, 12):
        box.add("w", "c", {"id": f"c{cursor}", "cursor": cursor, "text": str(cursor)})
    assert [message["cursor"] for message in box.after("w", "c", -1)] == [11, 12]
    now[0] = 61
    assert box.after("w", "c", -1) == []
