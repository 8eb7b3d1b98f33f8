"""Partner reply builders: text rendering, credentials, public hosts, events without an API call."""

from __future__ import annotations

import pytest

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.partners.base import text_of
from switchboard_dispatcher.domain.partners import MissingCredential, requests_for


def _reply(**data: object) -> CloudEvent:
    body = {"tenant_id": "t", "conversation_id": "c-1", "author": {"type": "bot"}, "text": "Hi", **data}
    return CloudEvent(source="/t", type="message.replied", data=body)


def test_text_only_platforms_get_article_links_spelled_out() -> None:
    data = {
        "text": "See:",
        "content_type": "article",
        "content_attributes": {"items": [{"title": "A", "link": "https://a"}]},
    }
    assert text_of(data) == "See:\n- A: https://a"


def test_a_freshchat_reply_without_a_bot_agent_posts_as_the_bot_actor() -> None:
    (request,) = requests_for(
        "freshchat", {"api_url": "https://acme.freshchat.com/v2/", "api_token": "t"}, _reply()
    )
    assert request.url == "https://acme.freshchat.com/v2/conversations/c-1/messages"
    assert request.body["actor_type"] == "bot"
    assert "actor_id" not in request.body


def test_a_zendesk_reply_uses_the_public_host_by_default() -> None:
    credentials = {"subdomain": "acme", "email": "bot@acme.test", "api_token": "x"}
    (request,) = requests_for("zendesk", credentials, _reply())
    assert (request.method, request.url) == ("PUT", "https://acme.zendesk.com/api/v2/tickets/c-1.json")


def test_missing_credentials_are_named() -> None:
    with pytest.raises(MissingCredential, match=r"reply\.admin_id"):
        requests_for("intercom", {"access_token": "t"}, _reply())


def test_generic_partners_and_other_events_need_no_api_call() -> None:
    assert requests_for("generic", {}, _reply()) == []
    assert requests_for("chatwoot", {}, CloudEvent(source="/t", type="ticket.created", data={})) == []
