"""Answering a user's question: intent shortcuts from the knowledge base, else the tenant's provider over the
retrieved passages, falling back to the knowledge base when that provider fails."""

from __future__ import annotations

import logging
import time

from switchboard_ai_responder.domain import answers
from switchboard_ai_responder.domain.answers import Answer
from switchboard_ai_responder.domain.conversation import Conversation
from switchboard_ai_responder.domain.intents import Intent
from switchboard_ai_responder.domain.tenants import TenantSettings
from switchboard_ai_responder.metrics import ResponderMetrics
from switchboard_ai_responder.providers.base import AnswerProvider, AnswerRequest, ProviderError
from switchboard_ai_responder.providers.factory import ProviderFactory
from switchboard_ai_responder.retrieval import Retrieval
from switchboard_contracts.events import MessageReceived

log = logging.getLogger(__name__)

SUGGESTED_ARTICLES = 3
PASSAGES = 3


class Answering:
    def __init__(self, providers: ProviderFactory, retrieval: Retrieval, metrics: ResponderMetrics) -> None:
        self.providers = providers
        self.retrieval = retrieval
        self.metrics = metrics

    async def answer(
        self,
        message: MessageReceived,
        conversation: Conversation,
        settings: TenantSettings,
        intent: Intent,
        key: str,
    ) -> Answer:
        started = time.perf_counter()
        provider: AnswerProvider = self.providers.knowledge_base
        if intent is Intent.GREETING:
            index = await self.retrieval.index(message.tenant_id, settings)
            answer = answers.greeting(settings.greeting, index.articles[:SUGGESTED_ARTICLES])
        elif intent is Intent.THANKS:
            answer = answers.thanks()
        elif intent is Intent.CONTACT:
            answer = answers.contact_form(settings.contact_form)
        elif intent is Intent.PRODUCT and settings.product_cards is not None:
            answer = answers.product_cards(settings.product_cards)
        else:
            provider = self.providers.for_tenant(settings)
            retrieved = await self.retrieval.search(message.tenant_id, message.text, settings, PASSAGES)
            request = AnswerRequest(
                question=message.text,
                history=conversation.window(settings.history_window, excluding=key),
                passages=retrieved.passages,
                settings=settings,
                min_confidence=retrieved.min_confidence,
                min_suggestion=retrieved.min_suggestion,
            )
            try:
                answer = await provider.answer(request)
            except ProviderError as exc:
                # The bot still answers, from the knowledge base, rather than leaving the user waiting.
                self.metrics.provider_errors.labels(provider.name).inc()
                log.warning(
                    "provider failed; answering from the knowledge base: %s",
                    exc,
                    extra={"tenant": message.tenant_id, "provider": provider.name},
                )
                answer = await self.providers.knowledge_base.answer(request)
        self.metrics.answer_latency.labels(provider.name).observe(time.perf_counter() - started)
        return answer
