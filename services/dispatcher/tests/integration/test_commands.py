"""Commands from the registry: send a test event, redeliver one delivery, recover dead-lettered ones."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import CommandType, RecoverEndpoint
from switchboard_contracts.topics import Topic
from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_platform.kafka import event_publisher, publish_event
from switchboard_testing.kafka import read_until
from switchboard_testing.webhooks import Platform, Receiver, now

from ..conftest import wait_for_target


async def test_recover_replays_dead_lettered_deliveries_since_a_time(
    dispatcher: FastAPI, platform: Platform, receiver: Receiver, dispatcher_settings: DispatcherSettings
) -> None:
    receiver.script("rec", (500, {}, 0.0), (500, {}, 0.0))
    await platform.webhook("w-rec", "acme", receiver.url("rec"), ["*"], delivery={"retry_schedule": []})
    await wait_for_target(dispatcher, "webhook", "w-rec")
    await platform.event("ticket.created", "acme", {"n": 1})
    await platform.event("ticket.created", "acme", {"n": 2})
    failed = await receiver.wait_for("rec", 2)
    await read_until(
        dispatcher_settings.kafka_bootstrap,
        dispatcher_settings.topic(Topic.DELIVERY_DEAD_LETTER),
        lambda records: len(records) >= 2,
    )

    commands = event_publisher(
        platform.broker, dispatcher_settings, Topic.DISPATCH_COMMANDS, title="t", description="t"
    )
    await publish_event(
        commands,
        CloudEvent(
            source="/switchboard/registry",
            type=CommandType.RECOVER,
            tenant="acme",
            partitionkey="w-rec",
            data=RecoverEndpoint(tenant_id="acme", endpoint_id="w-rec", since=now() - timedelta(hours=1)),
        ),
    )

    replayed = (await receiver.wait_for("rec", 4))[2:]
    assert {r.headers["webhook-id"] for r in replayed} == {r.headers["webhook-id"] for r in failed}
    assert {r.headers["x-switchboard-attempt"] for r in replayed} == {"2"}
