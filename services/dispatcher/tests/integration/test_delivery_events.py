"""Operational webhooks over real Kafka: a webhook subscribed to ``delivery.*`` events by name receives them,
signed like any delivery; a catch-all webhook does not; and delivery events never chain."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from switchboard_testing.webhooks import Platform, Receiver

from ..conftest import wait_for_target


async def test_exhausted_deliveries_reach_the_operational_webhook_once(
    dispatcher: FastAPI, platform: Platform, receiver: Receiver
) -> None:
    receiver.script("bad", default=(500, {}, 0.0))
    await platform.webhook(
        "w-bad", "acme", receiver.url("bad"), ["message.*"], delivery={"retry_schedule": []}
    )
    await platform.webhook("w-ops", "acme", receiver.url("ops"), ["delivery.exhausted", "message.*"])
    await platform.webhook("w-all", "acme", receiver.url("all"), ["*"])
    await platform.webhook("w-self", "acme", receiver.url("self"), ["delivery.*", "message.*"])
    await platform.webhook("w-other-tenant", "globex", receiver.url("globex"), ["delivery.*"])
    for hook in ("w-bad", "w-ops", "w-all", "w-self", "w-other-tenant"):
        await wait_for_target(dispatcher, "webhook", hook)

    event = await platform.event("message.created", "acme", {"id": "m-1", "text": "hello"})

    (failed,) = await receiver.wait_for("bad", 1)
    ops = await receiver.wait_for("ops", 2)  # the message itself, and the exhausted delivery to w-bad
    by_event = {request.json()["event"]: request for request in ops}
    assert set(by_event) == {"message.created", "delivery.exhausted"}
    exhausted = by_event["delivery.exhausted"].json()["data"]
    assert exhausted["delivery_id"] == failed.headers["webhook-id"]
    assert exhausted["endpoint_id"] == "w-bad"
    assert exhausted["event_id"] == event.id
    assert exhausted["status_code"] == 500
    assert by_event["delivery.exhausted"].headers["x-chatbots-event"] == "delivery.exhausted"

    await asyncio.sleep(2)  # anything that would chain or leak has had time to arrive
    assert len(receiver.requests["/ops"]) == 2  # no event about its own deliveries of those two
    assert [request.json()["event"] for request in receiver.requests["/all"]] == ["message.created"]
    assert receiver.requests["/globex"] == []
    # w-self hears about every delivery of the message, its own included, and nothing about deliveries of
    # delivery events (those would chain without end).
    heard = sorted(
        (request.json()["event"], request.json()["data"].get("endpoint_id", "-"))
        for request in receiver.requests["/self"]
    )
    assert heard == [
        ("delivery.exhausted", "w-bad"),
        ("delivery.succeeded", "w-all"),
        ("delivery.succeeded", "w-ops"),
        ("delivery.succeeded", "w-self"),
        ("message.created", "-"),
    ]
