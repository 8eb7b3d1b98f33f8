"""Names people read — article titles, the bot's name, card and form titles, an agent's name — refuse control,
bidi-override and invisible format characters with a 422 naming the field (real FerretDB); names stored
before the check still load."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from .helpers import TENANT

HOSTILE = ["invoice\u202efdp.exe", "nul\x00title", "\u2067isolate\u2069", "c1\x9bcsi", "zero\u200bwidth"]
MESSAGE = "must not contain control or invisible formatting characters"


def assert_422(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("validation_error", field), error
    assert MESSAGE in error["message"]


@pytest.mark.parametrize("title", HOSTILE)
async def test_article_titles_refuse_control_and_bidi_characters(api: httpx.AsyncClient, title: str) -> None:
    created = await api.post("/articles", json={"title": title, "body": "Orders ship in 2 days."})
    assert_422(created, "title")
    good = await api.post("/articles", json={"title": "Shipping", "body": "Orders ship in 2 days."})
    assert good.status_code == 201, good.text
    replaced = await api.put(f"/articles/{good.json()['data']['id']}", json={"title": title, "body": "x"})
    assert_422(replaced, "title")


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"bot_name": "Helper\u202e"}, "bot_name"),
        ({"product_cards": {"title": "\u2066Deals", "cards": [{"title": "Shoes"}]}}, "product_cards.title"),
        ({"product_cards": {"cards": [{"title": "Sho\x00es"}]}}, "product_cards.cards.0.title"),
        ({"contact_form": {"title": "Contact\u200b"}}, "contact_form.title"),
    ],
)
async def test_display_names_in_settings_refuse_them_too(
    api: httpx.AsyncClient, settings: dict[str, object], field: str
) -> None:
    assert_422(await api.put("/settings", json=settings), field)


async def test_names_stored_before_the_check_still_load(api: httpx.AsyncClient, responder: FastAPI) -> None:
    good = await api.post("/articles", json={"title": "Shipping", "body": "Orders ship in 2 days."})
    article_id = good.json()["data"]["id"]
    articles = responder.state.services.articles.articles
    await articles.update_one({"_id": article_id}, {"$set": {"title": "old\u202etitle"}})

    fetched = await api.get(f"/articles/{article_id}")

    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["data"]["title"] == "old\u202etitle"
    assert TENANT in str(fetched.request.url)


async def test_an_agent_name_refuses_them(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/conversations/c-1/agent-messages", json={"text": "Hi, Sarah here.", "agent_name": "Sarah\u202e"}
    )
    assert_422(response, "agent_name")
