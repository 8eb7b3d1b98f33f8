"""The partner reply APIs' requests (platforms.md): method, path, auth and body per provider and action.

Sending them (over the SSRF-checked client, with retries resuming at the failed call) is tested through the
delivery engine in tests/integration/test_partners.py."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_dispatcher.domain.partners import PartnerRequest, requests_for

BASE = "http://partner.test"


@dataclass
class Seen:
    """A built request, shaped like what a fake API would have seen."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    def json(self) -> dict[str, Any]:
        return self.body


@dataclass
class FakeApi:
    base_url: str = BASE
    requests: list[Seen] = field(default_factory=list)

    def record(self, built: list[PartnerRequest]) -> None:
        for request in built:
            self.requests.append(
                Seen(
                    request.method,
                    urlsplit(request.url).path,
                    {k.lower(): v for k, v in request.headers.items()},
                    request.body,
                )
            )


@pytest.fixture
def fake_api() -> FakeApi:
    return FakeApi()


def _reply(conversation_id: str = "c-1", **fields: Any) -> CloudEvent:
    data = {
        "tenant_id": "acme",
        "conversation_id": conversation_id,
        "author": {"type": "bot", "name": "Switchboard Assistant"},
        "text": 'From "Refunds": Refunds take 5 to 10 business days.',
        "content_type": "article",
        "content_attributes": {
            "items": [{"title": "Refunds", "description": "…", "link": "https://help/refunds"}]
        },
        **fields,
    }
    return CloudEvent(
        source="/t", type="message.replied", tenant="acme", partitionkey=conversation_id, data=data
    )


def _handoff(conversation_id: str = "c-1") -> CloudEvent:
    data = {
        "tenant_id": "acme",
        "conversation_id": conversation_id,
        "session_id": "live_abc123",
        "platform": "zendesk",
        "reason": "requested",
        "message": "Connecting you with a human agent.",
    }
    return CloudEvent(
        source="/t", type="handoff.requested", tenant="acme", partitionkey=conversation_id, data=data
    )


_api = FakeApi()


def _deliver(
    provider: str, credentials: dict[str, Any], event: CloudEvent, api: FakeApi | None = None
) -> int:
    built = requests_for(provider, credentials, event)
    (api or _api).record(built)
    return len(built)


def test_zendesk_reply_and_handoff(fake_api: FakeApi) -> None:
    credentials = {
        "base_url": fake_api.base_url,
        "subdomain": "acme",
        "email": "bot@acme.test",
        "api_token": "zd-token",
        "author_id": "381",
        "handoff_group_id": "77",
    }
    assert _deliver("zendesk", credentials, _reply("5158"), fake_api) == 1
    assert _deliver("zendesk", credentials, _handoff("5158"), fake_api) == 2

    reply, public, private = fake_api.requests
    assert (reply.method, reply.path) == ("PUT", "/api/v2/tickets/5158.json")
    expected = "Basic " + base64.b64encode(b"bot@acme.test/token:zd-token").decode()
    assert reply.headers["authorization"] == expected
    comment = reply.json()["ticket"]["comment"]
    assert comment["public"] is True
    assert comment["author_id"] == 381
    assert "https://help/refunds" in comment["body"]
    assert public.json()["ticket"]["comment"]["body"] == "Connecting you with a human agent."
    ticket = private.json()["ticket"]
    assert ticket["comment"]["public"] is False
    assert (ticket["group_id"], ticket["status"], ticket["additional_tags"]) == (
        77,
        "open",
        ["switchboard_handoff"],
    )


def test_intercom_reply_and_assignment(fake_api: FakeApi) -> None:
    credentials = {
        "base_url": fake_api.base_url,
        "access_token": "ic-token",
        "admin_id": "5017691",
        "handoff_assignee_id": "team-9",
        "handoff_assignee_type": "team",
    }
    assert _deliver("intercom", credentials, _reply("123"), fake_api) == 1
    assert _deliver("intercom", credentials, _handoff("123"), fake_api) == 2

    reply, announce, assignment = fake_api.requests
    assert (reply.method, reply.path) == ("POST", "/conversations/123/reply")
    assert reply.headers["authorization"] == "Bearer ic-token"
    assert reply.headers["intercom-version"]
    assert reply.json()["message_type"] == "comment"
    assert reply.json()["admin_id"] == "5017691"
    assert announce.json()["body"] == "Connecting you with a human agent."
    assert assignment.path == "/conversations/123/parts"
    assert assignment.json()["message_type"] == "assignment"
    assert (assignment.json()["type"], assignment.json()["assignee_id"]) == ("team", "team-9")


def test_chatwoot_reply_keeps_articles_and_handoff_opens_the_conversation(fake_api: FakeApi) -> None:
    credentials = {
        "base_url": fake_api.base_url,
        "account_id": 1,
        "api_access_token": "cw-token",
        "inbox_id": 3,
    }
    assert _deliver("chatwoot", credentials, _reply("10"), fake_api) == 1
    assert _deliver("chatwoot", credentials, _handoff("10"), fake_api) == 2

    reply, announce, toggle = fake_api.requests
    assert (reply.method, reply.path) == ("POST", "/api/v1/accounts/1/conversations/10/messages")
    assert reply.headers["api_access_token"] == "cw-token"
    body = reply.json()
    assert (body["message_type"], body["private"], body["content_type"]) == ("outgoing", False, "article")
    assert body["content_attributes"]["items"][0]["link"] == "https://help/refunds"
    assert announce.json()["content"] == "Connecting you with a human agent."
    assert toggle.path == "/api/v1/accounts/1/conversations/10/toggle_status"
    assert toggle.json() == {"status": "open"}


def test_freshchat_handoff_assigns_to_the_group_after_announcing_it(fake_api: FakeApi) -> None:
    credentials = {"api_url": f"{fake_api.base_url}/v2", "api_token": "t", "handoff_group_id": "grp-1"}
    assert _deliver("freshchat", credentials, _handoff("fc-1"), fake_api) == 2
    message, assign = fake_api.requests
    assert message.json()["actor_type"] == "bot"
    assert (assign.method, assign.path) == ("PUT", "/v2/conversations/fc-1")
    assert assign.json() == {"status": "assigned", "assigned_group_id": "grp-1"}
