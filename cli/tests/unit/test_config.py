"""Where the CLI's settings come from: options, then SWITCHBOARD_* variables, then the profile, then defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard_cli import config

PROFILES = """
[default]
url = "http://registry.default:1"
api_key = "sbk_default"

[staging]
url = "http://registry.staging:1"
ingress_url = "http://ingress.staging:1"
"""


@pytest.fixture
def profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("URL", "INGRESS_URL", "API_KEY", "ADMIN_TOKEN", "EVENTS_TOKEN", "PROFILE", "TIMEOUT_S"):
        monkeypatch.delenv(f"SWITCHBOARD_{name}", raising=False)
    path = tmp_path / "config.toml"
    path.write_text(PROFILES)
    monkeypatch.setenv("SWITCHBOARD_CONFIG", str(path))
    return path


def test_without_a_config_file_the_defaults_are_make_ups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWITCHBOARD_CONFIG", str(tmp_path / "missing.toml"))
    monkeypatch.delenv("SWITCHBOARD_URL", raising=False)
    monkeypatch.delenv("SWITCHBOARD_INGRESS_URL", raising=False)
    loaded = config.load()
    assert (loaded.url, loaded.ingress_url) == ("http://127.0.0.1:8081", "http://127.0.0.1:8080")


@pytest.mark.usefixtures("profiles")
def test_the_default_profile_applies_unless_another_is_named() -> None:
    assert config.load().url == "http://registry.default:1"
    staging = config.load("staging")
    assert (staging.url, staging.ingress_url) == ("http://registry.staging:1", "http://ingress.staging:1")
    assert staging.api_key is None


@pytest.mark.usefixtures("profiles")
def test_the_environment_beats_the_profile_and_an_option_beats_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_URL", "http://registry.env:1")
    assert config.load().url == "http://registry.env:1"
    assert config.load(url="http://registry.option:1").url == "http://registry.option:1"


@pytest.mark.usefixtures("profiles")
def test_a_named_profile_that_does_not_exist_is_an_error() -> None:
    with pytest.raises(config.ConfigError, match="profile 'prod' is not in"):
        config.load("prod")


def test_an_unknown_setting_in_the_profile_is_named(profiles: Path) -> None:
    profiles.write_text('[default]\napi_kee = "sbk_x"\n')
    with pytest.raises(config.ConfigError, match="api_kee"):
        config.load()
