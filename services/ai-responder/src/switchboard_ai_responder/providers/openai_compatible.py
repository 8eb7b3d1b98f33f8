"""OpenAI-compatible Chat Completions (OpenAI, Azure OpenAI's /v1 surface, vLLM, Ollama, LiteLLM …).

``POST {base_url}/chat/completions`` with ``Authorization: Bearer <key>`` and
``{model, messages: [{role: system|user|assistant, content}], temperature, max_tokens}``; the answer is
``choices[0].message.content``.
"""

from __future__ import annotations

from typing import Any

from switchboard_ai_responder.domain.answers import Answer
from switchboard_ai_responder.providers.base import AnswerRequest, ProviderError
from switchboard_ai_responder.providers.llm import (
    HttpLlmProvider,
    chat_turns,
    grounded,
    system_prompt,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def request_body(request: AnswerRequest, model: str, temperature: float, max_tokens: int) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "system", "content": system_prompt(request)}, *chat_turns(request)],
        "temperature": temperature,
        "max_tokens": max_tokens,
    }


def answer_text(body: dict[str, Any]) -> str:
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ProviderError("the Chat Completions answer has no choices[0].message.content") from None
    if not isinstance(content, str) or not content.strip():
        raise ProviderError("the Chat Completions answer is empty")
    return content


class OpenAICompatibleProvider(HttpLlmProvider):
    name = "openai-compatible"

    default_base_url = DEFAULT_BASE_URL
    path = "/chat/completions"

    async def answer(self, request: AnswerRequest) -> Answer:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = await self.post(headers, request_body(request, self.model, self.temperature, self.max_tokens))
        return grounded(request, answer_text(body), self.name, str(body.get("model") or self.model))
