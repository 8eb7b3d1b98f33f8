"""AiResponder settings (env prefix ``SB_AI_RESPONDER_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from switchboard_platform.settings import ConfigFollowerSettings


class AiResponderSettings(ConfigFollowerSettings):
    model_config = SettingsConfigDict(
        env_prefix="SB_AI_RESPONDER_", extra="ignore", populate_by_name=True, frozen=True
    )
    # A private-network LLM (an in-cluster model server) is a production set-up; loopback is not.
    development_only: ClassVar[dict[str, str]] = {"allow_loopback_llm_urls": "LLM base URLs on loopback"}

    mongodb_database: str = Field(default="switchboard_ai_responder", description="MongoDB database name")
    admin_token: SecretStr = Field(
        default=SecretStr("dev-admin-token"),
        description="Operator bearer token for the management API, for any tenant (tenants use their registry "
        "API keys with the responder:read / responder:write scopes); no default in production",
    )
    session_idle_s: int = Field(
        default=3600,
        ge=60,
        description="seed 004: a conversation's memory expires after this long without a message "
        "(a tenant may set its own)",
    )
    expiry_sweep_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="How often expired conversations are deleted where the server has no TTL indexes (FerretDB)",
    )
    max_history: int = Field(default=50, ge=2, le=1000, description="Turns kept per conversation")
    llm_timeout_s: float = Field(default=20.0, gt=0, description="Default timeout of one LLM HTTP request")
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, description="Larger request bodies get 413")
    allow_loopback_llm_urls: bool = Field(
        default=False,
        description="Accept LLM base URLs on loopback (a local Ollama or vLLM; tests; refused in production)",
    )
    allow_private_llm_urls: bool = Field(
        default=False, description="Accept LLM base URLs on private networks (an in-cluster model server)"
    )
