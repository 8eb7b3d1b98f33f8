"""Production refuses the registry's development-only switches at start-up, naming the variable."""

from __future__ import annotations

import pytest

from switchboard_platform.secrets_box import SecretsBox
from switchboard_registry.settings import RegistrySettings


@pytest.mark.parametrize("variable", ["SB_REGISTRY_ALLOW_LOOPBACK_URLS", "SB_REGISTRY_ALLOW_PRIVATE_URLS"])
def test_production_refuses_loopback_and_private_urls(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv("SB_ENVIRONMENT", "production")
    monkeypatch.setenv("SB_SECRETS_KEY", SecretsBox.generate_key())
    monkeypatch.setenv("SB_REGISTRY_ADMIN_TOKEN", "9f2c1e7a0b5d4c3e8a6f1b2d")
    assert RegistrySettings().allow_loopback_urls is False
    monkeypatch.setenv(variable, "true")
    with pytest.raises(ValueError, match=f"{variable}=true is refused in production"):
        RegistrySettings()


def test_a_development_installation_may_allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SB_ENVIRONMENT", "development")
    monkeypatch.setenv("SB_REGISTRY_ALLOW_LOOPBACK_URLS", "true")
    assert RegistrySettings().allow_loopback_urls is True
