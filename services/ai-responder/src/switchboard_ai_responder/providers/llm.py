"""What the two LLM providers share: the RAG prompt, the chat turns, and one HTTP call with retries.

Retries follow the providers' own guidance: 429 and 5xx (and Anthropic's 529 "overloaded") are retried after
``Retry-After`` when the server sends one, otherwise after an exponential back-off; timeouts and connection
errors are retried too. Other 4xx (a bad key, an unknown model) are not: retrying cannot fix them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import httpx

from switchboard_ai_responder.domain import answers
from switchboard_ai_responder.domain.answers import Answer
from switchboard_ai_responder.providers.base import AnswerRequest, ProviderError
from switchboard_contracts import strict_json

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
MAX_BACKOFF_S = 8.0
PASSAGE_CHARS = 1500

SYSTEM_PROMPT = """\
You are {bot_name}, a customer-support assistant. Answer the user's last message using the help-center \
passages below. Use only facts found in them; if they do not answer the question, say you don't know and \
offer to connect the user with a human agent. Be brief: at most four sentences. Do not invent links.

Help-center passages:
{passages}"""


def system_prompt(request: AnswerRequest) -> str:
    if request.passages:
        blocks = [
            f"[{number}] {passage.article.title}"
            + (f" ({passage.article.link})" if passage.article.link else "")
            + f"\n{passage.text[:PASSAGE_CHARS]}"
            for number, passage in enumerate(request.passages, start=1)
        ]
        passages = "\n\n".join(blocks)
    else:
        passages = "(none matched this question)"
    return SYSTEM_PROMPT.format(bot_name=request.settings.bot_name, passages=passages)


def chat_turns(request: AnswerRequest) -> list[dict[str, str]]:
    """History then the question, as alternating user/assistant turns (agents speak as the assistant side;
    consecutive turns of one side are joined, since the Messages API requires alternation)."""
    turns: list[dict[str, str]] = []
    for turn in request.history:
        if turn.role == "system" or not turn.text:
            continue
        role = "user" if turn.role == "user" else "assistant"
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n\n" + turn.text
        else:
            turns.append({"role": role, "content": turn.text})
    while turns and turns[0]["role"] != "user":
        turns.pop(0)
    if turns and turns[-1]["role"] == "user":
        turns[-1]["content"] += "\n\n" + request.question
    else:
        turns.append({"role": "user", "content": request.question})
    return turns


def grounded(request: AnswerRequest, text: str, provider: str, model: str) -> Answer:
    """An LLM's text as an Answer: confidence is the retrieval's (how well the context covers the question),
    and the articles the context came from are listed so the user can check them."""
    used = answers.supporting(request.passages, request.threshold())
    best = request.passages[0].confidence if request.passages else 0.0
    return Answer(
        text=text.strip(),
        kind="answer",
        confidence=round(best, 4),
        provider=provider,
        model=model,
        content_type="article" if used else "text",
        content_attributes={"items": answers.article_items([p.article for p in used])} if used else {},
        citations=tuple(answers.citation(passage) for passage in used),
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _excerpt(response: httpx.Response) -> str:
    try:
        body: Any = strict_json.loads(response.content)
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        return str(message or json.dumps(body))[:200]
    except (ValueError, AttributeError):
        return response.text[:200]


async def post_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    headers: dict[str, str],
    body: dict[str, Any],
    timeout_s: float,
    max_retries: int,
    backoff_s: float = 0.5,
) -> dict[str, Any]:
    """POST ``body`` and return the JSON answer, retrying what can succeed later; ProviderError otherwise."""
    problem = "no attempt made"
    for attempt in range(max_retries + 1):
        delay = min(backoff_s * 2**attempt, MAX_BACKOFF_S)
        try:
            response = await client.post(url, json=body, headers=headers, timeout=timeout_s)
        except httpx.TimeoutException:
            problem = f"timed out after {timeout_s} s"
        except httpx.TransportError as exc:
            problem = f"connection failed ({type(exc).__name__})"
        else:
            if response.is_success:
                try:
                    answer: Any = strict_json.loads(response.content)
                except ValueError:
                    raise ProviderError("the LLM API answered with something that is not JSON") from None
                if not isinstance(answer, dict):
                    raise ProviderError("the LLM API answered with JSON that is not an object")
                return answer
            problem = f"HTTP {response.status_code}: {_excerpt(response)}"
            if response.status_code not in RETRYABLE_STATUS:
                raise ProviderError(problem)
            delay = min(_retry_after(response) or delay, MAX_BACKOFF_S)
        if attempt < max_retries:
            await asyncio.sleep(delay)
    raise ProviderError(f"gave up after {max_retries + 1} attempts: {problem}")


def first_text(blocks: Sequence[Any]) -> str:
    for block in blocks:
        if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
            return str(block["text"])
    raise ProviderError("the LLM API answer holds no text")


class HttpLlmProvider:
    """What the HTTP LLM providers share: the client, the model, the endpoint and the retry budget.
    Subclasses name their API's default base URL and path and build requests in ``answer``, sent by ``post``."""

    default_base_url = ""
    path = ""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        model: str,
        api_key: str | None,
        base_url: str | None = None,
        temperature: float = 0.2,
        max_tokens: int = 400,
        timeout_s: float = 20.0,
        max_retries: int = 2,
        backoff_s: float = 0.5,
    ) -> None:
        self.client = client
        self.model = model
        self.api_key = api_key
        self.url = (base_url or self.default_base_url).rstrip("/") + self.path
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s

    async def post(self, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        return await post_json(
            self.client,
            self.url,
            headers=headers,
            body=body,
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            backoff_s=self.backoff_s,
        )
