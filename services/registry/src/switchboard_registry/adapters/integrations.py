"""Partner integrations in MongoDB; every change goes through the outbox to the config topic.

Documents hold secrets only as ``SecretsBox`` ciphertext, and that is what the config topic carries too: ingress
and the dispatcher decrypt with the shared key. The SHA-256 digests of the tokens that identify an integration on
their own (seed 002's bearer token, Chatwoot's path token) stay in the registry, under unique indexes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from switchboard_contracts.config_records import IntegrationConfig
from switchboard_registry.adapters.outbox import ChangeRelay, OutboxCollection, identity
from switchboard_registry.adapters.tenant_documents import TenantDocuments
from switchboard_registry.domain.ids import is_id, new_id
from switchboard_registry.domain.integrations import DIGEST_FIELDS


class TokenInUse(Exception):
    """Another integration (of any tenant) already answers to this token. ``field`` names the request field."""

    def __init__(self, field: str | None) -> None:
        super().__init__(field)
        self.field = field


def integration_record(document: Mapping[str, Any]) -> IntegrationConfig:
    """The config record of a stored integration, secrets sealed as stored. The token digests stay here:
    consumers look integrations up by decrypting the token; the digests are the registry's uniqueness guard."""
    return IntegrationConfig(
        **identity(document),
        name=document["name"],
        provider=document["provider"],
        outgoing_webhook_url=document.get("outgoing_webhook_url"),
        auth_token=document.get("auth_token"),
        custom_headers=document.get("custom_headers") or {},
        timeout_seconds=document["timeout_seconds"],
        retry_attempts=document["retry_attempts"],
        is_active=document["is_active"],
        events=tuple(document.get("events") or ()),
        verification=document.get("verification") or {},
        reply=document.get("reply"),
        rate_limit_per_minute=document.get("rate_limit_per_minute"),
        created_by=document["created_by"],
        created_at=document["created_at"],
        updated_at=document["updated_at"],
    )


class IntegrationStore(TenantDocuments):
    def __init__(self, database: AsyncDatabase[dict[str, Any]], relay: ChangeRelay) -> None:
        super().__init__(
            OutboxCollection("integration", database["integrations"], relay, integration_record),
            is_valid_id=is_id,
        )

    async def ensure_indexes(self) -> None:
        await super().ensure_indexes()
        collection = self.docs.collection
        for digest_field in DIGEST_FIELDS.values():
            # Sparse: integrations without the token are not indexed (MongoDB would otherwise treat every
            # missing value as the same null and allow only one).
            await collection.create_index([(digest_field, ASCENDING)], unique=True, sparse=True)

    async def create(
        self, tenant_id: str, created_by: str, fields: Mapping[str, Any], digests: Mapping[str, str]
    ) -> dict[str, Any]:
        integration_id = new_id()
        await self._check_tokens_free(integration_id, digests)
        now = datetime.now(UTC)
        document = {
            "_id": integration_id,
            "tenant_id": tenant_id,
            "created_by": created_by,
            "created_at": now,
            "updated_at": now,
            **fields,
            **digests,
        }
        try:
            return await self.docs.insert(document)
        except DuplicateKeyError:  # lost a race with a concurrent create of the same token
            raise TokenInUse(None) from None

    async def update(
        self, tenant_id: str, integration_id: str, fields: Mapping[str, Any], digests: Mapping[str, str]
    ) -> dict[str, Any] | None:
        if not self.is_valid_id(integration_id):
            return None
        await self._check_tokens_free(integration_id, digests)
        # Unset (not null) a token that was removed: the sparse unique index would count nulls as one value.
        absent = {name: "" for name in DIGEST_FIELDS.values() if name not in digests}
        try:
            return await self._update(
                tenant_id, integration_id, {**fields, **digests}, {"$unset": absent} if absent else None
            )
        except DuplicateKeyError:
            raise TokenInUse(None) from None

    async def _check_tokens_free(self, integration_id: str, digests: Mapping[str, str]) -> None:
        """Name the conflicting field up front; the unique index stays the guard against races."""
        fields = {digest_field: name for name, digest_field in DIGEST_FIELDS.items()}
        for digest_field, digest in digests.items():
            taken = await self.docs.collection.find_one(
                {digest_field: digest, "_id": {"$ne": integration_id}}, {"_id": 1}
            )
            if taken is not None:
                raise TokenInUse(f"verification.{fields[digest_field]}")
