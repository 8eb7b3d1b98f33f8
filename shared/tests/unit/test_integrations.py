from __future__ import annotations

from switchboard_shared.integrations import VERIFICATION_SECRETS, token_digest


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


def test_token_digest_is_the_sha256_hex_of_the_token() -> None:
    # A fixed vector: the registry's stored digests and ingress's index must keep matching across releases.
    assert token_digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert token_digest("tök") != token_digest("tok")
