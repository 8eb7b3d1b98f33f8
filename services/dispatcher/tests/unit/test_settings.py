"""Production refuses the dispatcher's development-only switches at start-up, naming the variable."""

from __future__ import annotations

import pytest

from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_platform.secrets_box import SecretsBox


@pytest.mark.parametrize(
    "variable", ["SB_DISPATCHER_ALLOW_LOOPBACK_URLS", "SB_DISPATCHER_ALLOW_PRIVATE_URLS"]
)
def test_production_refuses_delivering_to_loopback_or_private_networks(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv("SB_ENVIRONMENT", "production")
    monkeypatch.setenv("SB_SECRETS_KEY", SecretsBox.generate_key())
    assert DispatcherSettings().allow_loopback_urls is False
    monkeypatch.setenv(variable, "true")
    with pytest.raises(ValueError, match=f"{variable}=true is refused in production"):
        DispatcherSettings()


def test_a_development_installation_may_deliver_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SB_ENVIRONMENT", "development")
    monkeypatch.setenv("SB_DISPATCHER_ALLOW_LOOPBACK_URLS", "true")
    assert DispatcherSettings().allow_loopback_urls is True
