"""Where the CLI finds Switchboard and its credentials.

Precedence, highest first: command-line options, ``SWITCHBOARD_*`` environment variables, the chosen profile of
the config file (``~/.config/switchboard/config.toml``, or ``$SWITCHBOARD_CONFIG``), then the defaults of a
``make up`` installation on this machine (its development tokens are refused by any production installation).

The config file holds one table per profile; ``default`` is used unless ``--profile``/``SWITCHBOARD_PROFILE``
names another::

    [default]
    api_key = "sbk_…"

    [staging]
    url = "https://registry.staging.example"
    ingress_url = "https://ingress.staging.example"
    api_key = "sbk_…"
"""

from __future__ import annotations

import os
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_PROFILE = "default"
#: The profile named by ``--profile`` for this run (the environment's SWITCHBOARD_PROFILE otherwise).
_chosen_profile: ContextVar[str | None] = ContextVar("switchboard_profile", default=None)


class ConfigError(Exception):
    """The configuration cannot be used; the message says which file or variable and why."""


def config_path() -> Path:
    explicit = os.environ.get("SWITCHBOARD_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "switchboard" / "config.toml"


def read_profile(path: Path, profile: str, *, required: bool) -> dict[str, Any]:
    """The profile's table from ``path``; ``{}`` when the file or (unless ``required``) the profile is missing."""
    if not path.exists():
        if required:
            raise ConfigError(f"profile {profile!r}: config file {path} does not exist")
        return {}
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    table = document.get(profile)
    if table is None:
        if required:
            raise ConfigError(f"profile {profile!r} is not in {path}")
        return {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{profile}] must be a table")
    return table


class Config(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", extra="forbid", frozen=True)

    url: str = Field(default="http://127.0.0.1:8081", description="The registry's base URL")
    ingress_url: str = Field(default="http://127.0.0.1:8080", description="The ingress's base URL")
    api_key: SecretStr | None = Field(default=None, description="A tenant's API key (sbk_…)")
    admin_token: SecretStr = Field(
        default=SecretStr("dev-admin-token"), description="The operator's token (tenants, API keys)"
    )
    events_token: SecretStr = Field(
        default=SecretStr("dev-events-token"), description="The ingress's bearer token for POST /v1/events"
    )
    timeout_s: float = Field(default=10.0, gt=0, description="Seconds per HTTP request")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # No .env or secrets directory: a CLI run from any folder must not pick up a service's .env file.
        return init_settings, env_settings, _ProfileSource(settings_cls)


class _ProfileSource(PydanticBaseSettingsSource):
    """The profile table chosen by ``--profile`` or ``SWITCHBOARD_PROFILE``."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        explicit = _chosen_profile.get() or os.environ.get("SWITCHBOARD_PROFILE")
        self.values = read_profile(config_path(), explicit or DEFAULT_PROFILE, required=bool(explicit))

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


def load(profile: str | None = None, **overrides: Any) -> Config:
    """The configuration for this run; ``overrides`` are the command-line options that were given."""
    token = _chosen_profile.set(profile)
    try:
        return Config(**{name: value for name, value in overrides.items() if value is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "configuration"
        raise ConfigError(
            f"{where}: {first['msg']} (check SWITCHBOARD_* variables and {config_path()})"
        ) from None
    finally:
        _chosen_profile.reset(token)
