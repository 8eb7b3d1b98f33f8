"""A tenant that chose an LLM gets its answers through it, over Kafka, with the knowledge base as context."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from fastapi import FastAPI

from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_platform.netsafety import IPAddress
from switchboard_testing.builders import message_received
from switchboard_testing.webhooks import Platform

from .fakes import FakeApi, Seen
from .helpers import TENANT, of_type, platform_events
from .knowledge import seed


async def _completion(seen: Seen) -> tuple[int, Any, dict[str, str]]:
    system = seen.json()["messages"][0]["content"]
    text = "Orders ship within 2 business days." if "Shipping times" in system else "I don't know."
    return 200, {"model": "local-llm", "choices": [{"message": {"role": "assistant", "content": text}}]}, {}


async def test_an_openai_compatible_tenant_is_answered_by_its_model(
    api: httpx.AsyncClient, platform: Platform, responder_settings: AiResponderSettings, fake_api: FakeApi
) -> None:
    fake_api.handler = _completion
    await seed(api)
    settings = {
        "provider": "openai-compatible",
        "llm": {
            "base_url": f"{fake_api.base_url}/v1",
            "api_key": "sk-local-0123456789",
            "model": "local-llm",
        },
    }
    response = await api.put("/settings", json=settings)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["llm"]["api_key"] == "••••6789"
    data = message_received(tenant_id=TENANT, conversation_id="llm-1", text="when will my order ship?")
    await platform.event("message.received", TENANT, data.model_dump(mode="json"), partitionkey="llm-1")

    events = await platform_events(responder_settings, lambda es: bool(of_type(es, "message.replied")))
    (reply,) = of_type(events, "message.replied")
    assert reply.data["text"] == "Orders ship within 2 business days."
    (generated,) = of_type(events, "ai.response.generated")
    assert (generated.data["ai_response"]["provider"], generated.data["ai_response"]["model"]) == (
        "openai-compatible",
        "local-llm",
    )
    (request,) = fake_api.requests
    assert request.headers["authorization"] == "Bearer sk-local-0123456789"


async def test_an_unreachable_model_falls_back_to_the_knowledge_base(
    api: httpx.AsyncClient, platform: Platform, responder_settings: AiResponderSettings, fake_api: FakeApi
) -> None:
    await seed(api)
    for _ in range(2):
        fake_api.script(500, {"error": {"message": "boom"}})
    settings = {
        "provider": "anthropic",
        "llm": {"base_url": fake_api.base_url, "api_key": "k" * 20, "model": "claude-test", "max_retries": 1},
    }
    assert (await api.put("/settings", json=settings)).status_code == 200
    data = message_received(tenant_id=TENANT, conversation_id="llm-2", text="when will my order ship?")
    await platform.event("message.received", TENANT, data.model_dump(mode="json"), partitionkey="llm-2")

    events = await platform_events(responder_settings, lambda es: bool(of_type(es, "message.replied")))
    (reply,) = of_type(events, "message.replied")
    assert "2 business days" in reply.data["text"]
    assert of_type(events, "ai.response.generated")[0].data["ai_response"]["provider"] == "knowledge-base"


async def test_llm_settings_are_validated(api: httpx.AsyncClient) -> None:
    missing = await api.put("/settings", json={"provider": "anthropic"})
    assert (missing.status_code, missing.json()["error"]["field"]) == (422, "llm")
    blocked = await api.put(
        "/settings",
        json={"provider": "anthropic", "llm": {"base_url": "http://169.254.169.254", "model": "m"}},
    )
    assert (blocked.status_code, blocked.json()["error"]["code"]) == (422, "invalid_url")
    unauthorized = await api.get("/settings", headers={"Authorization": "Bearer wrong"})
    assert unauthorized.status_code == 401


async def test_an_llm_base_url_whose_host_does_not_resolve_here_is_accepted_with_a_warning(
    api: httpx.AsyncClient, responder: FastAPI
) -> None:
    async def nothing_resolves(host: str, port: int) -> Sequence[IPAddress]:
        raise OSError(f"{host}: no such host")

    responder.state.services.resolver = nothing_resolves
    settings = {"provider": "anthropic", "llm": {"base_url": "https://llm.corp.internal", "model": "m"}}

    response = await api.put("/settings", json=settings)

    assert response.status_code == 200, response.text
    assert [(w["code"], w["field"]) for w in response.json()["warnings"]] == [
        ("unresolved_host", "llm.base_url")
    ]
    assert response.json()["data"]["llm"]["base_url"] == "https://llm.corp.internal"
