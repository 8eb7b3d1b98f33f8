"""Seed 000's walkthrough against the services as `make up` runs them: create with the seed's body, list,
get, update, regenerate the secret, send a test, delete — each answer in the seed's shape."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.infra import Infrastructure
from switchboard_testing.waiting import eventually

from .stack import Stack, infra_env, started_stack

ADMIN = "e2e-admin-token-5b1f0c2d"
SEED_CREATE = {
    "name": "My Application Webhook",
    "url": "https://example.com/webhooks/chatbots",
    "description": "Webhook for receiving conversation events",
    "events": ["conversation.created", "message.created"],
    "active": True,
}
SEED_UPDATE = {"events": ["conversation.created", "message.created", "message.updated"], "active": True}
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
OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def stack(infra: Infrastructure, make_settings: SettingsFactory, tmp_path: Path) -> Iterator[Stack]:
    namespace = make_settings.namespace  # topics for this namespace exist (kafka_topics fixture)
    with started_stack(
        tmp_path / "run",
        {
            **infra_env(infra, namespace),
            "SB_REGISTRY_ADMIN_TOKEN": ADMIN,
            # The seed's example.com must not be contacted: answer it with loopback, which this stack allows
            # (for development tenants).
            "SB_RESOLVE_OVERRIDES": '{"example.com": "127.0.0.1"}',
            "SB_REGISTRY_ALLOW_LOOPBACK_URLS": "true",
        },
    ) as running:
        yield running


def assert_seed_shape(data: dict[str, Any]) -> None:
    assert SEED_KEYS <= set(data), sorted(SEED_KEYS - set(data))
    assert OBJECT_ID.match(data["_id"])
    assert OBJECT_ID.match(data["createdBy"])
    assert TIMESTAMP.match(data["createdAt"])
    assert TIMESTAMP.match(data["updatedAt"])
    assert isinstance(data["events"], list)
    assert isinstance(data["active"], bool)


@pytest.mark.usefixtures("drop_stack_databases")
async def test_seed_000_walkthrough(stack: Stack) -> None:
    registry = stack.urls["registry"]
    async with httpx.AsyncClient(base_url=registry, timeout=10) as http:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        # A development tenant: only those may target loopback, where example.com resolves in this stack.
        tenant = await http.post(
            "/api/admin/tenants",
            headers=admin,
            json={"name": f"e2e {uuid.uuid4().hex[:6]}", "development_mode": True},
        )
        tenant_id = tenant.json()["data"]["id"]
        key = await http.post(f"/api/admin/tenants/{tenant_id}/api-keys", headers=admin, json={"name": "e2e"})
        auth = {"Authorization": f"Bearer {key.json()['data']['key']}"}

        created = await http.post("/api/webhooks", headers=auth, json=SEED_CREATE)
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "success"
        webhook = created.json()["data"]
        assert_seed_shape(webhook)
        assert {k: webhook[k] for k in SEED_CREATE} == SEED_CREATE
        hook = webhook["_id"]

        listed = await http.get("/api/webhooks", headers=auth)
        assert listed.status_code == 200
        assert [item["_id"] for item in listed.json()["data"]] == [hook]
        assert_seed_shape(listed.json()["data"][0])

        fetched = await http.get(f"/api/webhooks/{hook}", headers=auth)
        assert fetched.status_code == 200
        assert fetched.json()["data"]["secret"] == webhook["secret"]

        updated = await http.put(f"/api/webhooks/{hook}", headers=auth, json=SEED_UPDATE)
        assert updated.status_code == 200
        assert_seed_shape(updated.json()["data"])
        assert updated.json()["data"]["events"] == SEED_UPDATE["events"]

        regenerated = await http.post(f"/api/webhooks/{hook}/regenerate-secret", headers=auth)
        assert regenerated.status_code == 200
        assert_seed_shape(regenerated.json()["data"])
        assert regenerated.json()["data"]["secret"] != webhook["secret"]

        tested = await http.post(f"/api/webhooks/{hook}/test", headers=auth)
        assert tested.status_code == 202
        assert tested.json()["status"] == "success"

        deleted = await http.delete(f"/api/webhooks/{hook}", headers=auth)
        assert deleted.status_code == 200
        assert (await http.get(f"/api/webhooks/{hook}", headers=auth)).status_code == 404


@pytest.mark.usefixtures("drop_stack_databases")
async def test_a_tenants_registry_key_configures_the_responder_and_the_widget(stack: Stack) -> None:
    """The README's first steps across services: the key the registry issued works at the ai-responder (learned
    over the config topic), for its own tenant only, until the registry revokes it; and the widget policy the
    tenant sets at the registry is what the ingress enforces on the chat widget's CORS."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    async with (
        httpx.AsyncClient(base_url=stack.urls["registry"], timeout=10) as registry,
        httpx.AsyncClient(base_url=stack.urls["ai-responder"], timeout=10) as responder,
        httpx.AsyncClient(base_url=stack.urls["ingress"], timeout=10) as ingress,
    ):
        tenant = await registry.post(
            "/api/admin/tenants", headers=admin, json={"name": "self-service", "development_mode": True}
        )
        tenant_id = tenant.json()["data"]["id"]
        issued = await registry.post(
            f"/api/admin/tenants/{tenant_id}/api-keys", headers=admin, json={"name": "ops"}
        )
        key = issued.json()["data"]
        auth = {"Authorization": f"Bearer {key['key']}"}

        # The widget: an integration to embed, and the site allowed to embed it.
        integration = await registry.post(
            "/api/webhook/config",
            headers=auth,
            json={
                "name": "Site widget",
                "provider": "generic",
                "outgoing_webhook_url": "https://example.com/w",
            },
        )
        assert integration.status_code == 201, integration.text
        widget = await registry.put(
            "/api/widget", headers=auth, json={"allowed_origins": ["https://shop.example.com"]}
        )
        assert widget.status_code == 200, widget.text
        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        }
        chat = f"/chat?integration={integration.json()['data']['id']}"

        async def site_allowed() -> bool:
            answer = await ingress.options(chat, headers={**preflight, "Origin": "https://shop.example.com"})
            return answer.status_code == 200

        await eventually(site_allowed, timeout_s=20)
        elsewhere = await ingress.options(chat, headers={**preflight, "Origin": "https://evil.example.net"})
        assert elsewhere.status_code == 403

        # The AI responder, managed with the same key.
        article = {"title": "Refunds", "body": "Refunds take 5 business days."}

        async def accepted() -> bool:
            answer = await responder.post(f"/api/tenants/{tenant_id}/articles", headers=auth, json=article)
            return answer.status_code == 201

        await eventually(accepted, timeout_s=20)
        other = await responder.get("/api/tenants/someone-else/articles", headers=auth)
        assert other.status_code == 404

        revoked = await registry.delete(f"/api/admin/tenants/{tenant_id}/api-keys/{key['id']}", headers=admin)
        assert revoked.status_code == 200, revoked.text

        async def refused() -> bool:
            answer = await responder.get(f"/api/tenants/{tenant_id}/articles", headers=auth)
            return answer.status_code == 401

        await eventually(refused, timeout_s=20)
