"""What a user message is, before any retrieval: a request for a human, small talk, or a question.

Rules, not a model: each intent is a small set of whole-word phrases matched after ``normalize`` (so case and
punctuation never matter). Small talk is recognised only in short messages — "hi, how do I reset my password?"
is a question that starts with a greeting, and is answered as a question.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from switchboard_ai_responder.domain.text import contains_phrase, normalize


class Intent(StrEnum):
    HANDOFF = "handoff"
    GREETING = "greeting"
    THANKS = "thanks"
    CONTACT = "contact"
    PRODUCT = "product"
    QUESTION = "question"


GREETINGS = (
    "hi",
    "hello",
    "hey",
    "hiya",
    "howdy",
    "greetings",
    "good morning",
    "good afternoon",
    "good evening",
    "hi there",
    "hello there",
    "hey there",
    "yo",
)
THANKS = (
    "thanks",
    "thank you",
    "thx",
    "ty",
    "cheers",
    "much appreciated",
    "that helped",
    "that helps",
    "perfect",
    "great",
    "awesome",
)
CONTACT = (
    "contact form",
    "contact us",
    "contact you",
    "get in touch",
    "reach out to you",
    "send you a message",
    "leave a message",
    "form",
    "contact",
)
PRODUCT = (
    "your products",
    "what products",
    "which products",
    "products",
    "product",
    "buy",
    "purchase",
    "what plans",
    "show me plans",
    "plans do you offer",
)
#: Small talk longer than this many words is treated as a question that happens to contain a greeting.
SMALL_TALK_WORDS = 4
#: Contact and product phrases in messages up to this long; longer ones are questions for the knowledge base
#: ("how do I update the billing contact on my invoices" is not a request for the contact form).
SHORT_REQUEST_WORDS = 8


def _any(text: str, phrases: Sequence[str]) -> bool:
    return any(contains_phrase(text, phrase) for phrase in phrases)


def detect(text: str, handoff_phrases: Sequence[str]) -> Intent:
    normalized = normalize(text)
    words = normalized.split()
    if _any(normalized, handoff_phrases):
        return Intent.HANDOFF
    if len(words) <= SMALL_TALK_WORDS:
        if _any(normalized, THANKS):
            return Intent.THANKS
        if _any(normalized, GREETINGS) or not words:
            return Intent.GREETING
    if len(words) <= SHORT_REQUEST_WORDS:
        if _any(normalized, CONTACT):
            return Intent.CONTACT
        if _any(normalized, PRODUCT):
            return Intent.PRODUCT
    return Intent.QUESTION
