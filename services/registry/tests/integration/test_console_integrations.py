"""The console's integration pages over real Kafka + FerretDB, for a partner the console was never told about:
loaded from a module (``SB_EXTRA_PARTNERS``), it gets its provider choice, its form (secrets write-only, required
marks) and its inbound URL from its declaration alone, and the pages go through the API's own functions."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from switchboard_contracts import partners
from switchboard_registry.settings import RegistrySettings
from switchboard_testing.fixtures import SettingsFactory
from tests.e2e import fake_partner

from ..harness import ADMIN_TOKEN, Registry, running

INGRESS = "https://in.example"
SIGNING_KEY = "fake-signing-key-0001"
API_KEY = "fake-api-key-0002"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def registry(make_settings: SettingsFactory) -> AsyncIterator[Registry]:
    settings = make_settings(
        RegistrySettings,
        admin_token=ADMIN_TOKEN,
        allow_loopback_urls=False,
        ingress_url=INGRESS,
        extra_partners=(fake_partner.__name__,),
    )
    try:
        async with running(settings) as registry:
            yield registry
    finally:
        partners.unregister(fake_partner.NAME)


def _csrf(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, page.text
    return found.group(1)


@asynccontextmanager
async def _signed_in(registry: Registry, key: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser of its own (its own cookie jar) signed in with ``key``, and its CSRF token."""
    transport = httpx.ASGITransport(app=registry.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
        csrf = _csrf(await client.get("/admin/sign-in"))
        signed = await client.post("/admin/sign-in", data={"csrf_token": csrf, "credential": key})
        assert signed.status_code == 303, signed.text
        yield client, _csrf(await client.get("/admin/integrations"))


async def test_a_partner_loaded_from_a_module_is_configured_in_the_console(registry: Registry) -> None:
    tenant = await registry.tenant()
    async with _signed_in(registry, tenant.key) as (browser, csrf):
        listed = await browser.get("/admin/integrations")
        assert '<option value="fakechat">Fakechat</option>' in listed.text

        form = await browser.get("/admin/integrations/new", params={"provider": "fakechat"})
        assert form.status_code == 200
        assert re.search(r'name="verification.signing_key" type="password"', form.text)
        assert re.search(r'name="reply.api_key" type="password"', form.text)
        assert re.search(r'name="reply.api_url" type="url"', form.text)
        assert ">Bot id (optional)</label>" in form.text
        assert ">Api url</label>" in form.text

        created = await browser.post(
            "/admin/integrations/new",
            data={
                "csrf_token": csrf,
                "provider": "fakechat",
                "name": "Fake support",
                "verification.signing_key": SIGNING_KEY,
                "reply.api_url": "https://partner.example.com/api",
                "reply.api_key": API_KEY,
                "is_active": "true",
            },
        )
        assert created.status_code == 303, created.text
        integration_id = created.headers["location"].split("/admin/integrations/")[1].split("?")[0]
        stored = (
            await tenant.client.get(f"/api/webhook/config/{integration_id}", headers=tenant.headers)
        ).json()
        assert stored["data"]["provider"] == "fakechat"
        assert stored["data"]["reply"]["api_url"] == "https://partner.example.com/api"
        masked_key = stored["data"]["verification"]["signing_key"]
        assert masked_key.startswith("••••")

        page = await browser.get(f"/admin/integrations/{integration_id}")
        assert f"{INGRESS}/webhooks/fakechat/{integration_id}" in page.text
        assert SIGNING_KEY not in page.text
        assert API_KEY not in page.text
        assert f"set: {masked_key}" in page.text

        # Empty secret inputs keep the stored secrets; the other fields change.
        saved = await browser.post(
            f"/admin/integrations/{integration_id}/edit",
            data={
                "csrf_token": csrf,
                "name": "Fake support",
                "reply.api_url": "https://partner.example.com/api",
                "reply.bot_id": "bot-7",
                "verification.signing_key": "",
                "reply.api_key": "",
                "is_active": "true",
            },
        )
        assert saved.status_code == 303, saved.text
        stored = (
            await tenant.client.get(f"/api/webhook/config/{integration_id}", headers=tenant.headers)
        ).json()
        assert stored["data"]["reply"]["bot_id"] == "bot-7"
        assert stored["data"]["verification"]["signing_key"] == masked_key

        # A refused edit names the field and never renders the secret typed with it.
        refused = await browser.post(
            f"/admin/integrations/{integration_id}/edit",
            data={
                "csrf_token": csrf,
                "reply.api_url": "https://internal.example.com/api",
                "verification.signing_key": "a-new-signing-key-0003",
                "is_active": "true",
            },
        )
        assert refused.status_code == 422
        assert "reply.api_url" in refused.text
        assert "a-new-signing-key-0003" not in refused.text

        disabled = await browser.post(
            f"/admin/integrations/{integration_id}/active", data={"csrf_token": csrf, "is_active": "false"}
        )
        assert disabled.status_code == 303
        stored = (
            await tenant.client.get(f"/api/webhook/config/{integration_id}", headers=tenant.headers)
        ).json()
        assert stored["data"]["is_active"] is False
        assert stored["data"]["verification"]["signing_key"] == masked_key

        forged = await browser.post(
            f"/admin/integrations/{integration_id}/active", data={"csrf_token": "guess", "is_active": "true"}
        )
        assert forged.status_code == 403


async def test_another_tenants_integration_is_not_found_in_the_console(registry: Registry) -> None:
    owner, other = await registry.tenant(), await registry.tenant()
    created = await owner.client.post(
        "/api/webhook/config", headers=owner.headers, json={"name": "theirs", "provider": "fakechat"}
    )
    assert created.status_code == 201, created.text
    integration_id = created.json()["data"]["id"]
    async with _signed_in(registry, other.key) as (browser, csrf):
        assert (await browser.get(f"/admin/integrations/{integration_id}")).status_code == 404
        for action, data in (("edit", {"name": "mine"}), ("active", {"is_active": "false"})):
            response = await browser.post(
                f"/admin/integrations/{integration_id}/{action}", data={"csrf_token": csrf, **data}
            )
            assert response.status_code == 404, action
    stored = (await owner.client.get(f"/api/webhook/config/{integration_id}", headers=owner.headers)).json()
    assert (stored["data"]["name"], stored["data"]["is_active"]) == ("theirs", True)


async def test_an_unknown_provider_is_refused_naming_the_choices(registry: Registry) -> None:
    tenant = await registry.tenant()
    async with _signed_in(registry, tenant.key) as (browser, _):
        refused = await browser.get("/admin/integrations/new", params={"provider": "nochat"})
    assert refused.status_code == 422
    assert "fakechat" in refused.text
    assert "freshchat" in refused.text
