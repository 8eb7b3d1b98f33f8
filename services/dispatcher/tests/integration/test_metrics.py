"""The dispatcher's Prometheus metrics after real deliveries: outcomes, latency, retries, in-flight per
endpoint and consumer lag of both stages."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from switchboard_testing.waiting import eventually
from switchboard_testing.webhooks import Platform, Receiver

from ..conftest import wait_for_target


async def samples(app: FastAPI) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dispatcher"
    ) as http:
        text = (await http.get("/metrics")).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_outcomes_latency_retries_in_flight_and_lag(
    dispatcher: FastAPI, platform: Platform, receiver: Receiver
) -> None:
    receiver.script("flaky", (500, {}, 0.0))
    await platform.webhook("w-ok", "acme", receiver.url("ok"), ["*"])
    await platform.webhook("w-flaky", "acme", receiver.url("flaky"), ["*"], delivery={"retry_schedule": [1]})
    for hook in ("w-ok", "w-flaky"):
        await wait_for_target(dispatcher, "webhook", hook)

    await platform.event("message.created", "acme", {"id": "m-1"})
    await receiver.wait_for("ok", 1)
    await receiver.wait_for("flaky", 2)  # a 500, then the retry's 200

    async def settled() -> bool:
        # Both counters and gauges catch up: lag is refreshed when a stage commits (every 0.2 s here).
        values = await samples(dispatcher)
        succeeded = frozenset({("kind", "webhook"), ("outcome", "succeeded")})
        lags = [v for (name, _), v in values.items() if name == "dispatcher_consumer_lag"]
        return values.get(("dispatcher_deliveries_total", succeeded)) == 2 and bool(lags) and not any(lags)

    await eventually(settled, timeout_s=10)
    values = await samples(dispatcher)

    def value(name: str, **labels: str) -> float | None:
        return values.get((name, frozenset(labels.items())))

    assert value("dispatcher_deliveries_total", kind="webhook", outcome="retry_scheduled") == 1
    assert value("dispatcher_retries_scheduled_total", kind="webhook") == 1
    assert value("dispatcher_delivery_latency_seconds_count", kind="webhook") == 3
    assert value("dispatcher_in_flight", endpoint="webhook:w-ok") == 0
    assert value("dispatcher_tasks_created_total", kind="webhook") == 2
    lags = {dict(labels)["stage"] for name, labels in values if name == "dispatcher_consumer_lag"}
    assert lags == {"fanout", "deliveries"}


async def test_retries_waiting_in_the_schedule_are_counted_at_scrape_time(
    dispatcher: FastAPI, platform: Platform, receiver: Receiver
) -> None:
    receiver.script("down", (500, {}, 0.0))
    # The retry is an hour away: it stays in the schedule for the rest of the test.
    await platform.webhook("w-down", "acme", receiver.url("down"), ["*"], delivery={"retry_schedule": [3600]})
    await wait_for_target(dispatcher, "webhook", "w-down")

    await platform.event("message.created", "acme", {"id": "m-1"})
    await receiver.wait_for("down", 1)

    async def pending() -> bool:
        return (await samples(dispatcher)).get(("dispatcher_retries_pending", frozenset())) == 1

    await eventually(pending, timeout_s=10)
