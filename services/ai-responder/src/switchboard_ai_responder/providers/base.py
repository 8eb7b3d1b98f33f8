"""The provider port: one interface whatever answers (the offline knowledge base or an LLM over HTTP)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from switchboard_ai_responder.domain.answers import Answer
from switchboard_ai_responder.domain.conversation import Turn
from switchboard_ai_responder.domain.knowledge import Passage
from switchboard_ai_responder.domain.tenants import TenantSettings


@dataclass(frozen=True)
class AnswerRequest:
    question: str
    #: Earlier turns of the conversation, oldest first (already cut to the tenant's history window).
    history: Sequence[Turn]
    #: Retrieved passages, best first (possibly empty).
    passages: Sequence[Passage]
    settings: TenantSettings
    #: The threshold the passages' confidence is judged by (lexical and hybrid retrieval have their own);
    #: None: the tenant's ``min_confidence``.
    min_confidence: float | None = None
    #: The confidence from which a fallback offers the retrieved articles (``Retrieved.min_suggestion``);
    #: None: the tenant's ``min_suggestion_confidence``, or none when the tenant turned suggestions off.
    min_suggestion: float | None = None

    def threshold(self) -> float:
        return self.settings.min_confidence if self.min_confidence is None else self.min_confidence

    def suggestion_threshold(self) -> float | None:
        """None: the tenant offers no suggestions."""
        if not self.settings.suggest_articles:
            return None
        return self.settings.min_suggestion_confidence if self.min_suggestion is None else self.min_suggestion


class ProviderError(Exception):
    """The provider could not answer (after its retries). The message never contains credentials."""


class AnswerProvider(Protocol):
    name: str

    async def answer(self, request: AnswerRequest) -> Answer: ...
