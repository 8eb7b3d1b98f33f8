"""Delivery policy over real Kafka: retry schedule, 410, Retry-After, isolation, limits, SSRF, restarts."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from switchboard_contracts.events import DeliveryAttempt
from switchboard_contracts.topics import Topic
from switchboard_dispatcher.adapters.health import EndpointHealth
from switchboard_dispatcher.main import create_app
from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_testing.kafka import headers_of, read_until
from switchboard_testing.webhooks import Platform, Receiver

from ..conftest import wait_for_target


def _attempts(records: list[Any]) -> list[DeliveryAttempt]:
    return [DeliveryAttempt.model_validate(json.loads(r.value)) for r in records]


async def test_seed_001_schedule_retries_after_4_then_8_seconds(
    dispatcher: FastAPI, platform: Platform, receiver: Receiver, dispatcher_settings: DispatcherSettings
) -> None:
    receiver.script("flaky", (500, {}, 0.0), (503, {}, 0.0))
    await platform.webhook("w-flaky", "acme", receiver.url("flaky"), ["*"])
    await wait_for_target(dispatcher, "webhook", "w-flaky")

    await platform.event("message.created", "acme", {"id": "m-1"})

    first, second, third = await receiver.wait_for("flaky", 3, timeout_s=30)
    assert 4 * 0.8 <= second.at - first.at <= 4 * 1.2 + 0.5
    assert 8 * 0.8 <= third.at - second.at <= 8 * 1.2 + 0.5
    assert len({r.headers["webhook-id"] for r in (first, second, third)}) == 1
    records = await read_until(
        dispatcher_settings.kafka_bootstrap,
        dispatcher_settings.topic(Topic.DELIVERY_ATTEMPTS),
        lambda rs: any(headers_of(r)["ce_type"] == "delivery.succeeded" for r in rs),
    )
    attempts = _attempts(records)
    assert [(a.attempt, a.outcome, a.status_code) for a in attempts] == [
        (1, "retry_scheduled", 500),
        (2, "retry_scheduled", 503),
        (3, "succeeded", 200),
    ]
    assert attempts[0].next_attempt_at is not None
    assert attempts[2].latency_ms is not None


async def test_exhausted_deliveries_are_dead_lettered(
    dispatcher: FastAPI, platform: Platform, receiver: Receiver, dispatcher_settings: DispatcherSettings
) -> None:
    receiver.script("down", default=(500, {}, 0.0))
    await platform.webhook("w-down", "acme", receiver.url("down"), ["*"], delivery={"retry_schedule": [1]})
    await wait_for_target(dispatcher, "webhook", "w-down")

    await platform.event("message.created", "acme", {"id": "m-1"})

    await receiver.wait_for("down", 2)
    dead = await read_until(
        dispatcher_settings.kafka_bootstrap,
        dispatcher_settings.topic(Topic.DELIVERY_DEAD_LETTER),
        lambda rs: len(rs) >= 1,
    )
    assert dead[0].key == b"w-down"
    attempts = _attempts(
        await read_until(
            dispatcher_settings.kafka_bootstrap,
            dispatcher_settings.topic(Topic.DELIVERY_ATTEMPTS),
            lambda rs: any(headers_of(r)["ce_type"] == "delivery.exhausted" for r in rs),
        )
    )
    assert [a.outcome for a in attempts] == ["retry_scheduled", "exhausted"]


async def test_410_gone_disables_the_endpoint(
    dispatcher: FastAPI, platform: Platform, receiver: Receiver, dispatcher_settings: DispatcherSettings
) -> None:
    receiver.script("gone", default=(410, {}, 0.0))
    await platform.webhook("w-gone", "acme", receiver.url("gone"), ["message.*"])
    await wait_for_target(dispatcher, "webhook", "w-gone")

    await platform.event("message.created", "acme", {"id": "m-1"})
    await receiver.wait_for("gone", 1)
    await wait_for_target(dispatcher, "webhook", "w-gone", present=False)
    await platform.event("message.created", "acme", {"id": "m-2"})

    records = await read_until(
        dispatcher_settings.kafka_bootstrap,
        dispatcher_settings.topic(Topic.PLATFORM_EVENTS),
        lambda rs: any(headers_of(r)["ce_type"] == "webhook.disabled" for r in rs),
    )
    (disabled,) = [r for r in records if headers_of(r)["ce_type"] == "webhook.disabled"]
    assert json.loads(disabled.value)["endpoint_id"] == "w-gone"
    assert headers_of(disabled)["ce_tenant"] == "acme"
    await asyncio.sleep(1.0)
    assert len(receiver.requests["/gone"]) == 1  # nothing more was sent, and nothing was retried


async def test_retry_after_is_honoured(dispatcher: FastAPI, platform: Platform, receiver: Receiver) -> None:
    receiver.script("busy", (429, {"Retry-After": "5"}, 0.0))
    await platform.webhook("w-busy", "acme", receiver.url("busy"), ["*"], delivery={"retry_schedule": [1, 1]})
    await wait_for_target(dispatcher, "webhook", "w-busy")

    await platform.event("message.created", "acme", {"id": "m-1"})

    first, second = await receiver.wait_for("busy", 2, timeout_s=20)
    assert second.at - first.at >= 4.9  # the schedule alone would have retried after about 1 s


async def test_a_hanging_endpoint_does_not_slow_a_healthy_one(
    dispatcher: FastAPI, platform: Platform, receiver: Receiver
) -> None:
    receiver.script("hang", default=(200, {}, 4.0))
    await platform.webhook("w-hang", "acme", receiver.url("hang"), ["*"], delivery={"timeout_seconds": 5})
    await platform.webhook("w-fast", "acme", receiver.url("fast", host="other.test"), ["*"])
    await wait_for_target(dispatcher, "webhook", "w-hang")
    await wait_for_target(dispatcher, "webhook", "w-fast")

    started = time.monotonic()
    for index in range(30):
        await platform.event(
            "message.created", "acme", {"id": f"m-{index}"}, partitionkey=f"conv-{index % 3}"
        )

    await receiver.wait_for("fast", 30, timeout_s=10)
    assert time.monotonic() - started < 3.0
    assert receiver.requests["/hang"] == []  # the slow endpoint is still busy with its first requests


async def test_per_endpoint_concurrency_and_rate_limits_hold(
    dispatcher: FastAPI, platform: Platform, receiver: Receiver
) -> None:
    receiver.script("slow", default=(200, {}, 0.3))
    await platform.webhook(
        "w-slow",
        "acme",
        receiver.url("slow"),
        ["*"],
        delivery={"max_in_flight": 2, "rate_limit_per_minute": 6},
    )
    await wait_for_target(dispatcher, "webhook", "w-slow")

    for index in range(10):
        await platform.event("message.created", "acme", {"id": f"m-{index}"})

    received = await receiver.wait_for("slow", 6, timeout_s=10)
    await asyncio.sleep(2.0)
    assert len(receiver.requests["/slow"]) == 6  # the other 4 wait for the next minute, none dropped
    lane = dispatcher.state.engine.lanes["webhook:w-slow"]
    assert len(lane.queue) == 4
    arrivals = sorted(r.at for r in received)
    # at most 2 at a time: the 3rd request cannot arrive before the 1st finished (0.3 s)
    assert arrivals[2] - arrivals[0] >= 0.25


async def test_loopback_is_refused_without_a_connection_when_not_allowed(
    make_settings: Any, platform: Platform, receiver: Receiver
) -> None:
    settings = make_settings(
        DispatcherSettings,
        allow_loopback_urls=False,
        resolve_overrides={"hooks.test": "127.0.0.1"},
        commit_interval_s=0.2,
    )
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60):
        await platform.webhook("w-ssrf", "acme", receiver.url("ssrf"), ["*"])
        await platform.webhook("w-literal", "acme", f"http://127.0.0.1:{receiver.port}/literal", ["*"])
        await wait_for_target(app, "webhook", "w-ssrf")
        await wait_for_target(app, "webhook", "w-literal")

        await platform.event("message.created", "acme", {"id": "m-1"})

        records = await read_until(
            settings.kafka_bootstrap, settings.topic(Topic.DELIVERY_ATTEMPTS), lambda rs: len(rs) >= 2
        )
    attempts = _attempts(records)
    assert {a.error_kind for a in attempts} == {"ssrf_blocked"}
    assert {a.outcome for a in attempts} == {"failed"}
    assert receiver.requests["/ssrf"] == []
    assert receiver.requests["/literal"] == []


async def test_scheduled_retries_survive_a_dispatcher_restart(
    dispatcher_settings: DispatcherSettings, platform: Platform, receiver: Receiver
) -> None:
    receiver.script("restart", (500, {}, 0.0))
    first_app = create_app(dispatcher_settings)
    async with LifespanManager(first_app, startup_timeout=60):
        await platform.webhook(
            "w-r", "acme", receiver.url("restart"), ["*"], delivery={"retry_schedule": [3]}
        )
        await wait_for_target(first_app, "webhook", "w-r")
        await platform.event("message.created", "acme", {"id": "m-1"})
        (failed,) = await receiver.wait_for("restart", 1)
    # The first process is gone before the retry was due; a new one must deliver it.
    second_app = create_app(dispatcher_settings)
    async with LifespanManager(second_app, startup_timeout=60):
        _, retried = await receiver.wait_for("restart", 2, timeout_s=20)
    assert retried.headers["webhook-id"] == failed.headers["webhook-id"]
    assert retried.headers["x-switchboard-attempt"] == "2"


async def test_simultaneous_first_failures_of_one_endpoint_are_recorded_once(
    dispatcher_settings: DispatcherSettings, mongo: Any
) -> None:
    health = EndpointHealth(mongo[dispatcher_settings.mongodb_database]["endpoint_health"], timedelta(days=5))
    results = await asyncio.gather(
        *(
            EndpointHealth.failed(EndpointHealth(health.collection, timedelta(days=5)), "webhook:w-race")
            for _ in range(8)
        )
    )
    assert results == [False] * 8  # none raised, none disabled
    assert await health.collection.count_documents({"_id": "webhook:w-race"}) == 1
