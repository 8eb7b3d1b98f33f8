"""Intents, handoff phrases and the seed 004 response shapes (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from switchboard_ai_responder.domain import answers
from switchboard_ai_responder.domain.intents import Intent, detect
from switchboard_ai_responder.domain.knowledge import Article, KnowledgeIndex
from switchboard_ai_responder.domain.tenants import Card, CardSet, Form, TenantSettings
from switchboard_contracts.events import Author, Reply, WidgetResponse

PHRASES = TenantSettings(handoff_phrases=["speak with billing"]).all_handoff_phrases()
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "talk to an agent",
        "Human, please!",
        "LIVE CHAT",
        "I want to talk to a human",
        "can I Speak With Billing?",
    ],
)
def test_live_chat_requests_are_recognised_whatever_the_case_and_punctuation(text: str) -> None:
    assert detect(text, PHRASES) is Intent.HANDOFF


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hi", Intent.GREETING),
        ("Good morning!", Intent.GREETING),
        ("thanks a lot", Intent.THANKS),
        ("contact form", Intent.CONTACT),
        ("I'd like to get in touch", Intent.CONTACT),
        ("what products do you have", Intent.PRODUCT),
        ("hi, how do I reset my password after it expired?", Intent.QUESTION),
        ("how do I update the billing contact shown on all of my invoices", Intent.QUESTION),
    ],
)
def test_small_talk_is_told_apart_from_questions(text: str, intent: Intent) -> None:
    assert detect(text, PHRASES) is intent


def _index() -> KnowledgeIndex:
    return KnowledgeIndex(
        [
            Article(
                id="refunds",
                title="Refunds",
                body="Annual plans are refunded within 30 days. Refunds take 5 to 10 business days. Monthly plans are not refunded.",
                link="https://help/refunds",
                created_at=NOW,
                updated_at=NOW,
            )
        ]
    )


def test_a_knowledge_base_answer_is_a_seed_004_article_response_citing_its_source() -> None:
    question = "how long do refunds take"
    answer = answers.from_knowledge_base(question, _index().search(question), 0.35)
    assert answer.kind == "answer"
    assert answer.content_type == "article"
    assert answer.content_attributes["items"] == [
        {
            "title": "Refunds",
            "description": "Annual plans are refunded within 30 days.",
            "link": "https://help/refunds",
        }
    ]
    assert "5 to 10 business days" in answer.text
    assert answer.citations[0].article_id == "refunds"


def test_nothing_matching_well_says_so_and_offers_a_human() -> None:
    question = "do you sell garden gnomes"
    answer = answers.from_knowledge_base(question, _index().search(question), 0.35)
    assert answer.kind == "fallback"
    assert "human" in answer.text
    assert answer.citations == ()


def test_a_plausible_match_below_the_threshold_offers_its_articles_along_with_a_human() -> None:
    question = "i paid for the wrong plan"
    passages = _index().search(question)
    unsure = passages[0].confidence
    assert 0 < unsure < TenantSettings().min_confidence
    answer = answers.from_knowledge_base(question, passages, TenantSettings().min_confidence, unsure)
    # Still a fallback (it counts toward handing over) and no citation: nothing was answered.
    assert answer.kind == "fallback"
    assert answer.citations == ()
    assert "talk to an agent" in answer.text
    # seed 004's article items, and the same articles as suggestions for whoever reads the event.
    assert answer.content_type == "article"
    assert [item["link"] for item in answer.content_attributes["items"]] == ["https://help/refunds"]
    assert [suggestion.article_id for suggestion in answer.suggestions] == ["refunds"]


@pytest.mark.parametrize("floor", [None, 0.99])
def test_a_match_below_the_suggestion_floor_offers_nothing_but_a_human(floor: float | None) -> None:
    question = "i paid for the wrong plan"
    answer = answers.from_knowledge_base(question, _index().search(question), 0.995, floor)
    assert answer.kind == "fallback"
    assert answer.content_type == "text"
    assert answer.suggestions == ()
    assert "couldn't find" in answer.text


def test_form_and_card_responses_use_seed_004_names() -> None:
    form = answers.contact_form(Form(submit_url="https://acme/contact"))
    assert form.content_type == "form"
    assert form.content_attributes["form"]["submitUrl"] == "https://acme/contact"
    assert [field["id"] for field in form.content_attributes["form"]["fields"]] == [
        "name",
        "email",
        "message",
    ]
    cards = answers.product_cards(
        CardSet(cards=[Card(title="Premium Plan", link_text="Learn More", price="$29/month")])
    )
    assert cards.content_type == "card"
    assert cards.content_attributes["cards"]["cards"][0] == {
        "title": "Premium Plan",
        "linkText": "Learn More",
        "price": "$29/month",
    }


def test_widget_bodies_follow_seed_004() -> None:
    bot = Author(type="bot")
    text = Reply(tenant_id="t", conversation_id="c", author=bot, text="Hello!")
    assert WidgetResponse.from_reply(text).body() == {"output": "Hello!"}
    rich = Reply(
        tenant_id="t",
        conversation_id="c",
        author=bot,
        text="See:",
        content_type="article",
        content_attributes={"items": []},
    )
    assert WidgetResponse.from_reply(rich).body() == {
        "content": "See:",
        "content_type": "article",
        "content_attributes": {"items": []},
    }
