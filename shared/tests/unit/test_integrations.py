from __future__ import annotations

from switchboard_shared.integrations import VERIFICATION_SECRETS


def test_verification_secrets_name_each_field_once_and_not_the_public_key() -> None:
    assert len(set(VERIFICATION_SECRETS)) == len(VERIFICATION_SECRETS)
    assert set(VERIFICATION_SECRETS) == {
        "signing_secret",
        "client_secret",
        "webhook_secret",
        "path_token",
        "bearer_token",
    }
    assert "public_key" not in VERIFICATION_SECRETS
