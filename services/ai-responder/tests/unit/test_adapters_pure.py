"""Partner request builders, LLM request bodies and settings validation (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr, ValidationError

from switchboard_ai_responder.domain.conversation import Turn
from switchboard_ai_responder.domain.tenants import TenantSettings
from switchboard_ai_responder.partners import MissingCredential, requests_for, text_of
from switchboard_ai_responder.providers import anthropic, openai_compatible
from switchboard_ai_responder.providers.base import AnswerRequest
from switchboard_ai_responder.providers.llm import chat_turns
from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_shared.cloudevents import CloudEvent
from switchboard_shared.secrets_box import SecretsBox
from switchboard_shared.settings import Environment

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _reply(**data: object) -> CloudEvent:
    body = {"tenant_id": "t", "conversation_id": "c-1", "author": {"type": "bot"}, "text": "Hi", **data}
    return CloudEvent(source="/t", type="message.replied", data=body)


def test_text_only_platforms_get_article_links_spelled_out() -> None:
    data = {
        "text": "See:",
        "content_type": "article",
        "content_attributes": {"items": [{"title": "A", "link": "https://a"}]},
    }
    assert text_of(data) == "See:\n- A: https://a"


def test_a_freshchat_reply_without_a_bot_agent_posts_as_the_bot_actor() -> None:
    (request,) = requests_for(
        "freshchat", {"api_url": "https://acme.freshchat.com/v2/", "api_token": "t"}, _reply()
    )
    assert request.url == "https://acme.freshchat.com/v2/conversations/c-1/messages"
    assert request.body["actor_type"] == "bot"
    assert "actor_id" not in request.body


def test_a_zendesk_reply_uses_the_public_host_by_default() -> None:
    credentials = {"subdomain": "acme", "email": "bot@acme.test", "api_token": "x"}
    (request,) = requests_for("zendesk", credentials, _reply())
    assert (request.method, request.url) == ("PUT", "https://acme.zendesk.com/api/v2/tickets/c-1.json")


def test_missing_credentials_are_named() -> None:
    with pytest.raises(MissingCredential, match=r"reply\.admin_id"):
        requests_for("intercom", {"access_token": "t"}, _reply())


def test_generic_partners_and_other_events_need_no_api_call() -> None:
    assert requests_for("generic", {}, _reply()) == []
    assert requests_for("chatwoot", {}, CloudEvent(source="/t", type="ticket.created", data={})) == []


def _request() -> AnswerRequest:
    history = [
        Turn("1", "assistant", "Welcome!", NOW),
        Turn("2", "user", "hello", NOW),
        Turn("3", "agent", "Sarah here", NOW),
        Turn("4", "assistant", "Anything else?", NOW),
        Turn("5", "user", "yes", NOW),
    ]
    return AnswerRequest(
        question="How do refunds work?", history=history, passages=[], settings=TenantSettings()
    )


def test_chat_turns_alternate_start_with_the_user_and_end_with_the_question() -> None:
    turns = chat_turns(_request())
    assert [turn["role"] for turn in turns] == ["user", "assistant", "user"]
    assert turns[1]["content"] == "Sarah here\n\nAnything else?"
    assert turns[-1]["content"] == "yes\n\nHow do refunds work?"


def test_llm_bodies_carry_model_limits_and_the_rag_prompt() -> None:
    body = openai_compatible.request_body(_request(), "gpt-x", 0.1, 300)
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("gpt-x", 0.1, 300)
    assert body["messages"][0]["role"] == "system"
    assert "none matched" in body["messages"][0]["content"]
    claude = anthropic.request_body(_request(), "claude-x", 0.1, 300)
    assert claude["system"] == body["messages"][0]["content"]
    assert claude["messages"] == body["messages"][1:]


def test_production_refuses_the_development_admin_token() -> None:
    with pytest.raises(ValidationError, match="SB_AI_RESPONDER_ADMIN_TOKEN"):
        AiResponderSettings(
            environment=Environment.PRODUCTION, secrets_key=SecretStr(SecretsBox.generate_key())
        )


def test_tenant_settings_validate_ranges() -> None:
    with pytest.raises(ValidationError):
        TenantSettings(review_threshold=1.5)
