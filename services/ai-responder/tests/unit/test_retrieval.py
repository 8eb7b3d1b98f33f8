"""Text normalisation, BM25 and knowledge-base retrieval (no I/O)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from switchboard_ai_responder.domain.bm25 import BM25
from switchboard_ai_responder.domain.knowledge import Article, KnowledgeIndex, chunk, confidence
from switchboard_ai_responder.domain.tenants import TenantSettings
from switchboard_ai_responder.domain.text import (
    Synonyms,
    contains_phrase,
    normalize,
    stem,
    synonyms_for,
    tokens,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def article(article_id: str, title: str, body: str, **fields: object) -> Article:
    return Article(id=article_id, title=title, body=body, created_at=NOW, updated_at=NOW, **fields)  # type: ignore[arg-type]


def test_normalize_ignores_case_punctuation_and_accents() -> None:
    assert normalize("Human, PLEASE!!  Café…") == "human please cafe"


def test_phrases_match_whole_words_only() -> None:
    assert contains_phrase(normalize("I'd like a LIVE chat, now"), "live chat")
    assert not contains_phrase(normalize("we deliver chats"), "live chat")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("passwords", "password"),
        ("resetting", "reset"),
        ("cancelled", "cancel"),
        ("charged", "charge"),
        ("companies", "company"),
    ],
)
def test_inflections_share_a_stem(a: str, b: str) -> None:
    assert stem(a) == stem(b)


def test_tokens_drop_stop_words_and_chat_filler() -> None:
    assert tokens("Hi! Please, how do I reset my password?") == ["reset", "password"]


def test_bm25_prefers_the_document_with_the_rare_term() -> None:
    index = BM25([["reset", "password"], ["password", "policy", "password"], ["billing"]])
    hits = index.search(["reset", "password"])
    assert [hit.index for hit in hits] == [0, 1]
    assert hits[0].coverage == 1.0
    assert 0 < hits[1].coverage < 1


def test_bm25_counts_a_synonym_with_a_discount() -> None:
    index = BM25([["update", "email"], ["email", "digest"]])
    direct = index.search(["update", "email"])[0]
    via_synonym = index.search(
        ["change", "email"], expansions=lambda term: ("update",) if term == "change" else ()
    )[0]
    assert (direct.index, via_synonym.index) == (0, 0)
    assert via_synonym.score < direct.score
    assert via_synonym.coverage == 1.0


def test_long_articles_are_chunked_at_paragraphs() -> None:
    body = "\n\n".join(" ".join([f"Sentence number {n} is here."] * 12) for n in range(4))
    pieces = chunk(article("a", "T", body), target_words=60)
    assert len(pieces) == 4
    assert all(piece.article.id == "a" for piece in pieces)


def test_search_returns_one_passage_per_article_best_first() -> None:
    index = KnowledgeIndex(
        [
            article("pw", "Resetting your password", "Click 'Forgot password' to get a reset link by email."),
            article("ship", "Shipping", "Orders ship in 2 days. Tracking numbers are emailed."),
        ]
    )
    passages = index.search("how do I reset my password")
    assert passages[0].article.id == "pw"
    assert len({passage.article.id for passage in passages}) == len(passages)
    assert index.search("quantum chromodynamics") == []


def test_a_typo_is_read_as_the_indexed_word_one_edit_away() -> None:
    index = KnowledgeIndex([article("pw", "Resetting your password", "Click 'Forgot password'.")])
    assert index.query("forgot my passwrod") == index.query("forgot my password")
    assert index.search("passwrod")[0].article.id == "pw"


def test_a_synonym_phrase_is_read_as_its_groups_head() -> None:
    synonyms = Synonyms([("refund", "money back")])
    assert synonyms.query_terms("can I get my money back") == synonyms.query_terms("can I get a refund")


def test_a_questions_words_name_their_groups_heads() -> None:
    synonyms = Synonyms([("refund", "money back", "reimburse"), ("cancel", "stop")])
    assert synonyms.heads("Stop it, I want my money back") == ["refund", "cancel"]
    assert synonyms.heads("a refund") == []


def test_a_tenants_synonyms_extend_the_built_in_ones() -> None:
    index = KnowledgeIndex(
        [
            article("sofa", "Sofa care", "Vacuum the cushions of your sofa weekly."),
            article("ship", "Shipping", "Orders ship in 2 days."),
        ]
    )
    question = "cleaning my settee"
    assert index.search(question) == []
    tenant = synonyms_for((("sofa", "couch", "settee"),))
    assert index.search(question, synonyms=tenant)[0].article.id == "sofa"
    assert synonyms_for() is synonyms_for(())


def test_confidence_is_coverage_times_the_lead_over_the_next_article_in_rare_words() -> None:
    assert confidence(1.0, 10.0, 0.0, unit=2.0) == pytest.approx(1 - math.exp(-5))
    assert confidence(1.0, 10.0, 8.0, unit=2.0) == pytest.approx(1 - math.exp(-1))
    # A close second: however well both match, it is a guess between the two.
    assert confidence(1.0, 10.0, 9.5, unit=2.0) < TenantSettings().min_confidence
    assert confidence(1.0, 10.0, 10.0, unit=2.0) == 0.0
    # The same lead is the same evidence, whatever the scores ...
    assert confidence(1.0, 3.0, 1.0, unit=2.0) == confidence(1.0, 12.0, 10.0, unit=2.0)
    # ... measured in what one rare word is worth in this knowledge base.
    assert confidence(1.0, 1.0, 0.0, unit=0.5) == confidence(1.0, 4.0, 0.0, unit=2.0)
    # A question mostly about something else: one word of four does not decide alone.
    assert confidence(1 / 4, 10.0, 0.0, unit=2.0) < TenantSettings().min_confidence


def test_one_rare_word_ahead_is_as_sure_in_a_small_knowledge_base_as_in_a_large_one() -> None:
    def first(count: int) -> float:
        others = [article(f"a{n}", f"Topic {n}", f"Words about subject {n}.") for n in range(count - 1)]
        index = KnowledgeIndex([article("gnome", "Gnomes", "Garden gnomes."), *others])
        return index.search("gnome")[0].confidence

    assert first(2) == pytest.approx(first(40), abs=0.05)


def test_a_close_second_article_turns_an_answer_into_a_handoff() -> None:
    index = KnowledgeIndex(
        [
            article("plans", "Plans", "Team costs $12 per member each month."),
            article("cancel", "Cancelling", "Cancel the plan to stop paying each month."),
        ]
    )
    passages = index.search("monthly plan")
    assert passages[0].coverage == 1.0
    assert passages[0].confidence < TenantSettings().min_confidence
