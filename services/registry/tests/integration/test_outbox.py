"""A crash between the MongoDB write and the Kafka publish loses no configuration change.

The publisher step is killed (it raises, as a dying process or a dead broker connection would), the process is
stopped, and a fresh registry process on the same database must publish the pending change at start-up.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from switchboard_contracts.config_records import ConfigChanged, WebhookConfig
from switchboard_contracts.topics import Topic
from switchboard_registry.settings import RegistrySettings
from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.kafka import read_for, read_until
from switchboard_testing.waiting import eventually

from ..harness import ADMIN_TOKEN, Registry, running

BODY = {"name": "hook", "url": "https://hooks.example.com/h", "events": ["*"]}


@pytest.fixture
def registry_settings(make_settings: SettingsFactory) -> RegistrySettings:
    return make_settings(RegistrySettings, admin_token=ADMIN_TOKEN, outbox_sweep_interval_s=0.5)


async def test_a_change_whose_publish_died_is_published_by_the_next_process(
    registry: Registry, mongo: AsyncMongoClient[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = registry.settings
    tenant = await registry.tenant()

    async def killed(*args: Any, **kwargs: Any) -> None:
        raise ConnectionResetError("publisher killed between the MongoDB write and the Kafka publish")

    monkeypatch.setattr(registry.app.state.relay.publisher, "publish", killed)
    created = await tenant.client.post("/api/webhooks", headers=tenant.headers, json=BODY)
    assert created.status_code == 201  # the change is durable in MongoDB, so the API may say so
    webhook_id = created.json()["data"]["_id"]
    key = f"webhook:{webhook_id}".encode()
    webhooks = mongo[settings.mongodb_database]["webhooks"]

    stored = await webhooks.find_one({"_id": webhook_id})
    assert stored is not None
    assert stored["_outbox"]["version"] == 1
    assert not [
        r for r in await read_for(settings.kafka_bootstrap, settings.topic(Topic.CONFIG), 1.0) if r.key == key
    ]

    # The first process is gone (the fixture's app keeps failing until the test ends); a new one starts.
    async with running(settings) as restarted:
        records = await read_until(
            settings.kafka_bootstrap, settings.topic(Topic.CONFIG), lambda rs: any(r.key == key for r in rs)
        )
        (record,) = [r for r in records if r.key == key]
        change = ConfigChanged.model_validate(json.loads(record.value))
        assert (change.entity, change.entity_id, change.version) == ("webhook", webhook_id, 1)
        assert isinstance(change.state, WebhookConfig)
        assert change.state.url == BODY["url"]

        async def marker_cleared() -> bool:
            document = await webhooks.find_one({"_id": webhook_id})
            return document is not None and "_outbox" not in document

        assert await eventually(marker_cleared)
        # The restarted process serves the webhook normally.
        fetched = await restarted.client.get(f"/api/webhooks/{webhook_id}", headers=tenant.headers)
        assert fetched.status_code == 200


async def test_a_deletion_whose_publish_died_still_becomes_a_tombstone(
    registry_settings: RegistrySettings,
    mongo: AsyncMongoClient[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = registry_settings
    async with running(settings) as first:
        tenant = await first.tenant()
        created = await tenant.client.post("/api/webhooks", headers=tenant.headers, json=BODY)
        webhook_id = created.json()["data"]["_id"]
        key = f"webhook:{webhook_id}".encode()

        async def killed(*args: Any, **kwargs: Any) -> None:
            raise ConnectionResetError("publisher killed")

        monkeypatch.setattr(first.app.state.relay.publisher, "publish", killed)
        deleted = await tenant.client.delete(f"/api/webhooks/{webhook_id}", headers=tenant.headers)
        assert deleted.status_code == 200
        assert (
            await tenant.client.get(f"/api/webhooks/{webhook_id}", headers=tenant.headers)
        ).status_code == 404

    async with running(settings):
        records = await read_until(
            settings.kafka_bootstrap,
            settings.topic(Topic.CONFIG),
            lambda rs: any(r.key == key and r.value is None for r in rs),
        )
    assert [r.value is None for r in records if r.key == key] == [False, True]

    async def gone() -> bool:
        return await mongo[settings.mongodb_database]["webhooks"].find_one({"_id": webhook_id}) is None

    assert await eventually(gone)
