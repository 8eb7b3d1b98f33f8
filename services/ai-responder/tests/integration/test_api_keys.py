"""Tenants manage their responder with their own registry API keys, learned from the config topic (real Kafka):
the right tenant and scope get in, another tenant's key gets 404, a key without the scope 403, a revoked or
unknown key 401 — and the operator token still works for any tenant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from switchboard_platform.api_keys import digest, generate_key
from switchboard_testing.waiting import eventually
from switchboard_testing.webhooks import Platform

from .helpers import ADMIN, TENANT


@pytest.fixture
async def client(responder: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=responder), base_url="http://responder"
    ) as http:
        yield http


async def publish_key(
    platform: Platform, key_id: str, tenant: str, scopes: list[str], **changes: object
) -> str:
    key = generate_key()
    state = {
        "name": key_id,
        "scopes": scopes,
        "key_hash": digest(key),
        "prefix": key[:8],
        "revoked_at": None,
        **changes,
    }
    await platform.config("api_key", key_id, tenant, state)
    return key


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_registry_api_keys_authenticate_the_management_api(
    responder: FastAPI, client: httpx.AsyncClient, platform: Platform
) -> None:
    writer = await publish_key(platform, "k-writer", TENANT, ["responder:write"])
    reader = await publish_key(platform, "k-reader", TENANT, ["responder:read"])
    webhooks_only = await publish_key(platform, "k-hooks", TENANT, ["webhooks:write"])
    other_tenant = await publish_key(platform, "k-globex", "globex", ["*"])

    async def known() -> bool:
        return len(responder.state.services.api_keys) == 4

    await eventually(known, timeout_s=20)
    settings_url = f"/api/tenants/{TENANT}/settings"
    article = {"title": "Refunds", "body": "Refunds take 5 business days.", "tags": ["billing"]}

    created = await client.post(f"/api/tenants/{TENANT}/articles", json=article, headers=bearer(writer))
    assert created.status_code == 201, created.text
    assert (await client.get(settings_url, headers=bearer(writer))).status_code == 200  # write implies read
    assert (await client.get(settings_url, headers=bearer(reader))).status_code == 200
    refused = await client.post(f"/api/tenants/{TENANT}/articles", json=article, headers=bearer(reader))
    assert refused.status_code == 403
    assert "responder:write" in refused.json()["error"]["message"]
    assert (await client.get(settings_url, headers=bearer(webhooks_only))).status_code == 403
    # Another tenant's key, even with every scope, does not learn that this tenant exists.
    assert (await client.get(settings_url, headers=bearer(other_tenant))).status_code == 404
    assert (await client.get("/api/tenants/globex/settings", headers=bearer(other_tenant))).status_code == 200
    for token in ("sbk_not-a-key", "", "garbage"):
        answer = await client.get(settings_url, headers=bearer(token) if token else {})
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
    assert (await client.get(settings_url, headers=bearer(ADMIN))).status_code == 200

    # Revocation arrives over the config topic like any change.
    await publish_key(
        platform, "k-reader", TENANT, ["responder:read"], revoked_at=datetime.now(UTC).isoformat()
    )

    async def revoked() -> bool:
        return (await client.get(settings_url, headers=bearer(reader))).status_code == 401

    await eventually(revoked, timeout_s=20)
