"""Partner request builders, LLM request bodies and settings validation (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr, ValidationError

from switchboard_ai_responder.domain.conversation import Turn
from switchboard_ai_responder.domain.tenants import TenantSettings
from switchboard_ai_responder.providers import anthropic, openai_compatible
from switchboard_ai_responder.providers.base import AnswerRequest
from switchboard_ai_responder.providers.llm import chat_turns
from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_platform.secrets_box import SecretsBox
from switchboard_platform.settings import Environment

NOW = datetime(2026, 1, 1, tzinfo=UTC)


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


def test_a_request_suggests_from_its_retrievals_floor_unless_the_tenant_turned_suggestions_off() -> None:
    lexical = TenantSettings()
    request = AnswerRequest("q", (), [], lexical)
    assert request.suggestion_threshold() == lexical.min_suggestion_confidence
    assert AnswerRequest("q", (), [], lexical, min_suggestion=0.4).suggestion_threshold() == 0.4
    off = TenantSettings(suggest_articles=False)
    assert AnswerRequest("q", (), [], off, min_suggestion=0.4).suggestion_threshold() is None
