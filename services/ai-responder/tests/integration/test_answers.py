"""Answers over real Kafka + FerretDB: the widget's synchronous question, and a Freshchat reply to its API."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from switchboard_ai_responder.domain.tenants import TenantSettings
from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import (
    CORRELATION_EXTENSION,
    REPLY_STATUS_EXTENSION,
    REPLY_TO_EXTENSION,
    Reply,
    WidgetResponse,
)
from switchboard_contracts.topics import Topic
from switchboard_testing.builders import message_received
from switchboard_testing.waiting import eventually
from switchboard_testing.webhooks import Platform

from .helpers import TENANT, of_type, platform_events
from .knowledge import seed


def _message(conversation_id: str, text: str, **fields: Any) -> dict[str, Any]:
    return message_received(
        tenant_id=TENANT, conversation_id=conversation_id, text=text, **fields
    ).model_dump(mode="json")


async def ask_widget(
    platform: Platform, settings: AiResponderSettings, session: str, text: str
) -> CloudEvent:
    """A widget question as ingress sends it (waiting for its answer), and the one reply correlated to it."""
    correlation = f"corr-{session}"
    await platform.event(
        "message.received",
        TENANT,
        _message(session, text, provider="widget"),
        partitionkey=session,
        extensions={REPLY_TO_EXTENSION: correlation},
    )
    replies = await platform_events(
        settings,
        lambda events: any(e.extensions.get(CORRELATION_EXTENSION) == correlation for e in events),
        topic=Topic.REPLIES,
    )
    (sync,) = replies
    return sync


async def test_a_widget_question_is_answered_synchronously_from_the_knowledge_base_with_the_right_article(
    api: httpx.AsyncClient, platform: Platform, responder_settings: AiResponderSettings
) -> None:
    await seed(api)
    sync = await ask_widget(
        platform, responder_settings, "widget-session-1", "How long do refunds take to reach my card?"
    )
    assert sync.type == "message.replied"
    assert sync.extensions[REPLY_STATUS_EXTENSION] == "answered"
    body = WidgetResponse.from_reply(sync.data_as(Reply)).body()
    assert body["content_type"] == "article"
    assert body["content_attributes"]["items"][0]["link"] == "https://help.acme.test/billing/refunds"
    assert "5 to 10 business days" in body["content"]
    # The same answer is a message.replied on platform.events (for the dispatcher), after ai.response.generated.
    events = await platform_events(responder_settings, lambda es: bool(of_type(es, "message.replied")))
    (reply,) = of_type(events, "message.replied")
    assert reply.partitionkey == "widget-session-1"
    assert reply.tenant == TENANT
    assert reply.data["text"] == sync.data["text"]
    (generated,) = of_type(events, "ai.response.generated")
    assert generated.data["ai_response"]["citations"][0]["title"] == "Refunds and cancellations"
    assert generated.data["ticket"]["id"] == "widget-session-1"


async def test_a_widget_question_the_bot_is_unsure_of_gets_the_closest_articles_and_a_human_offered(
    api: httpx.AsyncClient, platform: Platform, responder_settings: AiResponderSettings
) -> None:
    await seed(api)
    sync = await ask_widget(
        platform, responder_settings, "widget-session-2", "my card was charged and I want it back"
    )
    body = WidgetResponse.from_reply(sync.data_as(Reply)).body()
    assert "might help" in body["content"]
    assert "talk to an agent" in body["content"]
    assert body["content_type"] == "article"
    assert body["content_attributes"]["items"][0]["link"] == "https://help.acme.test/billing/refunds"
    # Not an answer: nothing cited, and below the tenant's threshold.
    events = await platform_events(responder_settings, lambda es: bool(of_type(es, "ai.response.generated")))
    (generated,) = of_type(events, "ai.response.generated")
    assert generated.data["ai_response"]["citations"] == []
    assert generated.data["ai_response"]["confidence"] < TenantSettings().min_confidence


async def test_a_freshchat_message_is_answered_with_a_reply_for_the_integration(
    api: httpx.AsyncClient, platform: Platform, responder_settings: AiResponderSettings
) -> None:
    """The reply event carries what the dispatcher's Freshchat adapter needs (tests/e2e sends it on)."""
    await seed(api)
    data = _message(
        "fc-conv-7", "I forgot my password, how do I reset it?", provider="freshchat", integration_id="int-1"
    )
    await platform.event("message.received", TENANT, data, partitionkey="fc-conv-7")

    events = await platform_events(responder_settings, lambda es: bool(of_type(es, "message.replied")))
    (reply,) = of_type(events, "message.replied")
    assert reply.partitionkey == "fc-conv-7"
    assert reply.data["conversation_id"] == "fc-conv-7"
    assert reply.data["integration_id"] == "int-1"
    assert reply.data["provider"] == "freshchat"
    assert "https://help.acme.test/account/password-reset" in json.dumps(reply.data)


async def test_an_answer_records_how_well_the_knowledge_base_covered_the_question(
    api: httpx.AsyncClient, platform: Platform, responder: FastAPI, responder_settings: AiResponderSettings
) -> None:
    await seed(api)
    registry = responder.state.metrics.registry
    await platform.event(
        "message.received",
        TENANT,
        _message("confidence-1", "How long do refunds take to reach my card?"),
        partitionkey="confidence-1",
    )
    await platform_events(responder_settings, lambda events: bool(of_type(events, "message.replied")))

    async def observed() -> bool:
        return bool(registry.get_sample_value("ai_responder_answer_confidence_count") == 1)

    await eventually(observed, timeout_s=20)
    # One answer from the knowledge base, at least as confident as the tenant's threshold to be sent.
    confidence = registry.get_sample_value("ai_responder_answer_confidence_sum")
    assert confidence is not None
    assert TenantSettings().min_confidence <= confidence <= 1.0


async def test_the_consumer_lag_of_the_partitions_it_holds_is_exported_and_drains_to_zero(
    api: httpx.AsyncClient, platform: Platform, responder: FastAPI, responder_settings: AiResponderSettings
) -> None:
    await platform.event("message.received", TENANT, _message("lag-1", "hello"), partitionkey="lag-1")
    await platform_events(responder_settings, lambda events: bool(of_type(events, "message.replied")))

    async def drained() -> dict[str, float] | None:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=responder), base_url="http://responder"
        ) as http:
            text = (await http.get("/metrics")).text
        lags = {
            sample.labels["partition"]: sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "ai_responder_consumer_lag"
        }
        return lags if lags and not any(lags.values()) else None

    await eventually(drained, timeout_s=20)
