"""The delivery log over real Kafka + FerretDB: attempt events in, /api/webhooks/{id}/deliveries…, /stats,
/redeliver and /recover out (commands read back from the real dispatch-commands topic)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from switchboard_contracts.events import CommandType, RecoverEndpoint, RedeliverDelivery
from switchboard_contracts.topics import Topic
from switchboard_registry.adapters.deliveries import decoded
from switchboard_testing.builders import attempt_event, cloud_event
from switchboard_testing.builders import delivery_attempt as attempt
from switchboard_testing.kafka import headers_of, read_until
from switchboard_testing.waiting import eventually

from ..delivery_feed import HOOK_BODY, feed
from ..harness import Registry, Tenant


async def _webhook(tenant: Tenant) -> str:
    created = await tenant.client.post("/api/webhooks", headers=tenant.headers, json=HOOK_BODY)
    assert created.status_code == 201, created.text
    webhook_id: str = created.json()["data"]["_id"]
    return webhook_id


async def _delivery_with(tenant: Tenant, webhook_id: str, delivery_id: str, attempts: int) -> dict[str, Any]:
    """The delivery once the projection holds at least ``attempts`` of its attempts."""

    async def probe() -> dict[str, Any]:
        response = await tenant.client.get(
            f"/api/webhooks/{webhook_id}/deliveries/{delivery_id}", headers=tenant.headers
        )
        if response.status_code != 200:
            return {}  # falsy: not there yet
        data: dict[str, Any] = response.json()["data"]
        return data if len(data["attempts"]) >= attempts else {}

    return await eventually(probe, timeout_s=20)


async def test_every_attempt_of_a_delivery_is_shown(registry: Registry) -> None:
    tenant = await registry.tenant()
    webhook_id = await _webhook(tenant)
    t0 = datetime.now(UTC).replace(microsecond=0)
    first = attempt(
        tenant.id,
        webhook_id,
        outcome="retry_scheduled",
        status_code=503,
        latency_ms=120.5,
        response_body="upstream busy",
        error_kind="http_status",
        error="HTTP 503",
        attempted_at=t0,
        next_attempt_at=t0 + timedelta(seconds=4),
    )
    second = attempt(
        tenant.id, webhook_id, delivery_id=first.delivery_id, event_id=first.event_id, attempt=2,
        attempted_at=t0 + timedelta(seconds=4),
    )  # fmt: skip

    async with feed(registry.settings) as publish:
        await publish.attempts(first, second)
    delivery = await _delivery_with(tenant, webhook_id, first.delivery_id, 2)
    listed = await tenant.client.get(f"/api/webhooks/{webhook_id}/deliveries", headers=tenant.headers)

    assert delivery["status"] == "succeeded"
    assert delivery["eventId"] == first.event_id
    assert delivery["attemptCount"] == 2
    assert delivery["attempts"][0] == {
        "attempt": 1,
        "trigger": "scheduled",
        "commandId": None,
        "attemptedAt": t0.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "outcome": "retry_scheduled",
        "statusCode": 503,
        "latencyMs": 120.5,
        "responseBody": "upstream busy",
        "errorKind": "http_status",
        "error": "HTTP 503",
        "nextAttemptAt": (t0 + timedelta(seconds=4))
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "url": HOOK_BODY["url"],
    }
    assert delivery["attempts"][1]["outcome"] == "succeeded"
    assert listed.status_code == 200
    assert [item["_id"] for item in listed.json()["data"]] == [first.delivery_id]
    assert "attempts" not in listed.json()["data"][0]


async def test_the_same_attempt_event_twice_is_one_record(
    registry: Registry, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    tenant = await registry.tenant()
    webhook_id = await _webhook(tenant)
    first = attempt(tenant.id, webhook_id, outcome="retry_scheduled", status_code=500)
    again = attempt_event(first)
    later = attempt(
        tenant.id, webhook_id, delivery_id=first.delivery_id, event_id=first.event_id, attempt=2,
        attempted_at=first.attempted_at + timedelta(seconds=1),
    )  # fmt: skip

    async with feed(registry.settings) as publish:
        # Kafka's at-least-once: the very same record twice, and the dispatcher re-emitting after a crash
        # (a new CloudEvent id for the same (delivery, attempt)). All share a partition, so `later` comes last.
        await publish.attempt_events(again, again, attempt_event(first))
        await publish.attempts(later)
    delivery = await _delivery_with(tenant, webhook_id, first.delivery_id, 2)

    async def counted() -> dict[str, Any]:
        # `later` is folded into the rollups after its delivery document is written: wait for that too.
        response = await tenant.client.get(f"/api/webhooks/{webhook_id}/stats", headers=tenant.headers)
        data: dict[str, Any] = response.json()["data"]
        return data if data["attempts"]["total"] >= 2 else {}

    stats = await eventually(counted, timeout_s=20)
    heads = mongo[registry.settings.mongodb_database]["delivery_heads"]
    head = await heads.find_one({"endpoint_id": webhook_id})

    assert [a["attempt"] for a in delivery["attempts"]] == [1, 2]
    assert delivery["attemptCount"] == 2
    assert head is not None
    entries = decoded(head["entries"])
    assert [entry["delivery_id"] for entry in entries] == [first.delivery_id]  # one delivery…
    assert len(entries[0]["attempts"]) == 2  # …with one record per attempt
    assert stats["attempts"]["total"] == 2
    assert stats["errors"]["byStatusCode"] == {"500": 1}


async def test_deliveries_filter_by_status_and_paginate_newest_first(registry: Registry) -> None:
    tenant = await registry.tenant()
    webhook_id = await _webhook(tenant)
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    done = attempt(tenant.id, webhook_id, attempted_at=t0)
    gave_up = attempt(
        tenant.id, webhook_id, outcome="exhausted", status_code=500, attempted_at=t0 + timedelta(seconds=1)
    )
    waiting = attempt(
        tenant.id, webhook_id, outcome="retry_scheduled", status_code=None, error_kind="timeout",
        attempted_at=t0 + timedelta(seconds=2), event_type="conversation.created",
    )  # fmt: skip
    url = f"/api/webhooks/{webhook_id}/deliveries"

    async with feed(registry.settings) as publish:
        await publish.attempts(done, gave_up, waiting)

    async def all_three() -> bool:
        response = await tenant.client.get(url, headers=tenant.headers)
        return bool(response.json()["pagination"]["total"] == 3)

    await eventually(all_three, timeout_s=20)
    failed = await tenant.client.get(url, headers=tenant.headers, params={"status": "failed"})
    pending = await tenant.client.get(url, headers=tenant.headers, params={"status": "pending"})
    by_type = await tenant.client.get(
        url, headers=tenant.headers, params={"event_type": "conversation.created"}
    )
    page_2 = await tenant.client.get(url, headers=tenant.headers, params={"page": 2, "per_page": 2})

    assert [d["_id"] for d in failed.json()["data"]] == [gave_up.delivery_id]
    assert failed.json()["data"][0]["outcome"] == "exhausted"
    assert [d["_id"] for d in pending.json()["data"]] == [waiting.delivery_id]
    assert pending.json()["data"][0]["lastErrorKind"] == "timeout"
    assert [d["_id"] for d in by_type.json()["data"]] == [waiting.delivery_id]
    assert page_2.json()["pagination"] == {"page": 2, "per_page": 2, "total": 3, "pages": 2}
    assert [d["_id"] for d in page_2.json()["data"]] == [done.delivery_id]  # the oldest, last


async def test_deliveries_filter_by_the_time_of_their_first_attempt(registry: Registry) -> None:
    tenant = await registry.tenant()
    webhook_id = await _webhook(tenant)
    t0 = datetime.now(UTC) - timedelta(hours=3)
    early, middle, late = (
        attempt(tenant.id, webhook_id, attempted_at=t0 + timedelta(hours=h)) for h in (0, 1, 2)
    )
    # A retry of the early delivery within the window does not move it there: its first attempt places it.
    early_retry = early.model_copy(update={"attempt": 2, "attempted_at": t0 + timedelta(hours=1, minutes=5)})
    url = f"/api/webhooks/{webhook_id}/deliveries"
    async with feed(registry.settings) as publish:
        await publish.attempts(early, middle, late, early_retry)

    async def all_three() -> bool:
        response = await tenant.client.get(url, headers=tenant.headers)
        return bool(response.json()["pagination"]["total"] == 3)

    await eventually(all_three, timeout_s=20)
    window = {
        "since": (t0 + timedelta(minutes=30)).isoformat(),
        "until": (t0 + timedelta(minutes=90)).isoformat(),
    }
    within = await tenant.client.get(url, headers=tenant.headers, params=window)
    since = await tenant.client.get(url, headers=tenant.headers, params={"since": window["since"]})

    assert [d["_id"] for d in within.json()["data"]] == [middle.delivery_id]
    assert [d["_id"] for d in since.json()["data"]] == [late.delivery_id, middle.delivery_id]


async def test_stats_over_a_known_set_of_attempts(registry: Registry) -> None:
    tenant = await registry.tenant()
    webhook_id = await _webhook(tenant)
    now = datetime.now(UTC)
    # Ten deliveries: eight succeed at once (10..80 ms), one after a 500, one times out then gets 502s.
    records = [attempt(tenant.id, webhook_id, latency_ms=10.0 * i, attempted_at=now) for i in range(1, 9)]
    retried = attempt(tenant.id, webhook_id, outcome="retry_scheduled", status_code=500, latency_ms=200.0)
    records += [
        retried,
        attempt(tenant.id, webhook_id, delivery_id=retried.delivery_id, attempt=2, latency_ms=100.0),
    ]
    timeout = attempt(
        tenant.id,
        webhook_id,
        outcome="retry_scheduled",
        status_code=None,
        latency_ms=None,
        error_kind="timeout",
    )
    records += [
        timeout,
        attempt(tenant.id, webhook_id, delivery_id=timeout.delivery_id, attempt=2, outcome="exhausted",
                status_code=502, latency_ms=40.0),
    ]  # fmt: skip
    # Three days ago: outside the default 24 h window, inside an explicit one.
    old = attempt(tenant.id, webhook_id, latency_ms=5.0, attempted_at=now - timedelta(days=3))
    url = f"/api/webhooks/{webhook_id}/stats"

    async with feed(registry.settings) as publish:
        await publish.attempts(old, *records)

    async def all_counted() -> dict[str, Any]:
        response = await tenant.client.get(url, headers=tenant.headers, params={"window": "4d"})
        data: dict[str, Any] = response.json()["data"]
        return data if data["attempts"]["total"] == 13 else {}

    await eventually(all_counted, timeout_s=20)
    response = await tenant.client.get(url, headers=tenant.headers)
    since = (now - timedelta(days=3, minutes=1)).isoformat()
    explicit = await tenant.client.get(url, headers=tenant.headers, params={"since": since})

    data = response.json()["data"]
    assert response.status_code == 200
    assert data["webhookId"] == webhook_id
    assert data["window"]["seconds"] == 24 * 3600 + 60
    assert data["successRate"] == 0.9
    assert data["deliveries"] == {"completed": 10, "succeeded": 9, "failed": 1, "successRate": 0.9}
    assert data["attempts"]["total"] == 12
    assert data["attempts"]["successRate"] == 0.75
    assert data["retries"] == {
        "total": 2,
        "scheduled": 2,
        "exhausted": 1,
        "attemptsPerDelivery": {"1": 8, "2": 2},
    }
    assert data["errors"]["total"] == 3
    assert data["errors"]["rate"] == 0.25
    assert data["errors"]["byKind"]["timeout"] == {"count": 1, "rate": 0.0833}
    assert data["errors"]["byKind"]["http_status"] == {"count": 2, "rate": 0.1667}
    assert data["errors"]["byStatusCode"] == {"500": 1, "502": 1}
    latency = data["responseTime"]
    assert latency["samples"] == 11
    assert latency["averageMs"] == round((360 + 200 + 100 + 40) / 11, 2)
    assert latency["p95Ms"] == 200.0  # nearest rank 11 of 11, clamped to the exact max
    assert abs(latency["p50Ms"] - 50.0) <= 0.5  # rank 6 of 11 = 50 ms, sketch accuracy 1 %
    assert latency["maxMs"] == 200.0
    assert explicit.json()["data"]["attempts"]["total"] == 13
    assert explicit.json()["data"]["responseTime"]["minMs"] == 5.0


async def test_redeliver_publishes_a_command_carrying_the_event(
    registry: Registry, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    tenant = await registry.tenant()
    webhook_id = await _webhook(tenant)
    event = cloud_event(tenant=tenant.id)
    failed = attempt(
        tenant.id, webhook_id, event_id=event.id, event_type=event.type, outcome="failed", status_code=400
    )
    events = mongo[registry.settings.mongodb_database]["events"]
    async with feed(registry.settings) as publish:
        await publish.platform(event)
        await publish.attempts(failed)
    await eventually(lambda: events.count_documents({"event_id": event.id}))
    await _delivery_with(tenant, webhook_id, failed.delivery_id, 1)

    response = await tenant.client.post(
        f"/api/webhooks/{webhook_id}/deliveries/{failed.delivery_id}/redeliver", headers=tenant.headers
    )

    assert response.status_code == 202, response.text
    accepted = response.json()["data"]
    assert accepted["command"] == CommandType.REDELIVER
    assert accepted["attempt"] == 2
    settings = registry.settings
    records = await read_until(
        settings.kafka_bootstrap,
        settings.topic(Topic.DISPATCH_COMMANDS),
        lambda rs: any(headers_of(r).get("ce_type") == CommandType.REDELIVER for r in rs),
    )
    (record,) = [r for r in records if headers_of(r)["ce_type"] == CommandType.REDELIVER]
    command = RedeliverDelivery.model_validate(json.loads(record.value))
    assert record.key == webhook_id.encode()
    assert headers_of(record)["ce_id"] == accepted["commandId"]
    assert headers_of(record)["ce_tenant"] == tenant.id
    assert (command.tenant_id, command.endpoint_id, command.endpoint_kind) == (
        tenant.id,
        webhook_id,
        "webhook",
    )
    assert command.delivery_id == failed.delivery_id
    assert command.attempt == 2
    assert command.event is not None
    assert (command.event["id"], command.event["type"], command.event["data"]) == (
        event.id,
        event.type,
        event.data,
    )


async def test_redeliver_waits_for_an_event_the_event_log_has_not_projected_yet(registry: Registry) -> None:
    # The event log and the delivery log are separate projections: a delivery can be listed a moment before its
    # event is logged. A redelivery asked for then waits for the event instead of failing with 409.
    tenant = await registry.tenant()
    webhook_id = await _webhook(tenant)
    event = cloud_event(tenant=tenant.id)
    failed = attempt(
        tenant.id, webhook_id, event_id=event.id, event_type=event.type, outcome="exhausted", status_code=500
    )
    async with feed(registry.settings) as publish:
        await publish.attempts(failed)
        await _delivery_with(tenant, webhook_id, failed.delivery_id, 1)

        async def event_arrives_later() -> None:
            await asyncio.sleep(1.0)
            await publish.platform(event)

        later = asyncio.create_task(event_arrives_later())
        response = await tenant.client.post(
            f"/api/webhooks/{webhook_id}/deliveries/{failed.delivery_id}/redeliver", headers=tenant.headers
        )
        await later

    assert response.status_code == 202, response.text
    assert response.json()["data"]["attempt"] == 2


async def test_redeliver_is_409_when_the_event_is_not_in_the_event_log(registry: Registry) -> None:
    tenant = await registry.tenant()
    webhook_id = await _webhook(tenant)
    orphan = attempt(tenant.id, webhook_id, outcome="exhausted", status_code=500)
    async with feed(registry.settings) as publish:
        await publish.attempts(orphan)
    await _delivery_with(tenant, webhook_id, orphan.delivery_id, 1)

    response = await tenant.client.post(
        f"/api/webhooks/{webhook_id}/deliveries/{orphan.delivery_id}/redeliver", headers=tenant.headers
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "event_unavailable"


@pytest.mark.parametrize("where", ["query", "body"])
async def test_recover_publishes_a_command_for_the_window(registry: Registry, where: str) -> None:
    tenant = await registry.tenant()
    webhook_id = await _webhook(tenant)
    since = (datetime.now(UTC) - timedelta(hours=6)).replace(microsecond=0)
    window = {"since": since.isoformat().replace("+00:00", "Z")}
    url = f"/api/webhooks/{webhook_id}/recover"

    if where == "query":
        response = await tenant.client.post(url, headers=tenant.headers, params=window)
    else:
        response = await tenant.client.post(url, headers=tenant.headers, json=window)

    assert response.status_code == 202, response.text
    accepted = response.json()["data"]
    assert accepted["since"] == since.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert accepted["until"] is None
    settings = registry.settings
    records = await read_until(
        settings.kafka_bootstrap,
        settings.topic(Topic.DISPATCH_COMMANDS),
        lambda rs: any(headers_of(r).get("ce_type") == CommandType.RECOVER for r in rs),
    )
    (record,) = [r for r in records if headers_of(r)["ce_type"] == CommandType.RECOVER]
    command = RecoverEndpoint.model_validate(json.loads(record.value))
    assert record.key == webhook_id.encode()
    assert headers_of(record)["ce_id"] == accepted["commandId"]
    assert command == RecoverEndpoint(
        tenant_id=tenant.id,
        endpoint_id=webhook_id,
        since=since,
        until=None,
        requested_by=command.requested_by,
    )
    assert command.requested_by


async def test_another_tenants_webhook_and_delivery_are_not_found(registry: Registry) -> None:
    owner, other = await registry.tenant(), await registry.tenant()
    webhook_id, others_webhook = await _webhook(owner), await _webhook(other)
    delivered = attempt(owner.id, webhook_id)
    async with feed(registry.settings) as publish:
        await publish.attempts(delivered)
    await _delivery_with(owner, webhook_id, delivered.delivery_id, 1)
    since = {"since": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}
    theirs = f"/api/webhooks/{webhook_id}"
    mine_with_their_delivery = f"/api/webhooks/{others_webhook}/deliveries/{delivered.delivery_id}"

    responses = [
        await other.client.get(f"{theirs}/deliveries", headers=other.headers),
        await other.client.get(f"{theirs}/deliveries/{delivered.delivery_id}", headers=other.headers),
        await other.client.post(
            f"{theirs}/deliveries/{delivered.delivery_id}/redeliver", headers=other.headers
        ),
        await other.client.get(f"{theirs}/stats", headers=other.headers),
        await other.client.post(f"{theirs}/recover", headers=other.headers, params=since),
        await other.client.get(mine_with_their_delivery, headers=other.headers),
        await other.client.post(f"{mine_with_their_delivery}/redeliver", headers=other.headers),
        await other.client.get("/api/webhooks/0123456789abcdef01234567/stats", headers=other.headers),
    ]
    own_list = await other.client.get(f"/api/webhooks/{others_webhook}/deliveries", headers=other.headers)

    assert [r.status_code for r in responses] == [404] * len(responses)
    assert {r.json()["error"]["code"] for r in responses} == {"not_found"}
    assert own_list.json()["data"] == []


async def test_bad_input_gets_the_shared_error_shape(registry: Registry) -> None:
    tenant = await registry.tenant()
    webhook_id = await _webhook(tenant)
    base = f"/api/webhooks/{webhook_id}"
    client, headers = tenant.client, tenant.headers
    json_headers = {**headers, "Content-Type": "application/json"}

    cases: list[tuple[httpx.Response, int, str | None]] = [
        (await client.get(f"{base}/deliveries"), 401, None),
        (await client.get(f"{base}/stats", headers={"Authorization": "Bearer sbk_wrong"}), 401, None),
        (await client.post(f"{base}/recover", params={"since": "2026-01-01T00:00:00Z"}), 401, None),
        (await client.get(f"{base}/deliveries", headers=headers, params={"status": "lost"}), 422, "status"),
        (await client.get(f"{base}/deliveries", headers=headers, params={"per_page": 0}), 422, "per_page"),
        (await client.get(f"{base}/stats", headers=headers, params={"window": "a while"}), 422, "window"),
        (await client.get(f"{base}/stats", headers=headers, params={"since": "yesterday"}), 422, "since"),
        (await client.get(f"{base}/stats", headers=headers, params={"since": "2026-11-01T00:00:00"}), 422, "since"),
        (await client.post(f"{base}/recover", headers=headers), 422, "since"),
        (await client.post(f"{base}/recover", headers=json_headers, content=b'{"since": '), 400, None),
        (await client.post(f"{base}/recover", headers=headers, json={"since": "2026-01-01T00:00:00Z", "x": 1}), 422, "x"),
        (await client.post(f"{base}/recover", headers=json_headers, content=b" " * 70_000), 413, None),
    ]  # fmt: skip

    for response, status, field in cases:
        error = response.json()["error"]
        assert (response.status_code, error.get("field")) == (status, field), (response.request.url, error)
    assert cases[9][0].json()["error"]["code"] == "invalid_json"
    assert cases[11][0].json()["error"]["code"] == "payload_too_large"


async def test_a_key_without_the_deliveries_scope_is_refused(registry: Registry) -> None:
    tenant = await registry.tenant()
    webhook_id = await _webhook(tenant)
    # The scope is checked before anything is looked up, so any webhook id gets the same answer.
    reader = await registry.tenant(scopes=["webhooks:read"])

    response = await reader.client.get(f"/api/webhooks/{webhook_id}/deliveries", headers=reader.headers)

    assert response.status_code == 403


async def test_a_record_that_cannot_be_projected_is_skipped_not_retried_forever(registry: Registry) -> None:
    tenant = await registry.tenant()
    webhook_id = await _webhook(tenant)
    valid = attempt(tenant.id, webhook_id)
    key = f"webhook:{webhook_id}".encode()  # the dispatcher's key: all three land on one partition, in order
    ce = {"ce_specversion": "1.0", "ce_source": "/switchboard/dispatcher", "content-type": "application/json"}

    async with feed(registry.settings) as publish:
        await publish.to_attempts.publish(b"{not json", key=key, headers={**ce, "ce_id": "1", "ce_type": "x"})
        await publish.to_attempts.publish(
            b'{"delivery_id": "msg_half"}',
            key=key,
            headers={**ce, "ce_id": "2", "ce_type": "delivery.failed"},
        )
        await publish.attempts(valid)

    delivery = await _delivery_with(tenant, webhook_id, valid.delivery_id, 1)
    assert delivery["status"] == "succeeded"


async def test_a_recovers_progress_counts_the_deliveries_its_attempts_reached(registry: Registry) -> None:
    tenant = await registry.tenant()
    webhook_id = await _webhook(tenant)
    recovered = await tenant.client.post(
        f"/api/webhooks/{webhook_id}/recover",
        headers=tenant.headers,
        params={"since": (datetime.now(UTC) - timedelta(hours=1)).isoformat()},
    )
    command_id = recovered.json()["data"]["commandId"]
    progress_url = recovered.json()["data"]["progress"]
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    dead = [
        attempt(
            tenant.id,
            webhook_id,
            outcome="exhausted",
            status_code=500,
            attempted_at=t0 + timedelta(seconds=i),
        )
        for i in range(3)
    ]
    later = t0 + timedelta(minutes=5)

    def by_command(record: Any, number: int, outcome: str, seconds: int) -> Any:
        return record.model_copy(
            update={
                "attempt": number,
                "command_id": command_id,
                "outcome": outcome,
                "attempted_at": later + timedelta(seconds=seconds),
            }
        )

    async with feed(registry.settings) as publish:
        await publish.attempts(*dead)
        await publish.attempts(
            by_command(dead[0], 2, "succeeded", 0),
            by_command(dead[1], 2, "retry_scheduled", 1),
            by_command(dead[1], 3, "exhausted", 2),
            by_command(dead[2], 2, "retry_scheduled", 3),
        )

    async def counted() -> dict[str, Any]:
        response = await tenant.client.get(progress_url, headers=tenant.headers)
        data: dict[str, Any] = response.json()["data"]
        return data if data["attempted"] == 3 and data["pending"] == 1 else {}

    progress = await eventually(counted, timeout_s=20)
    unknown = await tenant.client.get(f"/api/webhooks/{webhook_id}/recover/nope", headers=tenant.headers)

    assert progress_url == f"/api/webhooks/{webhook_id}/recover/{command_id}"
    assert progress == {
        "commandId": command_id,
        "webhookId": webhook_id,
        "attempted": 3,
        "succeeded": 1,
        "failed": 1,
        "pending": 1,
    }
    assert unknown.json()["data"]["attempted"] == 0
    other = await registry.tenant()
    assert (await other.client.get(progress_url, headers=other.headers)).status_code == 404
