"""Hybrid retrieval: lexical and semantic rankings fused, article vectors, the embedders' parsing (no I/O)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from switchboard_ai_responder.domain.knowledge import (
    Article,
    ArticleEmbedding,
    KnowledgeIndex,
    embedding_texts,
    embedding_units,
    query_vector,
    semantic_confidence,
)
from switchboard_ai_responder.domain.tenants import EmbeddingSettings
from switchboard_ai_responder.providers.embeddings import EmbedderError, _vectors, unit, verify_weights

NOW = datetime(2026, 1, 1, tzinfo=UTC)
MODEL = "test:axes"

ARTICLES = [
    Article(
        id="ship",
        title="Shipping",
        body="Parcels leave in 2 days. Tracking is emailed.",
        created_at=NOW,
        updated_at=NOW,
    ),
    Article(
        id="refund", title="Refunds", body="Money goes back to your card.", created_at=NOW, updated_at=NOW
    ),
    Article(
        id="pw", title="Passwords", body="Reset it from the sign-in page.", created_at=NOW, updated_at=NOW
    ),
]
#: One axis per article: every sentence of an article points along its axis.
AXES = {"ship": [1.0, 0.0, 0.0], "refund": [0.0, 1.0, 0.0], "pw": [0.0, 0.0, 1.0]}


def index(**only: bool) -> KnowledgeIndex:
    embeddings = {
        article.id: ArticleEmbedding(MODEL, [AXES[article.id]] * len(embedding_units(article)))
        for article in ARTICLES
        if only.get(article.id, True)
    }
    return KnowledgeIndex(ARTICLES, embeddings=embeddings)


def test_every_sentence_is_embedded_after_the_title() -> None:
    assert embedding_texts(ARTICLES[0]) == [
        "Shipping. Parcels leave in 2 days.",
        "Shipping. Tracking is emailed.",
    ]


def test_meaning_finds_the_article_that_shares_no_word_with_the_question() -> None:
    question = "where's my stuff"
    assert index().lexical(question) == []
    (best, *_) = index().search(question, query_vector=unit([0.9, 0.1, 0.0]))
    assert best.article.id == "ship"
    assert best.similarity == pytest.approx(unit([0.9, 0.1, 0.0])[0])
    # Similar, and far ahead of the next most similar article: sure.
    assert best.confidence == 1.0


def test_semantic_confidence_is_similarity_plus_the_lead_over_the_next_article() -> None:
    assert semantic_confidence(0.5, 0.3) == pytest.approx(0.8)
    # A close second: the same similarity is a guess between two articles.
    assert semantic_confidence(0.5, 0.02) == pytest.approx(0.52)
    assert semantic_confidence(0.9, 0.8) == 1.0
    assert semantic_confidence(-0.3, 0.1) == 0.0


def test_a_close_second_by_meaning_turns_an_answer_into_a_handoff() -> None:
    # A fourth axis for what no article is about: the question leans on it and on shipping and refunds alike.
    axes = {key: [*vector, 0.0] for key, vector in AXES.items()}
    embeddings = {a.id: ArticleEmbedding(MODEL, [axes[a.id]] * len(embedding_units(a))) for a in ARTICLES}
    four = KnowledgeIndex(ARTICLES, embeddings=embeddings)
    threshold = EmbeddingSettings(provider="local").threshold()
    (close, *_) = four.search("it never came", query_vector=unit([0.5, 0.48, 0.0, 0.72]))
    assert close.similarity == pytest.approx(0.5, abs=0.01)
    assert close.confidence < threshold
    (clear, *_) = four.search("it never came", query_vector=unit([0.5, 0.1, 0.0, 0.72]))
    assert clear.article.id == "ship"
    assert clear.confidence >= threshold


def test_an_embedders_suggestion_floor_is_its_default_unless_the_tenant_sets_one() -> None:
    local = EmbeddingSettings(provider="local")
    assert 0 < local.suggestion_threshold() < local.threshold()
    assert EmbeddingSettings(provider="local", min_suggestion_similarity=0.5).suggestion_threshold() == 0.5


def test_a_question_is_also_embedded_in_the_articles_words() -> None:
    queries = index().semantic_queries("my pasword wont work, want my money back")
    # The typo corrected to the article's spelling, and the support vocabulary's head terms appended.
    assert queries == [
        "my pasword wont work, want my money back",
        "my passwords wont work want my money back (refund)",
    ]
    assert index().semantic_queries("Passwords?") == ["Passwords?"]


def test_a_questions_vectors_are_averaged_into_one_unit_vector() -> None:
    assert query_vector([[1.0, 0.0], [0.0, 1.0]]) == pytest.approx([2**-0.5, 2**-0.5])
    assert query_vector([[0.6, 0.8]]) == pytest.approx([0.6, 0.8])
    with pytest.raises(ValueError, match="no vectors"):
        query_vector([])


def test_a_wide_lead_in_meaning_is_not_overturned_by_words() -> None:
    # "refund" is the only article sharing words with the question, but the meaning is far closer to shipping:
    # scores are added, so the words' 0.2 does not make up for a 0.45 gap in similarity (ranks, fused, did).
    passages = index().hybrid("refund refund money card", unit([0.9, 0.45, 0.0]))
    assert [passage.article.id for passage in passages[:2]] == ["ship", "refund"]
    assert passages[0].confidence > 0.9
    assert passages[1].confidence == 0.0


def test_a_close_call_in_meaning_is_decided_by_the_words() -> None:
    # Nearly as similar to shipping as to refunds; the words name refunds, and the lead they give is enough to
    # answer from it rather than hand a guess between two articles to a human.
    (best, second, _) = index().hybrid("refund to my card", unit([0.70, 0.68, 0.0]))
    assert (best.article.id, second.article.id) == ("refund", "ship")
    assert best.similarity == pytest.approx(unit([0.70, 0.68, 0.0])[1])
    assert best.confidence >= EmbeddingSettings(provider="local").threshold()
    assert second.confidence == 0.0


def test_without_a_question_vector_search_is_lexical() -> None:
    (best,) = index().search("reset password", limit=1)
    assert best.article.id == "pw"
    assert best.similarity is None


def test_articles_without_vectors_are_listed_for_embedding() -> None:
    assert [article.id for article in index(refund=False).missing_embeddings()] == ["refund"]


def test_vectors_of_another_segmentation_are_not_used() -> None:
    stale = {"ship": ArticleEmbedding(MODEL, [AXES["ship"]] * 5)}
    assert [article.id for article in KnowledgeIndex(ARTICLES, embeddings=stale).missing_embeddings()] == [
        "ship",
        "refund",
        "pw",
    ]


def test_an_embeddings_answer_is_ordered_by_index_and_normalised() -> None:
    body = {"data": [{"index": 1, "embedding": [0, 2]}, {"index": 0, "embedding": [3, 4]}]}
    assert _vectors(body, 2) == [[0.6, 0.8], [0.0, 1.0]]


@pytest.mark.parametrize(
    "body",
    [
        {"data": [{"index": 0, "embedding": [1.0]}]},
        {"data": [{"index": 0, "embedding": "x"}, {"index": 1, "embedding": [1.0]}]},
        {"data": [{"index": 0, "embedding": [True]}, {"index": 1, "embedding": [1.0]}]},
        {"data": [{"index": 0, "embedding": [1.0, 2.0]}, {"index": 1, "embedding": [1.0]}]},
        {"nothing": []},
    ],
)
def test_a_malformed_embeddings_answer_is_an_embedder_error(body: dict[str, object]) -> None:
    with pytest.raises(EmbedderError):
        _vectors(body, 2)


def test_weights_that_are_not_the_upstream_models_are_refused(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"not the model")
    with pytest.raises(EmbedderError, match="sha256"):
        verify_weights(weights)
    verify_weights(weights, hashlib.sha256(b"not the model").hexdigest())
