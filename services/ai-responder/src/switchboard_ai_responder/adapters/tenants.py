"""Tenant responder settings in MongoDB (collection ``tenant_settings``, ``_id`` = tenant id).

The LLM and embeddings API keys are sealed with the shared ``SecretsBox`` before they are stored and only leave
as a mask.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr
from pymongo.asynchronous.collection import AsyncCollection

from switchboard_ai_responder.domain.tenants import TenantSettings
from switchboard_contracts.fields import STORED
from switchboard_platform.secrets_box import SecretsBox, mask


class TenantSettingsStore:
    def __init__(self, collection: AsyncCollection[dict[str, Any]], box: SecretsBox) -> None:
        self.collection = collection
        self.box = box

    def _open(self, document: dict[str, Any] | None) -> TenantSettings:
        if document is None:
            return TenantSettings()
        stored = dict(document["settings"])
        if stored.get("synonyms"):
            stored["synonyms"] = [group["terms"] for group in stored["synonyms"]]
        for section in SEALED:
            part = stored.get(section)
            if part is not None and part.get("api_key"):
                stored[section] = {**part, "api_key": self.box.decrypt(part["api_key"])}
        return TenantSettings.model_validate(stored, context=STORED)

    async def get(self, tenant_id: str) -> TenantSettings:
        return self._open(await self.collection.find_one({"_id": tenant_id}))

    async def put(self, tenant_id: str, settings: TenantSettings) -> TenantSettings:
        stored = settings.model_dump(mode="json", by_alias=True)
        # FerretDB stores no array directly inside an array: each group is a document.
        stored["synonyms"] = [{"terms": group} for group in stored["synonyms"]]
        for section, key in ((section, api_key(settings, section)) for section in SEALED):
            if key is not None:
                stored[section]["api_key"] = self.box.encrypt(key.get_secret_value())
        await self.collection.update_one(
            {"_id": tenant_id},
            {"$set": {"settings": stored, "updated_at": datetime.now(UTC)}},
            upsert=True,
        )
        return settings


#: The settings sections that hold a write-only API key.
SEALED = ("llm", "embeddings")


def api_key(settings: TenantSettings, section: str) -> SecretStr | None:
    part = settings.llm if section == "llm" else settings.embeddings
    return part.api_key if part is not None else None


def masked_key(settings: TenantSettings, section: str = "llm") -> str | None:
    key = api_key(settings, section)
    return mask(key.get_secret_value()) if key is not None else None
