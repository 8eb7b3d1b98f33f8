"""Tenants and API keys over real Kafka + FerretDB."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient

from switchboard_registry.domain.keys import digest

from ..harness import Registry


async def test_admin_endpoints_require_the_admin_token(registry: Registry) -> None:
    missing = await registry.client.post("/api/admin/tenants", json={"name": "x"})
    wrong = await registry.client.post(
        "/api/admin/tenants", json={"name": "x"}, headers={"Authorization": "Bearer nope"}
    )
    assert missing.status_code == 401
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "unauthorized"


async def test_an_api_key_is_shown_once_and_stored_hashed(
    registry: Registry, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    tenant = await registry.tenant()

    listed = await registry.client.get(f"/api/admin/tenants/{tenant.id}/api-keys", headers=registry.admin)
    stored = await mongo[registry.settings.mongodb_database]["api_keys"].find_one({"tenant_id": tenant.id})

    assert tenant.key.startswith("sbk_")
    assert "key" not in listed.json()["data"][0]
    assert stored is not None
    assert stored["key_hash"] == digest(tenant.key)
    assert tenant.key not in str(stored)


async def test_a_revoked_key_no_longer_authenticates(registry: Registry) -> None:
    tenant = await registry.tenant()
    assert (await registry.client.get("/api/webhooks", headers=tenant.headers)).status_code == 200
    key_id = (
        await registry.client.get(f"/api/admin/tenants/{tenant.id}/api-keys", headers=registry.admin)
    ).json()["data"][0]["id"]

    revoked = await registry.client.delete(
        f"/api/admin/tenants/{tenant.id}/api-keys/{key_id}", headers=registry.admin
    )

    assert revoked.status_code == 200
    assert (await registry.client.get("/api/webhooks", headers=tenant.headers)).status_code == 401


async def test_a_key_without_the_scope_is_refused(registry: Registry) -> None:
    tenant = await registry.tenant(scopes=["webhooks:read"])
    read = await registry.client.get("/api/webhooks", headers=tenant.headers)
    write = await registry.client.post(
        "/api/webhooks",
        headers=tenant.headers,
        json={"name": "x", "url": "https://hooks.example.com/h", "events": ["*"]},
    )
    assert read.status_code == 200
    assert write.status_code == 403
