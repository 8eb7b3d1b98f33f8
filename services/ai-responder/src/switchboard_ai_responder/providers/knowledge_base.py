"""The default, offline provider: answers composed from the tenant's own articles (no model, no network)."""

from __future__ import annotations

from switchboard_ai_responder.domain import answers
from switchboard_ai_responder.domain.answers import Answer
from switchboard_ai_responder.providers.base import AnswerRequest


class KnowledgeBaseProvider:
    name = "knowledge-base"

    async def answer(self, request: AnswerRequest) -> Answer:
        return answers.from_knowledge_base(
            request.question, request.passages, request.threshold(), request.suggestion_threshold()
        )
