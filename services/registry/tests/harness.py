"""Registry test harness: the app over real Kafka + FerretDB, an admin, and tenants with API keys.

Names resolve through a fake resolver (``FAKE_DNS``) so URL checks are exercised without DNS or connections:
``*.example`` names map to public documentation-free addresses, ``internal.example`` to a private one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from switchboard_platform.netsafety import IPAddress
from switchboard_registry.main import create_app
from switchboard_registry.settings import RegistrySettings

ADMIN_TOKEN = "test-admin-token-0123456789"

FAKE_DNS: dict[str, list[str]] = {
    "hooks.example.com": ["93.184.215.14"],
    "partner.example.com": ["93.184.215.15"],
    "internal.example.com": ["10.0.0.8"],
    "metadata.example.com": ["169.254.169.254"],
    "receiver.test": ["127.0.0.1"],
    "localhost": ["127.0.0.1", "::1"],
    # The seed guides' own example hosts, so their bodies are tested verbatim (seed 002, seed 001).
    "your-platform.com": ["93.184.215.16"],
    "your-domain.com": ["93.184.215.17"],
}


async def fake_resolver(host: str, port: int) -> Sequence[IPAddress]:
    if host not in FAKE_DNS:
        raise OSError(f"{host}: no such host")
    return [ipaddress.ip_address(address) for address in FAKE_DNS[host]]


@asynccontextmanager
async def running(settings: RegistrySettings) -> AsyncIterator[Registry]:
    """One registry process with the fake resolver and a client; leaving the block is that process going away."""
    app = create_app(settings)
    app.state.services.resolver = fake_resolver
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
            yield Registry(app, client, settings)


@dataclass
class Tenant:
    id: str
    key: str
    client: httpx.AsyncClient
    development_mode: bool = False

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass
class Registry:
    app: FastAPI
    client: httpx.AsyncClient
    settings: RegistrySettings
    tenants: list[Tenant] = field(default_factory=list)

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    async def tenant(self, *, development_mode: bool = False, scopes: list[str] | None = None) -> Tenant:
        created = await self.client.post(
            "/api/admin/tenants",
            headers=self.admin,
            json={"name": "Acme", "development_mode": development_mode},
        )
        assert created.status_code == 201, created.text
        tenant_id = created.json()["data"]["id"]
        body: dict[str, Any] = {"name": "test key"}
        if scopes is not None:
            body["scopes"] = scopes
        key = await self.client.post(
            f"/api/admin/tenants/{tenant_id}/api-keys", headers=self.admin, json=body
        )
        assert key.status_code == 201, key.text
        tenant = Tenant(tenant_id, key.json()["data"]["key"], self.client, development_mode)
        self.tenants.append(tenant)
        return tenant
