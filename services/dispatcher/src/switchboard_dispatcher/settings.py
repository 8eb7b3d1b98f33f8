"""Dispatcher settings (env prefix ``SB_DISPATCHER_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from switchboard_shared.settings import ServiceSettings


class DispatcherSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SB_DISPATCHER_", extra="ignore", populate_by_name=True, frozen=True
    )

    mongodb_database: str = Field(default="switchboard_dispatcher", description="MongoDB database name")
