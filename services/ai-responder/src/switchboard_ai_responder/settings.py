"""AiResponder settings (env prefix ``SB_AI_RESPONDER_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from switchboard_shared.settings import ServiceSettings


class AiResponderSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SB_AI_RESPONDER_", extra="ignore", populate_by_name=True, frozen=True
    )

    mongodb_database: str = Field(default="switchboard_ai_responder", description="MongoDB database name")
