"""Seed 002's ``GET /api/webhook/messages`` over real Kafka + FerretDB: message events from platform.events,
delivery status from attempt events, the seed's filters and pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import Author, AuthorType, Provider, Reply
from switchboard_testing.builders import delivery_attempt as attempt
from switchboard_testing.builders import message_received
from switchboard_testing.waiting import eventually

from ..delivery_feed import feed
from ..harness import Registry, Tenant

URL = "/api/webhook/messages"
T0 = datetime(2025, 1, 19, 12, 0, tzinfo=UTC)  # seed 002's example time


def _incoming(tenant: Tenant, platform: Provider, minute: int) -> CloudEvent:
    received = message_received(
        tenant_id=tenant.id,
        provider=platform,
        conversation_id="conv_456",
        author=Author(id="external_user_123", name="John Doe", type="user"),
        text="Hello, I need help with my account",
        sent_at=T0 + timedelta(minutes=minute),
        metadata={"channel": "web"},
    )
    # Keyed by conversation like every platform.events producer, so one conversation's events stay in order.
    return CloudEvent(
        source="/tests", type="message.received", tenant=tenant.id, partitionkey="conv_456", data=received
    )


def _reply(tenant: Tenant, platform: Provider, author: AuthorType, minute: int) -> CloudEvent:
    reply = Reply(
        tenant_id=tenant.id,
        conversation_id="conv_456",
        provider=platform,
        user_id="external_user_123",
        author=Author(name="Agent Sarah" if author == "agent" else "Assistant", type=author),
        text="Agent is now connected. How can I help you?",
    )
    return CloudEvent(
        source="/tests",
        type="message.replied",
        tenant=tenant.id,
        time=T0 + timedelta(minutes=minute),
        data=reply,
    )


async def _listed(tenant: Tenant, count: int, **params: Any) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        response = await tenant.client.get(URL, headers=tenant.headers, params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body if body["pagination"]["total"] >= count else {}

    return await eventually(probe, timeout_s=20)


async def test_message_history_filters_by_platform_type_and_status(registry: Registry) -> None:
    tenant = await registry.tenant()
    incoming = _incoming(tenant, "freshchat", 0)
    answered = _reply(tenant, "freshchat", "bot", 1)  # delivered to the platform: sent
    agent = _reply(tenant, "zendesk", "agent", 2)  # the platform refused it: failed
    waiting = _reply(tenant, "zendesk", "bot", 3)  # no attempt yet: pending
    to_platform = {"endpoint_kind": "integration", "event_type": "message.replied"}

    async with feed(registry.settings) as publish:
        await publish.platform(incoming, answered, agent, waiting)
        await publish.attempts(
            attempt(tenant.id, "integration-1", event_id=answered.id, **to_platform),
            attempt(tenant.id, "integration-2", event_id=agent.id, outcome="failed", status_code=400,
                    error="HTTP 400 (not retried: the receiver rejected the request)", **to_platform),
        )  # fmt: skip

    async def settled() -> bool:
        body = await _listed(tenant, 4)
        return {m["id"]: m["status"] for m in body["data"]} == {
            incoming.id: "received",
            answered.id: "sent",
            agent.id: "failed",
            waiting.id: "pending",
        }

    await eventually(settled, timeout_s=20)
    freshchat = await _listed(tenant, 0, platform="freshchat")
    agent_only = await _listed(tenant, 0, message_type="agent_outgoing")
    failed = await _listed(tenant, 0, status="failed")
    outgoing_pending = await _listed(tenant, 0, message_type="outgoing", status="pending", platform="zendesk")
    first_page = await _listed(tenant, 0, per_page=3)
    second_page = await _listed(tenant, 0, per_page=3, page=2)

    assert [m["id"] for m in freshchat["data"]] == [answered.id, incoming.id]  # newest first
    assert [m["id"] for m in agent_only["data"]] == [agent.id]
    assert [m["id"] for m in failed["data"]] == [agent.id]
    assert failed["data"][0]["error"] == "HTTP 400 (not retried: the receiver rejected the request)"
    assert [m["id"] for m in outgoing_pending["data"]] == [waiting.id]
    assert first_page["pagination"] == {"page": 1, "per_page": 3, "total": 4, "pages": 2}
    assert [m["id"] for m in second_page["data"]] == [incoming.id]
    message = freshchat["data"][1]
    assert {
        key: message[key] for key in ("message_type", "platform", "conversation_id", "user_id", "username")
    } == {
        "message_type": "incoming",
        "platform": "freshchat",
        "conversation_id": "conv_456",
        "user_id": "external_user_123",
        "username": "John Doe",
    }
    assert message["message"] == "Hello, I need help with my account"
    assert message["timestamp"] == "2025-01-19T12:00:00.000Z"
    assert freshchat["data"][0]["deliveries"][0]["status"] == "succeeded"


async def test_an_attempt_that_arrives_before_its_message_still_sets_the_status(registry: Registry) -> None:
    tenant = await registry.tenant()
    reply = _reply(tenant, "intercom", "agent", 0)
    sent = attempt(
        tenant.id,
        "integration-1",
        event_id=reply.id,
        event_type="message.replied",
        endpoint_kind="integration",
    )

    async with feed(registry.settings) as publish:
        await publish.attempts(sent)

        async def delivery_projected() -> bool:
            # The attempt is in (its delivery is listed) while the message itself is still unknown.
            return bool(
                await registry.app.state.message_history.messages.count_documents({"event_id": reply.id})
            )

        await eventually(delivery_projected, timeout_s=20)
        assert (await _listed(tenant, 0))["data"] == []
        await publish.platform(reply)
    body = await _listed(tenant, 1)

    assert [(m["id"], m["message_type"], m["status"]) for m in body["data"]] == [
        (reply.id, "agent_outgoing", "sent")
    ]


async def test_the_same_message_event_twice_is_one_message_and_tenants_see_only_their_own(
    registry: Registry,
) -> None:
    tenant, other = await registry.tenant(), await registry.tenant()
    mine, theirs = _incoming(tenant, "chatwoot", 0), _incoming(other, "chatwoot", 1)
    marker = _incoming(tenant, "chatwoot", 2)

    async with feed(registry.settings) as publish:
        await publish.platform(mine, mine, theirs, marker)
    body = await _listed(tenant, 2)  # the marker shares the duplicate's partition, so both were consumed
    others = await _listed(other, 1)

    assert [m["id"] for m in body["data"]] == [marker.id, mine.id]
    assert [m["id"] for m in others["data"]] == [theirs.id]


async def test_bad_filters_and_keys_are_refused(registry: Registry) -> None:
    tenant = await registry.tenant()
    client, headers = tenant.client, tenant.headers
    no_scope = await registry.tenant(scopes=["deliveries:read"])

    cases = [
        (await client.get(URL), 401, None),
        (await client.get(URL, headers={"Authorization": "Bearer sbk_nope"}), 401, None),
        (await client.get(URL, headers=no_scope.headers), 403, None),
        (await client.get(URL, headers=headers, params={"platform": "myspace"}), 422, "platform"),
        (await client.get(URL, headers=headers, params={"message_type": "sideways"}), 422, "message_type"),
        (await client.get(URL, headers=headers, params={"status": "lost"}), 422, "status"),
        (await client.get(URL, headers=headers, params={"page": 0}), 422, "page"),
        (await client.get(URL, headers=headers, params={"per_page": 101}), 422, "per_page"),
    ]

    for response, status, field in cases:
        assert (response.status_code, response.json()["error"].get("field")) == (status, field), response.text
