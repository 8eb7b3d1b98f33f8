"""seed 002 live chat over real Kafka + FerretDB: handoff, the bot's silence, agent routing, closing."""

from __future__ import annotations

from typing import Any

import httpx

from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_contracts.events import CORRELATION_EXTENSION, REPLY_STATUS_EXTENSION, REPLY_TO_EXTENSION
from switchboard_contracts.topics import Topic
from switchboard_testing.builders import message_received
from switchboard_testing.webhooks import Platform

from .helpers import TENANT, of_type, platform_events
from .knowledge import seed

CONVERSATION = "conv_456"


def _message(text: str, message_id: str, author_type: str = "user", **fields: Any) -> dict[str, Any]:
    author = {"id": "external_user_123", "name": "John Doe", "type": author_type}
    if author_type == "agent":
        author = {"id": "agent-7", "name": "Agent Sarah", "type": "agent"}
    return message_received(
        tenant_id=TENANT,
        conversation_id=CONVERSATION,
        message_id=message_id,
        text=text,
        provider="freshchat",
        integration_id="int-fc",
        author=author,
        **fields,
    ).model_dump(mode="json")


async def test_a_human_request_hands_over_silences_the_bot_routes_agents_and_closing_returns_the_bot(
    api: httpx.AsyncClient, platform: Platform, responder_settings: AiResponderSettings
) -> None:
    await seed(api)
    await platform.event(
        "message.received", TENANT, _message("I want to talk to a human!", "m-1"), partitionkey=CONVERSATION
    )

    events = await platform_events(responder_settings, lambda es: bool(of_type(es, "handoff.requested")))
    (handoff,) = of_type(events, "handoff.requested")
    assert handoff.partitionkey == CONVERSATION
    # seed 002's live-chat payload fields, as the dispatcher reads them.
    assert handoff.data["conversation_id"] == CONVERSATION
    assert handoff.data["user_id"] == "external_user_123"
    assert handoff.data["platform"] == "freshchat"
    assert handoff.data["session_id"].startswith("live_")
    assert handoff.data["reason"] == "requested"
    assert handoff.data["message"]
    assert of_type(events, "message.replied") == []
    session_id = handoff.data["session_id"]
    state = (await api.get(f"/conversations/{CONVERSATION}")).json()["data"]
    assert (state["mode"], state["session_id"]) == ("live", session_id)

    # While the session is open the bot stays silent (the synchronous waiter is told so).
    await platform.event(
        "message.received",
        TENANT,
        _message("How do I reset my password?", "m-2"),
        partitionkey=CONVERSATION,
        extensions={REPLY_TO_EXTENSION: "corr-silent"},
    )
    (silent,) = await platform_events(
        responder_settings,
        lambda es: any(e.extensions.get(CORRELATION_EXTENSION) == "corr-silent" for e in es),
        topic=Topic.REPLIES,
    )
    assert silent.extensions[REPLY_STATUS_EXTENSION] == "silent"

    # An agent's message through the API, and one arriving as message.received (agent_outgoing), reach the user.
    response = await api.post(
        f"/conversations/{CONVERSATION}/agent-messages",
        json={"text": "Hi John, Sarah here.", "agent_name": "Agent Sarah"},
    )
    assert response.status_code == 202, response.text
    await platform.event(
        "message.received",
        TENANT,
        _message("Let me check your account.", "m-3", author_type="agent"),
        partitionkey=CONVERSATION,
    )
    events = await platform_events(
        responder_settings,
        lambda es: (
            len([e for e in of_type(es, "message.replied") if e.data["author"]["type"] == "agent"]) == 2
        ),
    )
    routed = [e for e in of_type(events, "message.replied") if e.data["author"]["type"] == "agent"]
    assert [e.data["text"] for e in routed] == ["Hi John, Sarah here.", "Let me check your account."]
    assert {e.data["user_id"] for e in routed} == {"external_user_123"}
    assert {e.data["author"]["name"] for e in routed} == {"Agent Sarah"}

    response = await api.post(f"/conversations/{CONVERSATION}/handoff/close")
    assert response.status_code == 202, response.text
    assert response.json()["data"]["session_id"] == session_id
    assert (await api.post(f"/conversations/{CONVERSATION}/handoff/close")).status_code == 409

    await platform.event(
        "message.received", TENANT, _message("How do I reset my password?", "m-4"), partitionkey=CONVERSATION
    )
    events = await platform_events(
        responder_settings, lambda es: bool(of_type(es, "message.replied", in_reply_to="m-4"))
    )
    (closed,) = of_type(events, "handoff.closed")
    assert closed.data == {"tenant_id": TENANT, "conversation_id": CONVERSATION, "session_id": session_id}
    (answer,) = of_type(events, "message.replied", in_reply_to="m-4")
    assert answer.data["author"]["type"] == "bot"
    assert "Forgot password" in answer.data["text"]
    # The message sent during live chat never got a bot answer.
    assert of_type(events, "message.replied", in_reply_to="m-2") == []


async def test_answers_that_find_nothing_twice_in_a_row_hand_over_to_a_human(
    api: httpx.AsyncClient, platform: Platform, responder_settings: AiResponderSettings
) -> None:
    await seed(api)
    for number, text in enumerate(["Do you sell garden gnomes?", "What is the weather in Paris?"], start=1):
        await platform.event(
            "message.received", TENANT, _message(text, f"q-{number}"), partitionkey=CONVERSATION
        )

    events = await platform_events(responder_settings, lambda es: bool(of_type(es, "handoff.requested")))
    (first,) = of_type(events, "message.replied", in_reply_to="q-1")
    assert "couldn't find" in first.data["text"]
    (handoff,) = of_type(events, "handoff.requested")
    assert handoff.data["reason"] == "low_confidence"
    assert handoff.data["user_message"] == "What is the weather in Paris?"


async def test_agent_messages_outside_live_chat_are_not_routed(
    api: httpx.AsyncClient, platform: Platform, responder_settings: AiResponderSettings
) -> None:
    response = await api.post(f"/conversations/{CONVERSATION}/agent-messages", json={"text": "hello"})
    assert response.status_code == 404
    await platform.event("message.received", TENANT, _message("hi", "u-1"), partitionkey=CONVERSATION)
    await platform_events(responder_settings, lambda es: bool(of_type(es, "message.replied")))
    response = await api.post(f"/conversations/{CONVERSATION}/agent-messages", json={"text": "hello"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


async def test_in_a_widget_conversation_the_agents_messages_also_go_to_the_replies_topic(
    api: httpx.AsyncClient, platform: Platform, responder_settings: AiResponderSettings
) -> None:
    """The widget has no reply API: ingress keeps an agent's messages for its poll, reading the replies topic."""
    conversation = "widget-session-1"

    def widget_message(text: str, message_id: str, author_type: str = "user") -> dict[str, Any]:
        return {
            **_message(text, message_id, author_type),
            "conversation_id": conversation,
            "provider": "widget",
            "integration_id": "int-widget",
        }

    await platform.event(
        "message.received",
        TENANT,
        widget_message("I want to talk to a human!", "w-1"),
        partitionkey=conversation,
    )
    await platform_events(responder_settings, lambda es: bool(of_type(es, "handoff.requested")))
    response = await api.post(
        f"/conversations/{conversation}/agent-messages",
        json={"text": "Hi, Sarah here.", "agent_name": "Sarah"},
    )
    assert response.status_code == 202, response.text
    await platform.event(
        "message.received",
        TENANT,
        widget_message("Let me check.", "w-2", author_type="agent"),
        partitionkey=conversation,
    )

    def agents(events: list[Any]) -> list[Any]:
        return [e for e in of_type(events, "message.replied") if e.data["author"]["type"] == "agent"]

    copies = agents(
        await platform_events(responder_settings, lambda es: len(agents(es)) == 2, topic=Topic.REPLIES)
    )
    originals = agents(await platform_events(responder_settings, lambda es: len(agents(es)) == 2))
    assert [e.data["text"] for e in copies] == ["Hi, Sarah here.", "Let me check."]
    assert [e.id for e in copies] == [e.id for e in originals]
    assert all(CORRELATION_EXTENSION not in e.extensions for e in copies)
    assert {e.partitionkey for e in copies} == {conversation}
