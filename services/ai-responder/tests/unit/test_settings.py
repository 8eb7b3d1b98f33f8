"""Production refuses loopback LLM base URLs at start-up; a private-network model server stays possible."""

from __future__ import annotations

import pytest

from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_platform.secrets_box import SecretsBox


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("SB_ENVIRONMENT", "production")
    monkeypatch.setenv("SB_SECRETS_KEY", SecretsBox.generate_key())
    monkeypatch.setenv("SB_AI_RESPONDER_ADMIN_TOKEN", "9f2c1e7a0b5d4c3e8a6f1b2d")
    return monkeypatch


def test_production_refuses_loopback_llm_urls(production: pytest.MonkeyPatch) -> None:
    production.setenv("SB_AI_RESPONDER_ALLOW_LOOPBACK_LLM_URLS", "true")
    with pytest.raises(
        ValueError, match="SB_AI_RESPONDER_ALLOW_LOOPBACK_LLM_URLS=true is refused in production"
    ):
        AiResponderSettings()


def test_production_may_use_an_in_cluster_model_server(production: pytest.MonkeyPatch) -> None:
    production.setenv("SB_AI_RESPONDER_ALLOW_PRIVATE_LLM_URLS", "true")
    assert AiResponderSettings().allow_private_llm_urls is True
