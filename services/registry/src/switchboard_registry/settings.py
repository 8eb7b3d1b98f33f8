"""Registry settings (env prefix ``SB_REGISTRY_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from switchboard_shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SB_REGISTRY_", extra="ignore", populate_by_name=True, frozen=True
    )

    admin_token: SecretStr = Field(
        default=SecretStr("dev-admin-token"),
        description="Bearer token of the operator who creates tenants and API keys (no default in production)",
    )
    mongodb_database: str = Field(default="switchboard_registry", description="MongoDB database name")
