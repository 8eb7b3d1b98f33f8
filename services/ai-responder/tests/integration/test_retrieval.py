"""Retrieval settings that persist (synonyms, the embedder) and article embeddings stored with the articles,
over real FerretDB, with an OpenAI-compatible ``/v1/embeddings`` fake on 127.0.0.1."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from switchboard_ai_responder.providers import embeddings as embedders
from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_testing.builders import message_received
from switchboard_testing.webhooks import Platform

from .fakes import FakeApi, Seen
from .helpers import TENANT, of_type, platform_events
from .knowledge import ARTICLES, seed

#: The fake model's dimensions: a few support concepts, so paraphrases land near their article.
CONCEPTS = {
    "refund": 0,
    "money": 0,
    "cancel": 1,
    "subscription": 1,
    "charging": 1,
    "password": 2,
    "login": 2,
    "ship": 3,
    "ships": 3,
    "parcel": 3,
    "whereabouts": 3,
    "delivery": 3,
    "export": 4,
    "data": 4,
}
DIMENSIONS = 8


def fake_vector(text: str) -> list[float]:
    vector = [0.0] * DIMENSIONS
    for word in text.lower().replace(".", " ").replace("?", " ").split():
        if word in CONCEPTS:
            vector[CONCEPTS[word]] += 1.0
        else:  # everything else is a little noise in the last dimensions
            vector[5 + hashlib.sha256(word.encode()).digest()[0] % 3] += 0.05
    norm = math.sqrt(sum(value * value for value in vector)) or 1.0
    return [value / norm for value in vector]


async def embeddings(seen: Seen) -> tuple[int, Any, dict[str, str]]:
    body = seen.json()
    data = [
        {"object": "embedding", "index": i, "embedding": fake_vector(t)} for i, t in enumerate(body["input"])
    ]
    return 200, {"object": "list", "model": body["model"], "data": data}, {}


def embedder_settings(fake_api: FakeApi, **extra: Any) -> dict[str, Any]:
    return {
        "embeddings": {
            "provider": "openai-compatible",
            "base_url": f"{fake_api.base_url}/v1",
            "model": "fake-embed",
            "api_key": "sk-embed-0123456789",
            "max_retries": 0,
            **extra,
        }
    }


async def stored_article(responder: FastAPI, article_id: str) -> dict[str, Any]:
    document: dict[str, Any] | None = await responder.state.stores.articles.articles.find_one(
        {"_id": article_id}
    )
    assert document is not None
    return document


async def test_a_tenants_synonyms_are_stored_with_its_settings_and_steer_retrieval(
    api: httpx.AsyncClient,
) -> None:
    await seed(api)
    question = "how do I do a takeout of everything"
    before = await api.get("/articles/search", params={"q": question})
    assert all(hit["title"] != "Exporting your data" for hit in before.json()["data"])

    response = await api.put("/settings", json={"synonyms": [["export", "Takeout ", "take out"]]})
    assert response.status_code == 200, response.text
    assert (await api.get("/settings")).json()["data"]["synonyms"] == [["export", "takeout", "take out"]]

    after = (await api.get("/articles/search", params={"q": question})).json()["data"]
    assert after[0]["title"] == "Exporting your data"


async def test_a_synonym_group_of_one_term_is_refused_naming_the_field(api: httpx.AsyncClient) -> None:
    assert (await api.put("/settings", json={"synonyms": [["export", "takeout"]]})).status_code == 200
    response = await api.put("/settings", json={"synonyms": [["export", "takeout"], ["export"]]})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "synonyms"
    assert "group 1: between 2 and 50 distinct terms" in response.json()["error"]["message"]


async def test_articles_are_embedded_when_written_and_the_vectors_stored_with_them(
    api: httpx.AsyncClient, responder: FastAPI, fake_api: FakeApi
) -> None:
    fake_api.handler = embeddings
    response = await api.put("/settings", json=embedder_settings(fake_api))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["embeddings"]["api_key"] == "••••6789"
    stored_settings = await responder.state.stores.tenants.collection.find_one({})
    assert "sk-embed-0123456789" not in str(stored_settings)

    ids = await seed(api)
    assert len(fake_api.requests) == len(ARTICLES)
    assert fake_api.requests[0].headers["authorization"] == "Bearer sk-embed-0123456789"
    assert fake_api.requests[0].json()["model"] == "fake-embed"
    shipping = await stored_article(responder, ids["Shipping times and tracking"])
    assert shipping["embedding"]["model"] == "openai-compatible:fake-embed"
    vectors = [unit["vector"] for unit in shipping["embedding"]["sentences"]]
    assert len(vectors) == 3  # one per sentence
    assert {len(vector) for vector in vectors} == {DIMENSIONS}

    hits = (await api.get("/articles/search", params={"q": "where is my parcel"})).json()["data"]
    assert hits[0]["title"] == "Shipping times and tracking"
    assert hits[0]["similarity"] > 0.5
    # Per question only the question is embedded (with its rewrite in the support vocabulary's words, in the
    # same request): the articles' vectors come from the database.
    assert len(fake_api.requests) == len(ARTICLES) + 1
    assert fake_api.requests[-1].json()["input"] == ["where is my parcel", "where is my parcel (track)"]


async def test_a_changed_article_is_embedded_again(
    api: httpx.AsyncClient, responder: FastAPI, fake_api: FakeApi
) -> None:
    fake_api.handler = embeddings
    await api.put("/settings", json=embedder_settings(fake_api))
    ids = await seed(api)
    article_id = ids["Exporting your data"]
    changed = {**ARTICLES[3], "body": "Refunds of money reach your card within 5 business days."}

    response = await api.put(f"/articles/{article_id}", json=changed)

    assert response.status_code == 200, response.text
    assert fake_api.requests[-1].json()["input"] == [f"{changed['title']}. {changed['body']}"]
    vector = (await stored_article(responder, article_id))["embedding"]["sentences"][0]["vector"]
    assert vector == fake_vector(f"{changed['title']}. {changed['body']}")


async def test_articles_written_before_an_embedder_was_chosen_are_embedded_once_when_it_is(
    api: httpx.AsyncClient, responder: FastAPI, fake_api: FakeApi
) -> None:
    fake_api.handler = embeddings
    ids = await seed(api)
    assert "embedding" not in await stored_article(responder, ids["Refunds and cancellations"])

    await api.put("/settings", json=embedder_settings(fake_api))

    assert len(fake_api.requests) == len(ARTICLES)
    await api.get("/articles/search", params={"q": "stop charging me"})
    await api.get("/articles/search", params={"q": "money back please"})

    inputs = [request.json()["input"] for request in fake_api.requests]
    assert len(inputs) == len(ARTICLES) + 2  # every article once, then one question each
    assert [texts[0] for texts in inputs[-2:]] == ["stop charging me", "money back please"]
    assert (await stored_article(responder, ids["Refunds and cancellations"]))["embedding"]["sentences"]


async def test_an_embedder_that_fails_leaves_the_knowledge_base_lexical(
    api: httpx.AsyncClient, responder: FastAPI, fake_api: FakeApi
) -> None:
    async def down(_: Seen) -> tuple[int, Any, dict[str, str]]:
        return 503, {"error": {"message": "loading model"}}, {}

    fake_api.handler = down
    await api.put("/settings", json=embedder_settings(fake_api))

    ids = await seed(api)

    assert "embedding" not in await stored_article(responder, ids["Resetting your password"])
    hits = (await api.get("/articles/search", params={"q": "forgot my password"})).json()["data"]
    assert hits[0]["title"] == "Resetting your password"
    assert hits[0]["similarity"] is None
    assert "bm25" in hits[0]


async def test_an_embeddings_answer_without_vectors_is_an_embedder_failure(
    api: httpx.AsyncClient, responder: FastAPI, fake_api: FakeApi
) -> None:
    async def malformed(_: Seen) -> tuple[int, Any, dict[str, str]]:
        return 200, {"data": [{"index": 0, "embedding": "not a vector"}]}, {}

    fake_api.handler = malformed
    assert (await api.put("/settings", json=embedder_settings(fake_api))).status_code == 200

    ids = await seed(api)

    assert len(fake_api.requests) == len(ARTICLES)
    assert "embedding" not in await stored_article(responder, ids["Resetting your password"])


async def test_local_embeddings_are_refused_where_the_extra_is_not_installed(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedders, "local_available", lambda: False)

    response = await api.put("/settings", json={"embeddings": {"provider": "local"}})

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "embeddings.provider"
    assert "local-embeddings" in response.json()["error"]["message"]


async def test_local_embeddings_need_no_url_and_openai_compatible_ones_need_one(
    api: httpx.AsyncClient,
) -> None:
    missing = await api.put("/settings", json={"embeddings": {"provider": "openai-compatible", "model": "m"}})
    assert missing.status_code == 422
    assert "base_url" in missing.text
    stray = await api.put(
        "/settings", json={"embeddings": {"provider": "local", "base_url": "http://x.test/v1"}}
    )
    assert stray.status_code == 422


async def test_a_question_over_kafka_is_answered_from_the_article_it_means(
    api: httpx.AsyncClient, platform: Platform, responder_settings: AiResponderSettings, fake_api: FakeApi
) -> None:
    fake_api.handler = embeddings
    await api.put("/settings", json=embedder_settings(fake_api))
    await seed(api)
    # Not one word of any article (nor a synonym of one): only its meaning, the fake model's "ship" axis.
    question = "whereabouts??"
    data = message_received(tenant_id=TENANT, conversation_id="hybrid-1", text=question)

    await platform.event("message.received", TENANT, data.model_dump(mode="json"), partitionkey="hybrid-1")

    events = await platform_events(responder_settings, lambda es: bool(of_type(es, "ai.response.generated")))
    (generated,) = of_type(events, "ai.response.generated")
    citations = generated.data["ai_response"]["citations"]
    assert citations[0]["title"] == "Shipping times and tracking"
    assert fake_api.requests[-1].json()["input"] == [question]
    assert (await api.put("/settings", json={})).status_code == 200
    without = await api.get("/articles/search", params={"q": question})
    assert without.json()["data"] == []  # without the embedder nothing matches


async def test_a_masked_embeddings_key_sent_back_keeps_the_stored_key(
    api: httpx.AsyncClient, fake_api: FakeApi
) -> None:
    fake_api.handler = embeddings
    await api.put("/settings", json=embedder_settings(fake_api))
    shown = (await api.get("/settings")).json()["data"]

    assert (await api.put("/settings", json=shown)).status_code == 200
    await seed(api)

    assert fake_api.requests[-1].headers["authorization"] == "Bearer sk-embed-0123456789"


async def test_search_shows_which_articles_the_bot_would_offer_when_it_is_unsure(
    api: httpx.AsyncClient,
) -> None:
    await seed(api)
    unsure = (
        await api.get("/articles/search", params={"q": "my card was charged and I want it back"})
    ).json()
    (refunds,) = [hit for hit in unsure["data"] if hit["title"] == "Refunds and cancellations"]
    assert (refunds["answers"], refunds["offered"]) == (False, True)
    sure = (
        await api.get("/articles/search", params={"q": "How long do refunds take to reach my card?"})
    ).json()
    assert (sure["data"][0]["answers"], sure["data"][0]["offered"]) == (True, False)
    assert (await api.put("/settings", json={"suggest_articles": False})).status_code == 200
    off = (await api.get("/articles/search", params={"q": "my card was charged and I want it back"})).json()
    assert not any(hit["offered"] for hit in off["data"])
