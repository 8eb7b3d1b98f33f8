"""Tenant responder settings in MongoDB (collection ``tenant_settings``, ``_id`` = tenant id).

The LLM API key is sealed with the shared ``SecretsBox`` before it is stored and only leaves as a mask.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr
from pymongo.asynchronous.collection import AsyncCollection

from switchboard_ai_responder.domain.tenants import TenantSettings
from switchboard_shared.fields import STORED
from switchboard_shared.secrets_box import SecretsBox, mask


class TenantSettingsStore:
    def __init__(self, collection: AsyncCollection[dict[str, Any]], box: SecretsBox) -> None:
        self.collection = collection
        self.box = box

    def _open(self, document: dict[str, Any] | None) -> TenantSettings:
        if document is None:
            return TenantSettings()
        stored = dict(document["settings"])
        llm = stored.get("llm")
        if llm is not None and llm.get("api_key"):
            stored["llm"] = {**llm, "api_key": self.box.decrypt(llm["api_key"])}
        return TenantSettings.model_validate(stored, context=STORED)

    async def get(self, tenant_id: str) -> TenantSettings:
        return self._open(await self.collection.find_one({"_id": tenant_id}))

    async def put(self, tenant_id: str, settings: TenantSettings) -> TenantSettings:
        stored = settings.model_dump(mode="json", by_alias=True)
        if settings.llm is not None and settings.llm.api_key is not None:
            stored["llm"]["api_key"] = self.box.encrypt(settings.llm.api_key.get_secret_value())
        await self.collection.update_one(
            {"_id": tenant_id},
            {"$set": {"settings": stored, "updated_at": datetime.now(UTC)}},
            upsert=True,
        )
        return settings


def masked_key(settings: TenantSettings) -> str | None:
    key: SecretStr | None = settings.llm.api_key if settings.llm is not None else None
    return mask(key.get_secret_value()) if key is not None else None
