"""Conversation callbacks (seed 001) at /api/conversations over real Kafka + FerretDB."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from pymongo import AsyncMongoClient

from switchboard_contracts.config_records import ConfigChanged
from switchboard_contracts.topics import Topic
from switchboard_testing.kafka import headers_of, read_until

from ..harness import Registry, Tenant

PATH = "/api/conversations"
#: seed 001's conversation configuration, verbatim.
SEED_BODY: dict[str, Any] = {
    "channel": "API",
    "usecase": "WORKFLOW_EXECUTION",
    "config": {"workflow_id": "123", "callback_url": "https://your-domain.com/webhook"},
}
SEED_DELIVERY = {
    "timeout_seconds": 30,
    "retry_schedule": [4, 8, 10],
    "max_in_flight": 10,
    "rate_limit_per_minute": 100,
    "ordered": False,
}
SIGNING_SECRET = "callback-signing-secret-42"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


async def _create(tenant: Tenant, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await tenant.client.post(PATH, headers=tenant.headers, json=body or SEED_BODY)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _with_config(**config: Any) -> dict[str, Any]:
    return {**SEED_BODY, "config": {**SEED_BODY["config"], **config}}


async def _config_records(registry: Registry, key: bytes, done: Any) -> list[Any]:
    records = await read_until(
        registry.settings.kafka_bootstrap,
        registry.settings.topic(Topic.CONFIG),
        lambda rs: done([r for r in rs if r.key == key]),
        timeout_s=15,
    )
    return [r for r in records if r.key == key]


async def test_seed_001_body_registers_a_conversation(registry: Registry) -> None:
    tenant = await registry.tenant()

    response = await tenant.client.post(PATH, headers=tenant.headers, json=SEED_BODY)

    data = response.json()["data"]
    assert response.status_code == 201
    assert str(uuid.UUID(data["id"])) == data["id"]
    assert {k: data[k] for k in ("channel", "usecase", "config")} == SEED_BODY
    assert data["delivery"] == SEED_DELIVERY
    assert ISO_Z.match(data["created_at"])


async def test_get_returns_the_conversation(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant)

    response = await tenant.client.get(f"{PATH}/{created['id']}", headers=tenant.headers)

    assert response.status_code == 200
    assert response.json()["data"] == created


async def test_list_is_paginated_and_filters_by_channel(registry: Registry) -> None:
    tenant = await registry.tenant()
    api = await _create(tenant)
    sms = await _create(tenant, {**SEED_BODY, "channel": "SMS"})

    everything = (await tenant.client.get(PATH, headers=tenant.headers)).json()
    only_sms = (await tenant.client.get(f"{PATH}?channel=SMS", headers=tenant.headers)).json()

    assert [item["id"] for item in everything["data"]] == [sms["id"], api["id"]]
    assert everything["pagination"] == {"page": 1, "per_page": 20, "total": 2, "pages": 1}
    assert [item["id"] for item in only_sms["data"]] == [sms["id"]]


async def test_put_merges_the_config(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant)

    response = await tenant.client.put(
        f"{PATH}/{created['id']}",
        headers=tenant.headers,
        json={"usecase": "SUPPORT", "config": {"callback_url": "https://hooks.example.com/v2"}},
    )

    data = response.json()["data"]
    assert response.status_code == 200
    assert data["usecase"] == "SUPPORT"
    assert data["config"] == {"workflow_id": "123", "callback_url": "https://hooks.example.com/v2"}


async def test_patch_removes_a_config_key_sent_as_null(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant)

    response = await tenant.client.patch(
        f"{PATH}/{created['id']}", headers=tenant.headers, json={"config": {"workflow_id": None}}
    )

    assert response.status_code == 200
    assert response.json()["data"]["config"] == {"callback_url": SEED_BODY["config"]["callback_url"]}


async def test_delete_removes_the_conversation(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant)

    response = await tenant.client.delete(f"{PATH}/{created['id']}", headers=tenant.headers)

    assert response.status_code == 200
    assert response.json()["data"] == {"id": created["id"], "deleted": True}
    assert (await tenant.client.get(f"{PATH}/{created['id']}", headers=tenant.headers)).status_code == 404
    assert (await tenant.client.get(PATH, headers=tenant.headers)).json()["data"] == []


async def test_a_signing_secret_is_write_only_and_encrypted_at_rest(
    registry: Registry, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant, _with_config(secret=SIGNING_SECRET))

    shown = await tenant.client.get(f"{PATH}/{created['id']}", headers=tenant.headers)
    stored = await mongo[registry.settings.mongodb_database]["conversations"].find_one({"_id": created["id"]})

    assert created["config"]["secret"] == "••••t-42"
    assert SIGNING_SECRET not in shown.text
    assert stored is not None
    assert stored["config"]["secret"].startswith("enc:v1:")
    assert SIGNING_SECRET not in str(stored)


async def test_create_update_and_delete_reach_the_config_topic(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant, _with_config(secret=SIGNING_SECRET))
    conversation = f"{PATH}/{created['id']}"
    await tenant.client.put(
        conversation,
        headers=tenant.headers,
        json={"config": {"callback_url": "https://hooks.example.com/v2"}},
    )
    await tenant.client.delete(conversation, headers=tenant.headers)
    key = f"conversation:{created['id']}".encode()

    records = await _config_records(registry, key, lambda mine: any(r.value is None for r in mine))

    changes = [ConfigChanged.model_validate(json.loads(r.value)) for r in records if r.value is not None]
    assert [change.version for change in changes] == [1, 2]
    assert all(headers_of(r)["ce_type"] == "config.changed" for r in records)
    # The wire shape as it always was (records on a compacted topic outlive the code that wrote them).
    first, second = (json.loads(r.value)["state"] for r in records if r.value is not None)
    assert first is not None
    assert second is not None
    assert changes[0].tenant_id == tenant.id
    assert first["id"] == created["id"]
    assert first["config"]["callback_url"] == SEED_BODY["config"]["callback_url"]
    assert first["delivery"] == SEED_DELIVERY
    assert second["config"]["callback_url"] == "https://hooks.example.com/v2"
    assert registry.settings.secrets_box().decrypt(second["config"]["secret"]) == SIGNING_SECRET
    assert SIGNING_SECRET.encode() not in records[0].value
    assert records[-1].value is None


async def test_another_tenants_conversation_is_404_everywhere(registry: Registry) -> None:
    owner, other = await registry.tenant(), await registry.tenant()
    conversation = f"{PATH}/{(await _create(owner))['id']}"

    responses = [
        await other.client.get(conversation, headers=other.headers),
        await other.client.put(conversation, headers=other.headers, json={"usecase": "MINE"}),
        await other.client.patch(conversation, headers=other.headers, json={"usecase": "MINE"}),
        await other.client.delete(conversation, headers=other.headers),
    ]

    for response in responses:
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert (await other.client.get(PATH, headers=other.headers)).json()["data"] == []
    assert (await owner.client.get(conversation, headers=owner.headers)).json()["data"][
        "usecase"
    ] == "WORKFLOW_EXECUTION"


async def test_callbacks_are_https_only_even_for_development_tenants(registry: Registry) -> None:
    tenant = await registry.tenant(development_mode=True)

    response = await tenant.client.post(
        PATH, headers=tenant.headers, json=_with_config(callback_url="http://hooks.example.com/h")
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "config.callback_url"
    assert "HTTPS" in response.json()["error"]["message"]


async def test_private_metadata_and_loopback_callbacks_are_422(registry: Registry) -> None:
    tenant = await registry.tenant()
    for url in (
        "https://internal.example.com/h",
        "https://metadata.example.com/h",
        "https://receiver.test/h",
    ):
        response = await tenant.client.post(PATH, headers=tenant.headers, json=_with_config(callback_url=url))
        assert response.status_code == 422, url
        assert response.json()["error"]["field"] == "config.callback_url"


async def test_a_callback_host_that_does_not_resolve_here_is_accepted_with_a_warning(
    registry: Registry,
) -> None:
    tenant = await registry.tenant()
    created = await tenant.client.post(
        PATH, headers=tenant.headers, json=_with_config(callback_url="https://callbacks.corp.internal/h")
    )
    assert created.status_code == 201, created.text
    assert [(w["code"], w["field"]) for w in created.json()["warnings"]] == [
        ("unresolved_host", "config.callback_url")
    ]
    updated = await tenant.client.put(
        f"{PATH}/{created.json()['data']['id']}",
        headers=tenant.headers,
        json={"config": {"callback_url": "https://moved.corp.internal/h"}},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["warnings"][0]["field"] == "config.callback_url"


async def test_an_updated_callback_url_is_checked_too(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant)

    response = await tenant.client.put(
        f"{PATH}/{created['id']}",
        headers=tenant.headers,
        json={"config": {"callback_url": "https://internal.example.com/h"}},
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "config.callback_url"


async def test_a_missing_callback_url_is_422_naming_it(registry: Registry) -> None:
    tenant = await registry.tenant()
    response = await tenant.client.post(
        PATH, headers=tenant.headers, json={**SEED_BODY, "config": {"workflow_id": "1"}}
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "config.callback_url"


async def test_an_unknown_channel_is_422_naming_it(registry: Registry) -> None:
    tenant = await registry.tenant()
    response = await tenant.client.post(PATH, headers=tenant.headers, json={**SEED_BODY, "channel": "FAX"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "channel"


async def test_missing_or_wrong_key_is_401(registry: Registry) -> None:
    assert (await registry.client.post(PATH, json=SEED_BODY)).status_code == 401
    wrong = await registry.client.get(PATH, headers={"Authorization": "Bearer sbk_wrong"})
    assert wrong.status_code == 401


async def test_malformed_json_is_400(registry: Registry) -> None:
    tenant = await registry.tenant()
    response = await tenant.client.post(
        PATH, content=b'{"channel": ', headers={**tenant.headers, "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


async def test_oversized_body_is_413(registry: Registry) -> None:
    tenant = await registry.tenant()
    response = await tenant.client.post(PATH, headers=tenant.headers, json=_with_config(notes="x" * 70_000))
    assert response.status_code == 413


async def test_an_id_that_is_not_a_conversation_is_404(registry: Registry) -> None:
    tenant = await registry.tenant()
    for conversation_id in (str(uuid.uuid4()), "66a1f0c2e4b0a1b2c3d4e5f6"):
        assert (
            await tenant.client.get(f"{PATH}/{conversation_id}", headers=tenant.headers)
        ).status_code == 404
