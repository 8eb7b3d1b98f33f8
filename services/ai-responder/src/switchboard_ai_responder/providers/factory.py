"""Which provider answers for a tenant: the knowledge base, or the LLM its settings configure."""

from __future__ import annotations

import httpx

from switchboard_ai_responder.domain.tenants import TenantSettings
from switchboard_ai_responder.providers.anthropic import AnthropicProvider
from switchboard_ai_responder.providers.base import AnswerProvider
from switchboard_ai_responder.providers.knowledge_base import KnowledgeBaseProvider
from switchboard_ai_responder.providers.openai_compatible import OpenAICompatibleProvider


class ProviderFactory:
    """The answering provider a tenant's settings choose (LLM providers share one HTTP connection pool)."""

    def __init__(self, client: httpx.AsyncClient, default_timeout_s: float) -> None:
        self.client = client
        self.default_timeout_s = default_timeout_s
        self.knowledge_base = KnowledgeBaseProvider()

    def for_tenant(self, settings: TenantSettings) -> AnswerProvider:
        llm = settings.llm
        if settings.provider == "knowledge-base" or llm is None:
            return self.knowledge_base
        kind = OpenAICompatibleProvider if settings.provider == "openai-compatible" else AnthropicProvider
        return kind(
            self.client,
            model=llm.model,
            api_key=llm.api_key.get_secret_value() if llm.api_key else None,
            base_url=llm.base_url,
            temperature=llm.temperature,
            max_tokens=llm.max_tokens,
            timeout_s=llm.timeout_s or self.default_timeout_s,
            max_retries=llm.max_retries,
        )
