"""Answers, and how the offline knowledge-base provider composes them (seed 004's response shapes).

- ``article``: ``{content, content_type: "article", content_attributes: {items: [{title, description, link}]}}``
- ``form``: ``content_attributes.form`` = ``{title, description, submitUrl, fields[]}``
- ``card``: ``content_attributes.cards`` = ``{title, cards: [{title, description, image, link, linkText, price}]}``
- ``text``: just the text (the widget's ``{"output": …}``)

An answer from the knowledge base quotes the best passage's most relevant sentences and lists the articles it
drew on, so the user can read the source. When no passage matches well enough it says so and offers a human,
instead of guessing; when the best one is still plausible, it also offers the articles retrieval found closest
("these articles might help"), as help-center bots do, rather than a bare "I couldn't find an answer".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from switchboard_ai_responder.domain.knowledge import Article, Passage
from switchboard_ai_responder.domain.tenants import CardSet, Form
from switchboard_ai_responder.domain.text import sentences, tokens
from switchboard_contracts.events import Citation, ContentType

#: answer: drawn from the knowledge base or an LLM; fallback: nothing matched (counts toward handing over);
#: smalltalk: greeting, thanks, contact form, product cards (never held for review).
AnswerKind = Literal["answer", "fallback", "smalltalk"]
#: Sentences quoted from the best passage.
QUOTED_SENTENCES = 3
#: Other articles listed when they match at least this share of the best one's confidence.
RELATED_RATIO = 0.75
#: Articles offered with a fallback whose best passage is plausible (``suggestions``).
SUGGESTED_ARTICLES = 3


@dataclass(frozen=True)
class Answer:
    text: str
    kind: AnswerKind
    confidence: float
    provider: str
    content_type: ContentType = "text"
    content_attributes: dict[str, Any] = field(default_factory=dict)
    citations: tuple[Citation, ...] = ()
    model: str | None = None
    #: A fallback's suggested articles (also its ``content_attributes.items``); never an answer's citations.
    suggestions: tuple[Citation, ...] = ()


def citation(passage: Passage) -> Citation:
    return Citation(
        article_id=passage.article.id,
        title=passage.article.title,
        link=passage.article.link,
        score=round(passage.confidence, 4),
    )


def article_items(articles: Sequence[Article]) -> list[dict[str, Any]]:
    """seed 004's ``content_attributes.items``: ``{title, description, link}`` per article."""
    items = []
    for article in articles:
        item: dict[str, Any] = {"title": article.title, "description": _describe(article.body)}
        if article.link:
            item["link"] = article.link
        items.append(item)
    return items


def _describe(body: str, limit: int = 160) -> str:
    first = (sentences(body) or [body])[0]
    return first if len(first) <= limit else first[: limit - 1].rsplit(" ", 1)[0] + "…"


def relevant_sentences(question: str, passage: str, limit: int = QUOTED_SENTENCES) -> list[str]:
    """The passage's sentences that share most terms with the question, in their original order."""
    query = set(tokens(question))
    candidates = sentences(passage)
    ranked = sorted(
        range(len(candidates)), key=lambda index: (-len(query & set(tokens(candidates[index]))), index)
    )
    chosen = sorted(index for index in ranked[:limit] if query & set(tokens(candidates[index])))
    return [candidates[index] for index in chosen] or candidates[:limit]


def supporting(passages: Sequence[Passage], min_confidence: float) -> list[Passage]:
    """The passages good enough to answer from: the best one, and others nearly as good."""
    if not passages or passages[0].confidence < min_confidence:
        return []
    best = passages[0].confidence
    return [passages[0]] + [
        p for p in passages[1:] if p.confidence >= max(min_confidence, best * RELATED_RATIO)
    ]


def suggestions(passages: Sequence[Passage], min_suggestion: float | None) -> list[Passage]:
    """The passages whose articles a fallback offers: the retrieved ones, best first, when the best one's
    confidence reaches ``min_suggestion`` (None: never)."""
    if min_suggestion is None or not passages or passages[0].confidence < min_suggestion:
        return []
    return list(passages[:SUGGESTED_ARTICLES])


def offered(
    passages: Sequence[Passage], min_confidence: float, min_suggestion: float | None
) -> list[Passage]:
    """The passages whose articles the knowledge base's answer offers instead of answering: none when one is
    good enough to answer from (``supporting``), else ``suggestions``."""
    return [] if supporting(passages, min_confidence) else suggestions(passages, min_suggestion)


def from_knowledge_base(
    question: str, passages: Sequence[Passage], min_confidence: float, min_suggestion: float | None = None
) -> Answer:
    used = supporting(passages, min_confidence)
    if not used:
        return fallback(passages[0].confidence if passages else 0.0, suggestions(passages, min_suggestion))
    best = used[0]
    quoted = " ".join(relevant_sentences(question, best.text))
    source = f'From "{best.article.title}"'
    text = f"{source}: {quoted}"
    return Answer(
        text=text,
        kind="answer",
        confidence=round(best.confidence, 4),
        provider="knowledge-base",
        content_type="article",
        content_attributes={"items": article_items([passage.article for passage in used])},
        citations=tuple(citation(passage) for passage in used),
    )


def fallback(confidence: float, suggested: Sequence[Passage] = ()) -> Answer:
    """Nothing good enough to answer from: a human is offered, and the ``suggested`` passages' articles with it."""
    if suggested:
        text = (
            "I'm not sure I found the answer to that. These articles might help; if they don't, just say "
            '"talk to an agent".'
        )
        items = {"items": article_items([passage.article for passage in suggested])}
    else:
        text = (
            "I couldn't find an answer to that in our help center. Would you like to talk to a human agent? "
            'Just say "talk to an agent".'
        )
        items = {}
    return Answer(
        text=text,
        kind="fallback",
        confidence=round(confidence, 4),
        provider="knowledge-base",
        content_type="article" if suggested else "text",
        content_attributes=items,
        suggestions=tuple(citation(passage) for passage in suggested),
    )


def greeting(text: str, suggestions: Sequence[Article]) -> Answer:
    if not suggestions:
        return Answer(text=text, kind="smalltalk", confidence=1.0, provider="knowledge-base")
    return Answer(
        text=f"{text} Here are some things I can help with:",
        kind="smalltalk",
        confidence=1.0,
        provider="knowledge-base",
        content_type="article",
        content_attributes={"items": article_items(suggestions)},
    )


def thanks() -> Answer:
    return Answer(
        text="You're welcome! Is there anything else I can help you with?",
        kind="smalltalk",
        confidence=1.0,
        provider="knowledge-base",
    )


def contact_form(form: Form) -> Answer:
    return Answer(
        text="I'd be happy to help you get in touch:",
        kind="smalltalk",
        confidence=1.0,
        provider="knowledge-base",
        content_type="form",
        content_attributes={"form": form.model_dump(mode="json", by_alias=True, exclude_none=True)},
    )


def product_cards(cards: CardSet) -> Answer:
    return Answer(
        text="Check out our featured products:",
        kind="smalltalk",
        confidence=1.0,
        provider="knowledge-base",
        content_type="card",
        content_attributes={"cards": cards.model_dump(mode="json", by_alias=True, exclude_none=True)},
    )
