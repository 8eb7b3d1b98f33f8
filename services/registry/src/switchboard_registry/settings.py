"""Registry settings (env prefix ``SB_REGISTRY_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from switchboard_platform.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SB_REGISTRY_", extra="ignore", populate_by_name=True, frozen=True
    )
    #: The console's key has a production fallback (derived from SB_SECRETS_KEY), so it may stay unset.
    optional_secrets: ClassVar[frozenset[str]] = frozenset({"console_session_key"})
    development_only: ClassVar[dict[str, str]] = {
        "allow_loopback_urls": "tenants' URLs on loopback",
        "allow_private_urls": "tenants' URLs on private networks",
    }

    admin_token: SecretStr = Field(
        default=SecretStr("dev-admin-token"),
        description="Bearer token of the operator who creates tenants and API keys (no default in production)",
    )
    mongodb_database: str = Field(default="switchboard_registry", description="MongoDB database name")
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="Larger request bodies get 413")
    secret_rotation_grace_s: int = Field(
        default=24 * 3600, ge=0, description="How long a rotated-out webhook secret keeps signing"
    )
    allow_loopback_urls: bool = Field(
        default=False,
        description="Accept webhook, callback and integration URLs on loopback from development tenants "
        "(a development installation only: refused in production)",
    )
    allow_private_urls: bool = Field(
        default=False,
        description="Accept webhook URLs on private, CGNAT and link-local networks (refused in production)",
    )
    outbox_sweep_interval_s: float = Field(
        default=2.0, gt=0, description="How often pending config changes are re-published"
    )
    console_session_key: SecretStr = Field(
        default=SecretStr(""),
        description="Fernet key sealing the web console's session cookies. Unset: in production one derived "
        "from SB_SECRETS_KEY (which production requires, so every replica agrees); elsewhere one generated at "
        "start, so development sessions end when the registry restarts",
    )
    console_session_ttl_s: int = Field(
        default=8 * 3600, ge=60, description="How long a console sign-in lasts"
    )
    console_secure_cookie: bool | None = Field(
        default=None,
        description="Mark the console's cookie Secure (HTTPS only); default: in production only",
    )
    ingress_url: str = Field(
        default="http://127.0.0.1:8080",
        description="The ingress's public base URL, shown in the console as the inbound URL of integrations",
    )
    ai_responder_url: str = Field(
        default="http://127.0.0.1:8082",
        description="Where the console calls the ai-responder's API (live chats, reviews) for the signed-in "
        "tenant, with the admin token (the two services share it)",
    )
