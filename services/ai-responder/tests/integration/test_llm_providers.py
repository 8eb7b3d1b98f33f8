"""The LLM providers against local fake servers speaking each API over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from switchboard_ai_responder.domain.conversation import Turn
from switchboard_ai_responder.domain.knowledge import Article, KnowledgeIndex
from switchboard_ai_responder.domain.tenants import TenantSettings
from switchboard_ai_responder.providers.anthropic import AnthropicProvider
from switchboard_ai_responder.providers.base import AnswerRequest, ProviderError
from switchboard_ai_responder.providers.openai_compatible import OpenAICompatibleProvider

from .fakes import FakeApi, Seen

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ARTICLE = Article(
    id="a-1",
    title="Refunds and cancellations",
    body="Annual plans cancelled within 14 days are refunded in full. Refunds take 5 to 10 business days.",
    link="https://help.acme.test/refunds",
    created_at=NOW,
    updated_at=NOW,
)


def _request(question: str = "How long do refunds take?") -> AnswerRequest:
    history = [
        Turn("e1", "user", "hello", NOW),
        Turn("e2", "assistant", "Hello! How can I help you today?", NOW),
    ]
    passages = KnowledgeIndex([ARTICLE]).search(question)
    return AnswerRequest(question=question, history=history, passages=passages, settings=TenantSettings())


async def openai_answer(_: Seen) -> tuple[int, Any, dict[str, str]]:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-test",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Refunds take 5 to 10 business days."}}
        ],
    }
    return 200, body, {}


async def anthropic_answer(_: Seen) -> tuple[int, Any, dict[str, str]]:
    body = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [{"type": "text", "text": "Refunds take 5 to 10 business days."}],
        "stop_reason": "end_turn",
    }
    return 200, body, {}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


async def _server(handler: Any) -> FakeApi:
    return await FakeApi(handler).start()


async def test_openai_compatible_sends_chat_completions_with_the_passages_and_history(
    client: httpx.AsyncClient,
) -> None:
    server = await _server(openai_answer)
    try:
        provider = OpenAICompatibleProvider(
            client, model="gpt-test", api_key="sk-test", base_url=f"{server.base_url}/v1"
        )
        answer = await provider.answer(_request())
    finally:
        await server.stop()

    (seen,) = server.requests
    assert (seen.method, seen.path) == ("POST", "/v1/chat/completions")
    assert seen.headers["authorization"] == "Bearer sk-test"
    body = seen.json()
    assert body["model"] == "gpt-test"
    assert [message["role"] for message in body["messages"]] == ["system", "user", "assistant", "user"]
    assert "Refunds and cancellations" in body["messages"][0]["content"]
    assert "14 days" in body["messages"][0]["content"]
    assert body["messages"][-1]["content"] == "How long do refunds take?"
    assert answer.text == "Refunds take 5 to 10 business days."
    assert (answer.provider, answer.model, answer.kind) == ("openai-compatible", "gpt-test", "answer")
    assert answer.citations[0].article_id == "a-1"
    assert answer.content_attributes["items"][0]["link"] == "https://help.acme.test/refunds"


async def test_anthropic_sends_a_messages_request_with_the_system_prompt(client: httpx.AsyncClient) -> None:
    server = await _server(anthropic_answer)
    try:
        provider = AnthropicProvider(
            client, model="claude-test", api_key="sk-ant-test", base_url=server.base_url
        )
        answer = await provider.answer(_request())
    finally:
        await server.stop()

    (seen,) = server.requests
    assert (seen.method, seen.path) == ("POST", "/v1/messages")
    assert seen.headers["x-api-key"] == "sk-ant-test"
    assert seen.headers["anthropic-version"] == "2023-06-01"
    body = seen.json()
    assert body["max_tokens"] == 400
    assert "Refunds and cancellations" in body["system"]
    assert [message["role"] for message in body["messages"]] == ["user", "assistant", "user"]
    assert answer.text == "Refunds take 5 to 10 business days."
    assert answer.provider == "anthropic"


async def test_429_and_5xx_are_retried_honouring_retry_after(client: httpx.AsyncClient) -> None:
    server = await _server(openai_answer)
    server.script(429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"})
    server.script(503, {"error": {"message": "overloaded"}})
    try:
        provider = OpenAICompatibleProvider(
            client, model="gpt-test", api_key=None, base_url=server.base_url, max_retries=2, backoff_s=0.01
        )
        answer = await provider.answer(_request())
    finally:
        await server.stop()
    assert len(server.requests) == 3
    assert answer.text.startswith("Refunds")


async def test_retries_give_up_with_the_last_problem(client: httpx.AsyncClient) -> None:
    server = await _server(anthropic_answer)
    for _ in range(3):
        server.script(529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    try:
        provider = AnthropicProvider(
            client, model="c", api_key="k", base_url=server.base_url, max_retries=2, backoff_s=0.01
        )
        with pytest.raises(ProviderError, match="3 attempts: HTTP 529: Overloaded"):
            await provider.answer(_request())
    finally:
        await server.stop()


async def test_client_errors_are_not_retried_and_never_echo_the_key(client: httpx.AsyncClient) -> None:
    server = await _server(openai_answer)
    server.script(401, {"error": {"message": "Incorrect API key provided"}})
    try:
        provider = OpenAICompatibleProvider(
            client, model="m", api_key="sk-secret-value", base_url=server.base_url
        )
        with pytest.raises(ProviderError) as caught:
            await provider.answer(_request())
    finally:
        await server.stop()
    assert len(server.requests) == 1
    assert "401" in str(caught.value)
    assert "sk-secret-value" not in str(caught.value)


async def test_a_slow_server_times_out_and_is_retried(client: httpx.AsyncClient) -> None:
    server = await _server(openai_answer)
    server.script(200, {}, delay=1.0)
    try:
        provider = OpenAICompatibleProvider(
            client,
            model="m",
            api_key=None,
            base_url=server.base_url,
            timeout_s=0.2,
            max_retries=1,
            backoff_s=0.01,
        )
        answer = await provider.answer(_request())
    finally:
        await server.stop()
    assert len(server.requests) == 2
    assert answer.text.startswith("Refunds")


@pytest.mark.parametrize(
    "status",
    [200, 500],
    ids=["an answer", "an error"],
)
async def test_hostile_json_from_an_llm_api_is_a_provider_error(
    client: httpx.AsyncClient, status: int
) -> None:
    """A tenant chooses the LLM base URL, so its answers are outside input: 1,000 levels of nesting used to
    raise RecursionError out of the provider instead of a ProviderError."""
    server = await _server(openai_answer)
    server.script(status, b'{"error": ' + b"[" * 1000 + b"]" * 1000 + b"}")
    try:
        provider = OpenAICompatibleProvider(
            client, model="m", api_key="k", base_url=server.base_url, max_retries=0
        )
        with pytest.raises(ProviderError):
            await provider.answer(_request())
    finally:
        await server.stop()
