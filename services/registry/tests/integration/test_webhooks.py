"""Webhook subscriptions (seed 000) over real Kafka + FerretDB: shapes, validation, isolation, rotation,
the config topic and the test command."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.config_records import ConfigChanged, WebhookConfig
from switchboard_contracts.events import CommandType
from switchboard_contracts.topics import Topic
from switchboard_platform.kafka import event_publisher, publish_event
from switchboard_registry.settings import RegistrySettings
from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.kafka import headers_of, read_until
from switchboard_testing.waiting import eventually

from ..harness import ADMIN_TOKEN, Registry, Tenant, running

SEED_BODY = {
    "name": "My Application Webhook",
    "url": "https://hooks.example.com/webhooks/chatbots",
    "description": "Webhook for receiving conversation events",
    "events": ["conversation.created", "message.created"],
    "active": True,
}
SEED_KEYS = {
    "_id",
    "name",
    "url",
    "description",
    "events",
    "secret",
    "active",
    "createdBy",
    "createdAt",
    "updatedAt",
}
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


async def _create(tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    response = await tenant.client.post(
        "/api/webhooks", headers=tenant.headers, json={**SEED_BODY, **overrides}
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_create_answers_in_the_seed_shape(registry: Registry) -> None:
    tenant = await registry.tenant()
    response = await tenant.client.post("/api/webhooks", headers=tenant.headers, json=SEED_BODY)

    body = response.json()
    data = body["data"]
    assert response.status_code == 201
    assert body["status"] == "success"
    assert SEED_KEYS <= set(data)
    assert re.fullmatch(r"[0-9a-f]{24}", data["_id"])
    assert re.fullmatch(r"[0-9a-f]{24}", data["createdBy"])
    assert ISO_Z.match(data["createdAt"])
    assert ISO_Z.match(data["updatedAt"])
    assert {k: data[k] for k in ("name", "url", "description", "events", "active")} == SEED_BODY
    assert data["secret"].startswith("whsec_")


async def test_secrets_are_encrypted_at_rest(
    registry: Registry, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant)
    stored = await mongo[registry.settings.mongodb_database]["webhooks"].find_one({"_id": created["_id"]})
    assert stored is not None
    assert stored["secret"].startswith("enc:v1:")
    assert created["secret"] not in json.dumps(stored, default=str)


async def test_list_is_paginated_and_masks_secrets(registry: Registry) -> None:
    tenant = await registry.tenant()
    for index in range(3):
        await _create(tenant, name=f"hook {index}")

    first = (await tenant.client.get("/api/webhooks?per_page=2", headers=tenant.headers)).json()
    second = (await tenant.client.get("/api/webhooks?per_page=2&page=2", headers=tenant.headers)).json()

    assert first["pagination"] == {"page": 1, "per_page": 2, "total": 3, "pages": 2}
    assert len(first["data"]) == 2
    assert len(second["data"]) == 1
    assert all(item["secret"].startswith("••••") for item in first["data"] + second["data"])


async def test_get_returns_the_full_secret(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant)
    fetched = await tenant.client.get(f"/api/webhooks/{created['_id']}", headers=tenant.headers)
    assert fetched.status_code == 200
    assert fetched.json()["data"]["secret"] == created["secret"]


async def test_put_with_the_seed_body_updates_events_and_timestamp(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant)

    response = await tenant.client.put(
        f"/api/webhooks/{created['_id']}",
        headers=tenant.headers,
        json={"events": ["conversation.created", "message.created", "message.updated"], "active": True},
    )

    data = response.json()["data"]
    assert response.status_code == 200
    assert data["events"] == ["conversation.created", "message.created", "message.updated"]
    assert data["name"] == SEED_BODY["name"]
    assert data["updatedAt"] >= created["updatedAt"]


async def test_patch_changes_only_the_fields_sent(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant)
    response = await tenant.client.patch(
        f"/api/webhooks/{created['_id']}", headers=tenant.headers, json={"name": "renamed", "active": False}
    )
    data = response.json()["data"]
    assert (data["name"], data["active"], data["events"]) == ("renamed", False, SEED_BODY["events"])


async def test_delete_removes_the_webhook(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant)

    deleted = await tenant.client.delete(f"/api/webhooks/{created['_id']}", headers=tenant.headers)

    assert deleted.status_code == 200
    assert (
        await tenant.client.get(f"/api/webhooks/{created['_id']}", headers=tenant.headers)
    ).status_code == 404
    listed = (await tenant.client.get("/api/webhooks", headers=tenant.headers)).json()
    assert listed["data"] == []


async def test_unknown_event_type_is_422_naming_it(registry: Registry) -> None:
    tenant = await registry.tenant()
    response = await tenant.client.post(
        "/api/webhooks",
        headers=tenant.headers,
        json={**SEED_BODY, "events": ["message.created", "message.exploded"]},
    )
    error = response.json()["error"]
    assert response.status_code == 422
    assert error["field"] == "events"
    assert "message.exploded" in error["message"]


async def test_wildcards_are_accepted(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant, events=["*", "message.*", "ai.response.*"])
    assert created["events"] == ["*", "message.*", "ai.response.*"]


async def test_plain_http_is_422_outside_development_mode(registry: Registry) -> None:
    tenant = await registry.tenant()
    response = await tenant.client.post(
        "/api/webhooks", headers=tenant.headers, json={**SEED_BODY, "url": "http://hooks.example.com/h"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "url"
    assert "HTTPS" in response.json()["error"]["message"]


async def test_development_tenants_may_use_plain_http(registry: Registry) -> None:
    tenant = await registry.tenant(development_mode=True)
    created = await _create(tenant, url="http://hooks.example.com/h")
    assert created["url"] == "http://hooks.example.com/h"


async def test_private_metadata_and_loopback_targets_are_422(registry: Registry) -> None:
    tenant = await registry.tenant(development_mode=True)
    for url, kind in [
        ("https://internal.example.com/h", "private"),
        ("https://metadata.example.com/latest", "metadata"),
        ("https://receiver.test/h", "loopback"),
        ("https://10.1.2.3/h", "private"),
        ("http://[::1]:8080/h", "loopback"),
    ]:
        response = await tenant.client.post(
            "/api/webhooks", headers=tenant.headers, json={**SEED_BODY, "url": url}
        )
        assert response.status_code == 422, url
        assert kind in response.json()["error"]["message"], url


def unresolved(field: str, host: str) -> dict[str, str]:
    return {
        "code": "unresolved_host",
        "field": field,
        "message": f"{field}: {host} does not resolve from here; accepted anyway: every address it resolves to "
        "is checked when it is used, and refused if not allowed",
    }


async def test_a_host_that_does_not_resolve_here_is_accepted_with_a_warning(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await tenant.client.post(
        "/api/webhooks", headers=tenant.headers, json={**SEED_BODY, "url": "https://nowhere.example.org/h"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["data"]["url"] == "https://nowhere.example.org/h"
    assert created.json()["warnings"] == [unresolved("url", "nowhere.example.org")]
    path = f"/api/webhooks/{created.json()['data']['_id']}"

    moved = await tenant.client.put(
        path, headers=tenant.headers, json={"url": "https://elsewhere.example.org/h"}
    )
    assert moved.json()["warnings"] == [unresolved("url", "elsewhere.example.org")]
    # Nothing to warn about: the key is absent, so seed 000's shape is unchanged.
    renamed = await tenant.client.patch(path, headers=tenant.headers, json={"name": "renamed"})
    assert set(renamed.json()) == {"status", "data"}
    resolvable = await tenant.client.put(
        path, headers=tenant.headers, json={"url": "https://hooks.example.com/h"}
    )
    assert set(resolvable.json()) == {"status", "data"}


@pytest.fixture
async def loopback_registry(make_settings: SettingsFactory) -> AsyncIterator[Registry]:
    """A development installation as ``make up`` runs it: loopback URLs switched on."""
    settings = make_settings(
        RegistrySettings, admin_token=ADMIN_TOKEN, environment="development", allow_loopback_urls=True
    )
    async with running(settings) as registry:
        yield registry


async def test_a_development_tenant_of_a_development_installation_may_target_loopback(
    loopback_registry: Registry,
) -> None:
    tenant = await loopback_registry.tenant(development_mode=True)
    for url in ("http://127.0.0.1:9000/hooks", "http://localhost:9000/hooks", "https://receiver.test/h"):
        created = await tenant.client.post(
            "/api/webhooks", headers=tenant.headers, json={**SEED_BODY, "url": url}
        )
        assert created.status_code == 201, (url, created.text)
        assert "warnings" not in created.json()


async def test_other_tenants_of_a_development_installation_may_not_target_loopback(
    loopback_registry: Registry,
) -> None:
    tenant = await loopback_registry.tenant()
    for url in ("https://127.0.0.1:9000/hooks", "https://localhost:9000/hooks", "https://receiver.test/h"):
        refused = await tenant.client.post(
            "/api/webhooks", headers=tenant.headers, json={**SEED_BODY, "url": url}
        )
        assert refused.status_code == 422, url
        assert refused.json()["error"]["field"] == "url"
        assert "loopback address" in refused.json()["error"]["message"], url


async def test_missing_or_wrong_key_is_401(registry: Registry) -> None:
    assert (await registry.client.get("/api/webhooks")).status_code == 401
    wrong = await registry.client.get("/api/webhooks", headers={"Authorization": "Bearer sbk_wrong"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "unauthorized"


async def test_malformed_json_is_400(registry: Registry) -> None:
    tenant = await registry.tenant()
    response = await tenant.client.post(
        "/api/webhooks",
        content=b'{"name": "x",',
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


async def test_oversized_body_is_413(registry: Registry) -> None:
    tenant = await registry.tenant()
    response = await tenant.client.post(
        "/api/webhooks", headers=tenant.headers, json={**SEED_BODY, "description": "x" * 70_000}
    )
    assert response.status_code == 413


async def test_another_tenants_webhook_is_404_everywhere(registry: Registry) -> None:
    owner, other = await registry.tenant(), await registry.tenant()
    hook = (await _create(owner))["_id"]
    calls = [
        other.client.get(f"/api/webhooks/{hook}", headers=other.headers),
        other.client.put(f"/api/webhooks/{hook}", headers=other.headers, json={"active": False}),
        other.client.patch(f"/api/webhooks/{hook}", headers=other.headers, json={"name": "mine"}),
        other.client.post(f"/api/webhooks/{hook}/regenerate-secret", headers=other.headers),
        other.client.post(f"/api/webhooks/{hook}/test", headers=other.headers),
        other.client.delete(f"/api/webhooks/{hook}", headers=other.headers),
    ]
    for call in calls:
        response = await call
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert (await other.client.get("/api/webhooks", headers=other.headers)).json()["data"] == []
    still = await owner.client.get(f"/api/webhooks/{hook}", headers=owner.headers)
    assert still.json()["data"]["name"] == SEED_BODY["name"]


async def test_regenerating_keeps_the_previous_secret_for_the_grace_period(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant)

    response = await tenant.client.post(
        f"/api/webhooks/{created['_id']}/regenerate-secret", headers=tenant.headers
    )

    data = response.json()["data"]
    assert response.status_code == 200
    assert data["secret"] != created["secret"]
    (expires,) = data["previousSecretExpiresAt"]
    remaining = datetime.fromisoformat(expires.replace("Z", "+00:00")) - datetime.now(UTC)
    assert timedelta(hours=23, minutes=59) < remaining <= timedelta(hours=24)
    records = await read_until(
        registry.settings.kafka_bootstrap,
        registry.settings.topic(Topic.CONFIG),
        lambda rs: any(_config(r).version >= 2 for r in rs if r.key == f"webhook:{created['_id']}".encode()),
    )
    latest = max(
        (_config(r) for r in records if r.key == f"webhook:{created['_id']}".encode()),
        key=lambda change: change.version,
    )
    assert isinstance(latest.state, WebhookConfig)
    box = registry.settings.secrets_box()
    assert box.decrypt(latest.state.secret) == data["secret"]
    assert [box.decrypt(p.secret) for p in latest.state.previous_secrets] == [created["secret"]]


def _config(record: Any) -> ConfigChanged:
    return ConfigChanged.model_validate(json.loads(record.value))


async def test_every_change_reaches_the_config_topic_and_delete_is_a_tombstone(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant)
    key = f"webhook:{created['_id']}".encode()
    await tenant.client.patch(f"/api/webhooks/{created['_id']}", headers=tenant.headers, json={"name": "v2"})
    await tenant.client.delete(f"/api/webhooks/{created['_id']}", headers=tenant.headers)

    records = await read_until(
        registry.settings.kafka_bootstrap,
        registry.settings.topic(Topic.CONFIG),
        lambda rs: any(r.key == key and r.value is None for r in rs),
    )

    mine = [r for r in records if r.key == key]
    changes = [_config(r) for r in mine if r.value is not None]
    assert [c.version for c in changes] == [1, 2]
    assert isinstance(changes[0].state, WebhookConfig)
    assert changes[0].state.url == SEED_BODY["url"]
    assert isinstance(changes[1].state, WebhookConfig)
    assert changes[1].state.name == "v2"
    assert all(headers_of(r)["ce_type"] == "config.changed" for r in mine)
    assert mine[-1].value is None
    assert headers_of(mine[-1])["ce_version"] == "3"


async def test_test_endpoint_queues_a_command_for_the_dispatcher(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant)

    response = await tenant.client.post(f"/api/webhooks/{created['_id']}/test", headers=tenant.headers)

    assert response.status_code == 202
    event_id = response.json()["data"]["eventId"]
    records = await read_until(
        registry.settings.kafka_bootstrap,
        registry.settings.topic(Topic.DISPATCH_COMMANDS),
        lambda rs: any(json.loads(r.value).get("event_id") == event_id for r in rs),
    )
    (command,) = [r for r in records if json.loads(r.value).get("event_id") == event_id]
    assert headers_of(command)["ce_type"] == CommandType.SEND_TEST
    assert command.key == created["_id"].encode()
    assert json.loads(command.value)["endpoint_id"] == created["_id"]


async def test_a_webhook_the_dispatcher_disabled_becomes_inactive_with_the_reason(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant)
    producer = KafkaBroker(registry.settings.kafka_bootstrap)
    publisher = event_publisher(
        producer, registry.settings, Topic.PLATFORM_EVENTS, title="t", description="t"
    )
    async with producer:
        await producer.connect()
        await publish_event(
            publisher,
            CloudEvent(
                source="/switchboard/dispatcher",
                type="webhook.disabled",
                tenant=tenant.id,
                data={"endpoint_id": created["_id"], "endpoint_kind": "webhook", "reason": "410 Gone"},
            ),
        )

    async def disabled() -> dict[str, Any] | None:
        data: dict[str, Any] = (
            await tenant.client.get(f"/api/webhooks/{created['_id']}", headers=tenant.headers)
        ).json()["data"]
        return data if not data["active"] else None

    data = await eventually(disabled)
    assert data is not None
    assert data["disabledReason"] == "410 Gone"
    reenabled = await tenant.client.patch(
        f"/api/webhooks/{created['_id']}", headers=tenant.headers, json={"active": True}
    )
    assert reenabled.json()["data"]["active"] is True
    assert "disabledReason" not in reenabled.json()["data"]
