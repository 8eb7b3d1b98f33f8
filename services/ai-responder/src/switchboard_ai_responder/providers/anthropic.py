"""Anthropic's Messages API.

``POST {base_url}/v1/messages`` with ``x-api-key``, ``anthropic-version: 2023-06-01`` and
``{model, max_tokens, system, messages: [{role: user|assistant, content}], temperature}``; the answer is the
first ``text`` block of ``content``.
"""

from __future__ import annotations

from typing import Any

from switchboard_ai_responder.domain.answers import Answer
from switchboard_ai_responder.providers.base import AnswerRequest
from switchboard_ai_responder.providers.llm import (
    HttpLlmProvider,
    chat_turns,
    first_text,
    grounded,
    system_prompt,
)

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"


def request_body(request: AnswerRequest, model: str, temperature: float, max_tokens: int) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": max_tokens,
        "system": system_prompt(request),
        "messages": chat_turns(request),
        "temperature": temperature,
    }


class AnthropicProvider(HttpLlmProvider):
    name = "anthropic"

    default_base_url = DEFAULT_BASE_URL
    path = "/v1/messages"

    async def answer(self, request: AnswerRequest) -> Answer:
        headers = {"anthropic-version": API_VERSION}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        body = await self.post(headers, request_body(request, self.model, self.temperature, self.max_tokens))
        text = first_text(body.get("content") or [])
        return grounded(request, text, self.name, str(body.get("model") or self.model))
