"""``make up`` is a development installation: a development tenant's webhook on the developer's own machine
(``http://127.0.0.1:PORT/…``, ``http://localhost:PORT/…``) is accepted and delivered to, with nothing set but
what deploy/local/services.sh sets; another tenant of the same installation is refused loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.infra import Infrastructure
from switchboard_testing.webhooks import Receiver

from .stack import Stack, infra_env, started_stack

ADMIN = "e2e-admin-token-0123456789"


@pytest.fixture
def stack(infra: Infrastructure, make_settings: SettingsFactory, tmp_path: Path) -> Iterator[Stack]:
    with started_stack(
        tmp_path / "run",
        {
            **infra_env(infra, make_settings.namespace),
            "SB_REGISTRY_ADMIN_TOKEN": ADMIN,
        },
    ) as running:
        yield running


async def _tenant_key(http: httpx.AsyncClient, *, development_mode: bool) -> dict[str, str]:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    tenant = await http.post(
        "/api/admin/tenants", headers=admin, json={"name": "local", "development_mode": development_mode}
    )
    tenant_id = tenant.json()["data"]["id"]
    key = await http.post(f"/api/admin/tenants/{tenant_id}/api-keys", headers=admin, json={"name": "dev"})
    return {"Authorization": f"Bearer {key.json()['data']['key']}"}


@pytest.mark.usefixtures("drop_stack_databases")
async def test_a_development_tenant_gets_webhooks_on_loopback(stack: Stack, receiver: Receiver) -> None:
    async with httpx.AsyncClient(base_url=stack.urls["registry"], timeout=10) as http:
        auth = await _tenant_key(http, development_mode=True)
        for host, path in (("127.0.0.1", "ip"), ("localhost", "name")):
            created = await http.post(
                "/api/webhooks",
                headers=auth,
                json={"name": host, "url": receiver.url(path, host=host), "events": ["*"]},
            )
            assert created.status_code == 201, created.text
            tested = await http.post(f"/api/webhooks/{created.json()['data']['_id']}/test", headers=auth)
            assert tested.status_code == 202, tested.text
            (delivery,) = await receiver.wait_for(path, 1, timeout_s=60)
            assert delivery.json()["event"] == "webhook.test"


@pytest.mark.usefixtures("drop_stack_databases")
async def test_other_tenants_of_the_installation_are_refused_loopback(
    stack: Stack, receiver: Receiver
) -> None:
    async with httpx.AsyncClient(base_url=stack.urls["registry"], timeout=10) as http:
        auth = await _tenant_key(http, development_mode=False)
        refused = await http.post(
            "/api/webhooks",
            headers=auth,
            json={"name": "x", "url": f"https://127.0.0.1:{receiver.port}/hooks", "events": ["*"]},
        )
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "url"
    assert "loopback address" in refused.json()["error"]["message"]
