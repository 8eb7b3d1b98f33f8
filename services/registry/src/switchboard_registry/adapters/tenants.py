"""Tenants and their API keys (MongoDB, changes through the outbox)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from switchboard_contracts.config_records import ApiKeyConfig, TenantConfig, WidgetConfig
from switchboard_registry.adapters.outbox import ChangeRelay, OutboxCollection, identity
from switchboard_registry.domain.ids import new_id
from switchboard_registry.domain.keys import digest, generate_key


def tenant_record(document: Mapping[str, Any]) -> TenantConfig:
    """The config record of a tenant: what ingress needs for its widget policy and development mode."""
    widget = document.get("widget")
    return TenantConfig(
        **identity(document),
        name=document["name"],
        development_mode=document.get("development_mode", False),
        widget=WidgetConfig.model_validate(widget) if widget is not None else None,
        created_at=document["created_at"],
        updated_at=document["updated_at"],
    )


def api_key_record(document: Mapping[str, Any]) -> ApiKeyConfig:
    """The config record of an API key: digest, tenant, scopes and revocation, never the key."""
    return ApiKeyConfig(
        **identity(document),
        name=document["name"],
        scopes=tuple(document["scopes"]),
        key_hash=document["key_hash"],
        prefix=document["prefix"],
        revoked_at=document.get("revoked_at"),
        created_at=document["created_at"],
        updated_at=document["updated_at"],
    )


@dataclass(frozen=True)
class Principal:
    """Who is calling: a tenant's API key and what it may do."""

    tenant_id: str
    key_id: str
    scopes: frozenset[str]
    development_mode: bool


class TenantStore:
    def __init__(self, database: AsyncDatabase[dict[str, Any]], relay: ChangeRelay) -> None:
        self.tenants = OutboxCollection("tenant", database["tenants"], relay, tenant_record)
        # Keys are published whole (digest, tenant, scopes, revocation) so other services check them themselves
        # (switchboard_platform.api_keys); the SHA-256 of a 256-bit random key is useless without the key.
        self.keys = OutboxCollection("api_key", database["api_keys"], relay, api_key_record)

    async def ensure_indexes(self) -> None:
        await self.keys.collection.create_index([("key_hash", ASCENDING)], unique=True)
        await self.keys.collection.create_index([("tenant_id", ASCENDING)])

    async def create_tenant(
        self, name: str, development_mode: bool, widget: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        tenant_id = new_id()
        return await self.tenants.insert(
            {
                "_id": tenant_id,
                "tenant_id": tenant_id,
                "name": name,
                "development_mode": development_mode,
                "widget": widget,
                "created_at": now,
                "updated_at": now,
            }
        )

    async def get_tenant(self, tenant_id: str) -> dict[str, Any] | None:
        return await self.tenants.collection.find_one(OutboxCollection.live({"_id": tenant_id}))

    async def update_tenant(self, tenant_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        return await self.tenants.update({"_id": tenant_id}, changes)

    async def create_key(self, tenant_id: str, name: str, scopes: list[str]) -> tuple[str, dict[str, Any]]:
        """Returns (the key, shown this once; the stored record without it)."""
        key = generate_key()
        now = datetime.now(UTC)
        record = await self.keys.insert(
            {
                "_id": new_id(),
                "tenant_id": tenant_id,
                "name": name,
                "scopes": scopes,
                "key_hash": digest(key),
                "prefix": key[:8],
                "created_at": now,
                "updated_at": now,
                "revoked_at": None,
            }
        )
        return key, record

    async def list_keys(self, tenant_id: str) -> list[dict[str, Any]]:
        cursor = self.keys.collection.find(OutboxCollection.live({"tenant_id": tenant_id})).sort(
            "created_at", 1
        )
        return [document async for document in cursor]

    async def revoke_key(self, tenant_id: str, key_id: str) -> dict[str, Any] | None:
        return await self.keys.update(
            {"_id": key_id, "tenant_id": tenant_id, "revoked_at": None}, {"revoked_at": datetime.now(UTC)}
        )

    async def authenticate(self, key: str) -> Principal | None:
        record = await self.keys.collection.find_one(
            OutboxCollection.live({"key_hash": digest(key), "revoked_at": None})
        )
        return None if record is None else await self._principal(record)

    async def principal_of_key(self, tenant_id: str, key_id: str) -> Principal | None:
        """The principal of a key known by id (a console session keeps the id, never the key); None once the
        key is revoked or deleted."""
        record = await self.keys.collection.find_one(
            OutboxCollection.live({"_id": key_id, "tenant_id": tenant_id, "revoked_at": None})
        )
        return None if record is None else await self._principal(record)

    async def _principal(self, record: dict[str, Any]) -> Principal | None:
        tenant = await self.get_tenant(record["tenant_id"])
        if tenant is None:
            return None
        return Principal(
            tenant_id=tenant["_id"],
            key_id=record["_id"],
            scopes=frozenset(record["scopes"]),
            development_mode=bool(tenant.get("development_mode")),
        )
