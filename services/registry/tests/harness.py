"""Registry test harness: the app over real Kafka + FerretDB, an admin, and tenants with API keys.

Names resolve through a fake resolver (``FAKE_DNS``) so URL checks are exercised without DNS or connections:
``*.example`` names map to public documentation-free addresses, ``internal.example`` to a private one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from switchboard_registry.settings import RegistrySettings
from switchboard_shared.netsafety import IPAddress

ADMIN_TOKEN = "test-admin-token-0123456789"

FAKE_DNS: dict[str, list[str]] = {
    "hooks.example.com": ["93.184.215.14"],
    "partner.example.com": ["93.184.215.15"],
    "internal.example.com": ["10.0.0.8"],
    "metadata.example.com": ["169.254.169.254"],
    "receiver.test": ["127.0.0.1"],
    # The seed guides' own example hosts, so their bodies are tested verbatim (seed 002, seed 001).
    "your-platform.com": ["93.184.215.16"],
    "your-domain.com": ["93.184.215.17"],
}


async def fake_resolver(host: str, port: int) -> Sequence[IPAddress]:
    if host not in FAKE_DNS:
        raise OSError(f"{host}: no such host")
    return [ipaddress.ip_address(address) for address in FAKE_DNS[host]]


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
