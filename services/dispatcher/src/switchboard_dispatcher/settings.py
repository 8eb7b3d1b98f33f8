"""Dispatcher settings (env prefix ``SB_DISPATCHER_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from switchboard_platform.settings import ConfigFollowerSettings


class DispatcherSettings(ConfigFollowerSettings):
    model_config = SettingsConfigDict(
        env_prefix="SB_DISPATCHER_", extra="ignore", populate_by_name=True, frozen=True
    )
    development_only: ClassVar[dict[str, str]] = {
        "allow_loopback_urls": "deliveries to loopback",
        "allow_private_urls": "deliveries to private networks",
    }

    mongodb_database: str = Field(default="switchboard_dispatcher", description="MongoDB database name")
    allow_loopback_urls: bool = Field(
        default=False,
        description="Deliver to loopback addresses (a development installation only: refused in production)",
    )
    allow_private_urls: bool = Field(
        default=False,
        description="Deliver to private, CGNAT and link-local addresses (refused in production)",
    )
    disable_after_failing_s: int = Field(
        default=5 * 24 * 3600,
        ge=0,
        description="Disable a webhook failing continuously this long (Svix: 5 days)",
    )
    max_unsettled_per_partition: int = Field(
        default=2000, ge=10, description="Unsettled tasks per partition before it is paused (back-pressure)"
    )
    max_connections: int = Field(default=512, ge=1, description="HTTP connection pool size")
    schedule_poll_interval_s: float = Field(default=0.2, gt=0, description="How often due retries are moved")
    schedule_lease_s: float = Field(default=30.0, gt=0, description="Claim lease on a due schedule entry")
    commit_interval_s: float = Field(default=0.5, gt=0, description="How often settled offsets are committed")
