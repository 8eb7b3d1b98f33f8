"""Partner integrations at /api/webhook/config (seeds 002 and 003) over real Kafka + FerretDB: shapes,
write-only secrets, validation, tenant isolation and the config topic."""

from __future__ import annotations

import json
import re
from typing import Any

from pymongo import AsyncMongoClient

from switchboard_contracts.config_records import ConfigChanged, IntegrationConfig
from switchboard_contracts.partners.freshchat import EXAMPLE_PUBLIC_KEY as EXAMPLE_FRESHCHAT_KEY
from switchboard_contracts.topics import Topic
from switchboard_testing.kafka import headers_of, read_until

from ..harness import Registry, Tenant

PATH = "/api/webhook/config"
#: seed 002's "Create Configuration" body, verbatim.
SEED_BODY: dict[str, Any] = {
    "name": "Freshchat Integration",
    "provider": "freshchat",
    "outgoing_webhook_url": "https://your-platform.com/webhook",
    "auth_token": "your_bearer_token",
    "custom_headers": {"X-API-Key": "your_api_key", "X-Platform": "freshchat"},
    "timeout_seconds": 30,
    "retry_attempts": 3,
    "is_active": True,
}
FRESHCHAT_REPLY = {"api_url": "https://partner.example.com/v2", "api_token": "fc-api-token-5678"}
INBOUND_TOKEN = "partner-bearer-token-0001"
#: Every secret the tests send; none may come back or be stored in plaintext.
SECRETS = ("your_bearer_token", "your_api_key", "fc-api-token-5678", INBOUND_TOKEN)
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


async def _create(tenant: Tenant, body: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    response = await tenant.client.post(
        PATH, headers=tenant.headers, json={**(body or SEED_BODY), **overrides}
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _full_body() -> dict[str, Any]:
    return {
        **SEED_BODY,
        "verification": {"public_key": EXAMPLE_FRESHCHAT_KEY, "bearer_token": INBOUND_TOKEN},
        "reply": FRESHCHAT_REPLY,
    }


def _config(record: Any) -> ConfigChanged:
    return ConfigChanged.model_validate(json.loads(record.value))


async def _config_records(registry: Registry, key: bytes, done: Any) -> list[Any]:
    records = await read_until(
        registry.settings.kafka_bootstrap,
        registry.settings.topic(Topic.CONFIG),
        lambda rs: done([r for r in rs if r.key == key]),
        timeout_s=15,
    )
    return [r for r in records if r.key == key]


# -- the endpoints ---------------------------------------------------------------------------------------------


async def test_seed_002_body_creates_an_integration(registry: Registry) -> None:
    tenant = await registry.tenant()

    response = await tenant.client.post(PATH, headers=tenant.headers, json=SEED_BODY)

    body = response.json()
    data = body["data"]
    assert response.status_code == 201
    assert body["status"] == "success"
    assert re.fullmatch(r"[0-9a-f]{24}", data["id"])
    for name in (
        "name",
        "provider",
        "outgoing_webhook_url",
        "timeout_seconds",
        "retry_attempts",
        "is_active",
    ):
        assert data[name] == SEED_BODY[name]
    assert data["auth_token"] == "••••oken"
    assert data["custom_headers"] == {"X-API-Key": "••••", "X-Platform": "freshchat"}
    assert data["events"] == ["message.replied", "handoff.requested", "handoff.closed"]
    assert ISO_Z.match(data["created_at"])
    assert ISO_Z.match(data["updated_at"])


async def test_get_returns_the_integration_with_secrets_masked(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant, _full_body())

    response = await tenant.client.get(f"{PATH}/{created['id']}", headers=tenant.headers)

    data = response.json()["data"]
    assert response.status_code == 200
    assert data == created
    assert data["verification"]["bearer_token"] == "••••0001"
    assert data["verification"]["public_key"].startswith("-----BEGIN PUBLIC KEY-----\n")
    assert data["verification"]["public_key_fingerprint"].startswith("sha256:")
    assert data["reply"] == {"api_url": FRESHCHAT_REPLY["api_url"], "api_token": "••••5678"}


async def test_list_is_paginated_newest_first(registry: Registry) -> None:
    tenant = await registry.tenant()
    first = await _create(tenant, name="first")
    second = await _create(tenant, name="second")

    page_one = (await tenant.client.get(f"{PATH}?per_page=1", headers=tenant.headers)).json()
    page_two = (await tenant.client.get(f"{PATH}?per_page=1&page=2", headers=tenant.headers)).json()

    assert [item["id"] for item in page_one["data"]] == [second["id"]]
    assert [item["id"] for item in page_two["data"]] == [first["id"]]
    assert page_one["pagination"] == {"page": 1, "per_page": 1, "total": 2, "pages": 2}


async def test_list_filters_by_provider_and_activity(registry: Registry) -> None:
    tenant = await registry.tenant()
    await _create(tenant)
    zendesk = await _create(tenant, {"name": "Zendesk", "provider": "zendesk", "is_active": False})

    by_provider = await tenant.client.get(f"{PATH}?provider=zendesk", headers=tenant.headers)
    inactive = await tenant.client.get(f"{PATH}?is_active=false", headers=tenant.headers)

    assert [item["id"] for item in by_provider.json()["data"]] == [zendesk["id"]]
    assert [item["id"] for item in inactive.json()["data"]] == [zendesk["id"]]


async def test_put_changes_only_the_fields_sent(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant, _full_body())

    response = await tenant.client.put(
        f"{PATH}/{created['id']}",
        headers=tenant.headers,
        json={
            "timeout_seconds": 10,
            "custom_headers": {"X-Platform": None},
            "reply": {"api_token": "rotated-token-9999"},
        },
    )

    data = response.json()["data"]
    assert response.status_code == 200
    assert data["timeout_seconds"] == 10
    assert data["custom_headers"] == {"X-API-Key": "••••"}
    assert data["reply"] == {"api_url": FRESHCHAT_REPLY["api_url"], "api_token": "••••9999"}
    assert data["auth_token"] == created["auth_token"]
    assert data["verification"] == created["verification"]
    assert data["updated_at"] >= created["updated_at"]


async def test_sending_back_a_get_body_keeps_every_secret(
    registry: Registry, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant, _full_body())
    shown = {k: v for k, v in created.items() if k not in ("id", "created_by", "created_at", "updated_at")}
    shown["verification"].pop("public_key_fingerprint")

    response = await tenant.client.put(
        f"{PATH}/{created['id']}", headers=tenant.headers, json={**shown, "name": "renamed"}
    )

    assert response.status_code == 200, response.text
    stored = await mongo[registry.settings.mongodb_database]["integrations"].find_one({"_id": created["id"]})
    assert stored is not None
    box = registry.settings.secrets_box()
    assert stored["name"] == "renamed"
    assert box.decrypt(stored["auth_token"]) == "your_bearer_token"
    assert box.decrypt(stored["custom_headers"]["X-API-Key"]) == "your_api_key"
    assert box.decrypt(stored["verification"]["bearer_token"]) == INBOUND_TOKEN
    assert box.decrypt(stored["reply"]["api_token"]) == FRESHCHAT_REPLY["api_token"]


async def test_patch_updates_like_put(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant)

    response = await tenant.client.patch(
        f"{PATH}/{created['id']}", headers=tenant.headers, json={"is_active": False}
    )

    assert response.status_code == 200
    assert response.json()["data"]["is_active"] is False


async def test_delete_removes_the_integration(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant)

    response = await tenant.client.delete(f"{PATH}/{created['id']}", headers=tenant.headers)

    assert response.status_code == 200
    assert response.json()["data"] == {"id": created["id"], "deleted": True}
    assert (await tenant.client.get(f"{PATH}/{created['id']}", headers=tenant.headers)).status_code == 404
    assert (await tenant.client.get(PATH, headers=tenant.headers)).json()["data"] == []


async def test_each_provider_takes_its_own_verification_and_reply_fields(registry: Registry) -> None:
    tenant = await registry.tenant()
    bodies = [
        {
            "name": "Zendesk",
            "provider": "zendesk",
            "verification": {"signing_secret": "zendesk-signing-secret"},
            "reply": {"subdomain": "acme", "email": "bot@acme.com", "api_token": "zd-token-1"},
        },
        {
            "name": "Intercom",
            "provider": "intercom",
            "verification": {"client_secret": "intercom-client-secret"},
            "reply": {"access_token": "ic-token-1", "admin_id": "5017691"},
        },
        {
            "name": "Chatwoot",
            "provider": "chatwoot",
            "verification": {"webhook_secret": "chatwoot-secret-0123", "path_token": "p" * 32},
            "reply": {
                "base_url": "https://partner.example.com",
                "account_id": 1,
                "api_access_token": "cw-token-1",
                "inbox_id": 3,
            },
        },
        {
            "name": "Tickets",
            "provider": "generic",
            "outgoing_webhook_url": "https://hooks.example.com/tickets",
            "verification": {"webhook_secret": "seed-003-secret-0123"},
            "events": ["ticket.created", "ai.response.*"],
        },
        {
            "name": "Alerts",
            "provider": "slack",
            "reply": {"webhook_url": "https://hooks.example.com/services/T0/B0/XYZ", "channel": "#support"},
        },
    ]

    created = [await _create(tenant, body) for body in bodies]

    assert [item["provider"] for item in created] == ["zendesk", "intercom", "chatwoot", "generic", "slack"]
    assert created[0]["reply"]["api_token"] == "••••"
    assert created[2]["verification"] == {"webhook_secret": "••••0123", "path_token": "••••pppp"}
    assert created[3]["events"] == ["ticket.created", "ai.response.*"]
    assert created[4]["reply"]["webhook_url"] == "••••/XYZ"


# -- write-only secrets ----------------------------------------------------------------------------------------


async def test_no_response_ever_contains_a_secret(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant, _full_body())
    integration = f"{PATH}/{created['id']}"

    responses = [
        await tenant.client.get(integration, headers=tenant.headers),
        await tenant.client.get(PATH, headers=tenant.headers),
        await tenant.client.put(integration, headers=tenant.headers, json={"name": "renamed"}),
    ]

    for text in [json.dumps(created)] + [response.text for response in responses]:
        for secret in SECRETS:
            assert secret not in text


async def test_mongodb_holds_only_ciphertext(
    registry: Registry, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant, _full_body())

    stored = await mongo[registry.settings.mongodb_database]["integrations"].find_one({"_id": created["id"]})

    assert stored is not None
    for secret in SECRETS:
        assert secret not in str(stored)
    for value in (
        stored["auth_token"],
        stored["custom_headers"]["X-API-Key"],
        stored["verification"]["bearer_token"],
        stored["reply"]["api_token"],
    ):
        assert value.startswith("enc:v1:")
    assert stored["custom_headers"]["X-Platform"] == "freshchat"


# -- the config topic ------------------------------------------------------------------------------------------


async def test_create_and_update_publish_the_full_state_with_secrets_encrypted(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant, _full_body())
    await tenant.client.put(f"{PATH}/{created['id']}", headers=tenant.headers, json={"retry_attempts": 5})
    key = f"integration:{created['id']}".encode()

    records = await _config_records(registry, key, lambda mine: len(mine) >= 2)

    changes = [_config(record) for record in records]
    assert all(headers_of(record)["ce_type"] == "config.changed" for record in records)
    assert [change.version for change in changes] == [1, 2]
    assert all(change.entity == "integration" and change.tenant_id == tenant.id for change in changes)
    # The wire shape as it always was (records on a compacted topic outlive the code that wrote them).
    state = json.loads(records[1].value)["state"]
    assert isinstance(changes[1].state, IntegrationConfig)
    assert state["id"] == created["id"]
    assert state["retry_attempts"] == 5
    assert state["outgoing_webhook_url"] == SEED_BODY["outgoing_webhook_url"]
    box = registry.settings.secrets_box()
    assert box.decrypt(state["auth_token"]) == "your_bearer_token"
    assert box.decrypt(state["reply"]["api_token"]) == FRESHCHAT_REPLY["api_token"]
    assert "bearer_token_sha256" not in state
    for secret in SECRETS:
        assert secret not in records[1].value.decode()


async def test_delete_publishes_a_tombstone(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant)
    await tenant.client.delete(f"{PATH}/{created['id']}", headers=tenant.headers)
    key = f"integration:{created['id']}".encode()

    records = await _config_records(registry, key, lambda mine: any(r.value is None for r in mine))

    assert records[-1].value is None
    assert headers_of(records[-1])["ce_type"] == "config.changed"
    assert headers_of(records[-1])["ce_version"] == "2"


# -- tenant isolation ------------------------------------------------------------------------------------------


async def test_another_tenants_integration_is_404_everywhere(registry: Registry) -> None:
    owner, other = await registry.tenant(), await registry.tenant()
    integration = f"{PATH}/{(await _create(owner))['id']}"

    responses = [
        await other.client.get(integration, headers=other.headers),
        await other.client.put(integration, headers=other.headers, json={"is_active": False}),
        await other.client.patch(integration, headers=other.headers, json={"name": "mine"}),
        await other.client.delete(integration, headers=other.headers),
    ]

    for response in responses:
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert (await other.client.get(PATH, headers=other.headers)).json()["data"] == []
    still = await owner.client.get(integration, headers=owner.headers)
    assert still.json()["data"]["is_active"] is True


async def test_an_inbound_bearer_token_belongs_to_one_integration_only(registry: Registry) -> None:
    owner, other = await registry.tenant(), await registry.tenant()
    await _create(owner, _full_body())

    response = await other.client.post(PATH, headers=other.headers, json=_full_body())

    assert response.status_code == 409
    assert response.json()["error"]["field"] == "verification.bearer_token"


async def test_a_deleted_integrations_bearer_token_can_be_reused(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant, _full_body())
    await tenant.client.delete(f"{PATH}/{created['id']}", headers=tenant.headers)

    response = await tenant.client.post(PATH, headers=tenant.headers, json=_full_body())

    assert response.status_code == 201


# -- bad input -------------------------------------------------------------------------------------------------


async def test_missing_or_wrong_key_is_401(registry: Registry) -> None:
    missing = await registry.client.get(PATH)
    wrong = await registry.client.post(PATH, json=SEED_BODY, headers={"Authorization": "Bearer sbk_wrong"})
    assert missing.status_code == 401
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "unauthorized"


async def test_a_read_only_key_cannot_write(registry: Registry) -> None:
    tenant = await registry.tenant(scopes=["integrations:read"])
    assert (await tenant.client.get(PATH, headers=tenant.headers)).status_code == 200
    assert (await tenant.client.post(PATH, headers=tenant.headers, json=SEED_BODY)).status_code == 403


async def test_malformed_json_is_400(registry: Registry) -> None:
    tenant = await registry.tenant()
    response = await tenant.client.post(
        PATH, content=b'{"name": "x",', headers={**tenant.headers, "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


async def test_oversized_body_is_413(registry: Registry) -> None:
    tenant = await registry.tenant()
    response = await tenant.client.post(
        PATH, headers=tenant.headers, json={**SEED_BODY, "name": "x" * 70_000}
    )
    assert response.status_code == 413


async def test_an_unknown_id_is_404(registry: Registry) -> None:
    tenant = await registry.tenant()
    for integration_id in ("66a1f0c2e4b0a1b2c3d4e5f6", "not-an-id"):
        response = await tenant.client.get(f"{PATH}/{integration_id}", headers=tenant.headers)
        assert response.status_code == 404


async def test_schema_errors_are_422_naming_the_field(registry: Registry) -> None:
    tenant = await registry.tenant()
    cases = [
        ({**SEED_BODY, "timeout_seconds": 31}, "timeout_seconds"),
        ({**SEED_BODY, "provider": "myspace"}, "provider"),
        ({k: v for k, v in SEED_BODY.items() if k != "name"}, "name"),
        ({**SEED_BODY, "verification": {"signing_secret": "zendesk-only"}}, "verification.signing_secret"),
        ({**SEED_BODY, "verification": {"public_key": "not a key"}}, "verification.public_key"),
        ({**SEED_BODY, "reply": {"api_url": "https://partner.example.com/v2"}}, "reply.api_token"),
        ({**SEED_BODY, "custom_headers": {"Content-Type": "text/plain"}}, "custom_headers.Content-Type"),
        ({**SEED_BODY, "events": ["nope.never"]}, "events"),
    ]
    for body, field in cases:
        response = await tenant.client.post(PATH, headers=tenant.headers, json=body)
        assert response.status_code == 422, (field, response.text)
        assert response.json()["error"]["field"] == field


async def test_an_update_is_validated_like_a_create(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await _create(tenant)

    response = await tenant.client.put(
        f"{PATH}/{created['id']}", headers=tenant.headers, json={"provider": "zendesk"}
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "provider"


async def test_plain_http_is_422_outside_development_mode(registry: Registry) -> None:
    tenant = await registry.tenant()
    response = await tenant.client.post(
        PATH, headers=tenant.headers, json={**SEED_BODY, "outgoing_webhook_url": "http://hooks.example.com/h"}
    )
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "invalid_url",
        "message": "outgoing_webhook_url: URL must use HTTPS (plain http is allowed only for tenants in "
        "development mode)",
        "field": "outgoing_webhook_url",
    }


async def test_urls_whose_host_does_not_resolve_here_are_accepted_with_a_warning_each(
    registry: Registry,
) -> None:
    tenant = await registry.tenant()
    body = {
        **SEED_BODY,
        "outgoing_webhook_url": "https://chat.corp.internal/hook",
        "reply": {"api_url": "https://api.corp.internal/v2", "api_token": "t"},
    }
    created = await tenant.client.post(PATH, headers=tenant.headers, json=body)
    assert created.status_code == 201, created.text
    assert [(w["code"], w["field"]) for w in created.json()["warnings"]] == [
        ("unresolved_host", "outgoing_webhook_url"),
        ("unresolved_host", "reply.api_url"),
    ]
    assert "chat.corp.internal does not resolve" in created.json()["warnings"][0]["message"]

    # An update checks (and warns about) only the URLs it changes.
    path = f"{PATH}/{created.json()['data']['id']}"
    updated = await tenant.client.patch(
        path, headers=tenant.headers, json={"outgoing_webhook_url": "https://other.corp.internal/hook"}
    )
    assert [(w["code"], w["field"]) for w in updated.json()["warnings"]] == [
        ("unresolved_host", "outgoing_webhook_url")
    ]
    renamed = await tenant.client.patch(path, headers=tenant.headers, json={"name": "renamed"})
    assert "warnings" not in renamed.json()


async def test_development_tenants_may_use_plain_http(registry: Registry) -> None:
    tenant = await registry.tenant(development_mode=True)
    created = await _create(tenant, outgoing_webhook_url="http://hooks.example.com/h")
    assert created["outgoing_webhook_url"] == "http://hooks.example.com/h"


async def test_private_metadata_and_loopback_targets_are_422(registry: Registry) -> None:
    tenant = await registry.tenant()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"outgoing_webhook_url": "https://internal.example.com/h"}, "outgoing_webhook_url"),
        ({"outgoing_webhook_url": "https://metadata.example.com/latest"}, "outgoing_webhook_url"),
        ({"outgoing_webhook_url": "https://127.0.0.1/h"}, "outgoing_webhook_url"),
        ({"reply": {"api_url": "https://metadata.example.com/v2", "api_token": "t"}}, "reply.api_url"),
    ]
    for overrides, field in cases:
        response = await tenant.client.post(PATH, headers=tenant.headers, json={**SEED_BODY, **overrides})
        assert response.status_code == 422, overrides
        assert response.json()["error"]["field"] == field


async def test_a_slack_webhook_url_is_checked_like_any_endpoint(registry: Registry) -> None:
    tenant = await registry.tenant()
    response = await tenant.client.post(
        PATH,
        headers=tenant.headers,
        json={
            "name": "Alerts",
            "provider": "slack",
            "reply": {"webhook_url": "https://internal.example.com/s/T/B/X"},
        },
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "reply.webhook_url"
    assert "/s/T/B/X" not in response.text
