"""Partner reply adapters against a fake server speaking each API over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from switchboard_ai_responder.partners import PartnerSender
from switchboard_shared.cloudevents import CloudEvent

from .fakes import FakeApi


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


async def _deliver(provider: str, credentials: dict[str, Any], event: CloudEvent) -> list[int]:
    async with httpx.AsyncClient() as client:
        responses = await PartnerSender(client).deliver(provider, credentials, event)
    return [response.status_code for response in responses]


async def test_zendesk_reply_and_handoff(fake_api: FakeApi) -> None:
    credentials = {
        "base_url": fake_api.base_url,
        "subdomain": "acme",
        "email": "bot@acme.test",
        "api_token": "zd-token",
        "author_id": "381",
        "handoff_group_id": "77",
    }
    assert await _deliver("zendesk", credentials, _reply("5158")) == [200]
    assert await _deliver("zendesk", credentials, _handoff("5158")) == [200, 200]

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


async def test_intercom_reply_and_assignment(fake_api: FakeApi) -> None:
    credentials = {
        "base_url": fake_api.base_url,
        "access_token": "ic-token",
        "admin_id": "5017691",
        "handoff_assignee_id": "team-9",
        "handoff_assignee_type": "team",
    }
    assert await _deliver("intercom", credentials, _reply("123")) == [200]
    assert await _deliver("intercom", credentials, _handoff("123")) == [200, 200]

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


async def test_chatwoot_reply_keeps_articles_and_handoff_opens_the_conversation(fake_api: FakeApi) -> None:
    credentials = {
        "base_url": fake_api.base_url,
        "account_id": 1,
        "api_access_token": "cw-token",
        "inbox_id": 3,
    }
    assert await _deliver("chatwoot", credentials, _reply("10")) == [200]
    assert await _deliver("chatwoot", credentials, _handoff("10")) == [200, 200]

    reply, announce, toggle = fake_api.requests
    assert (reply.method, reply.path) == ("POST", "/api/v1/accounts/1/conversations/10/messages")
    assert reply.headers["api_access_token"] == "cw-token"
    body = reply.json()
    assert (body["message_type"], body["private"], body["content_type"]) == ("outgoing", False, "article")
    assert body["content_attributes"]["items"][0]["link"] == "https://help/refunds"
    assert announce.json()["content"] == "Connecting you with a human agent."
    assert toggle.path == "/api/v1/accounts/1/conversations/10/toggle_status"
    assert toggle.json() == {"status": "open"}


async def test_freshchat_handoff_assigns_to_the_group_after_announcing_it(fake_api: FakeApi) -> None:
    credentials = {"api_url": f"{fake_api.base_url}/v2", "api_token": "t", "handoff_group_id": "grp-1"}
    assert await _deliver("freshchat", credentials, _handoff("fc-1")) == [200, 200]
    message, assign = fake_api.requests
    assert message.json()["actor_type"] == "bot"
    assert (assign.method, assign.path) == ("PUT", "/v2/conversations/fc-1")
    assert assign.json() == {"status": "assigned", "assigned_group_id": "grp-1"}


async def test_a_failed_request_stops_the_sequence_and_reports_whether_to_retry(fake_api: FakeApi) -> None:
    fake_api.script(429, {"message": "slow down"}, {"Retry-After": "7"})
    credentials = {"base_url": fake_api.base_url, "account_id": 1, "api_access_token": "cw"}
    async with httpx.AsyncClient() as client:
        (response,) = await PartnerSender(client).deliver("chatwoot", credentials, _handoff("10"))
    assert (response.status_code, response.retryable, response.retry_after_s) == (429, True, 7.0)
    assert len(fake_api.requests) == 1
