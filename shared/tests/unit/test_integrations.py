from __future__ import annotations

from switchboard_contracts import partners
from switchboard_contracts.integrations import token_digest


def test_the_built_in_verification_secrets_are_these_and_not_the_public_key() -> None:
    # The registry seals exactly these and ingress decrypts exactly these: a field missing here would be
    # published in plaintext.
    secrets = partners.secret_fields("verification")
    assert secrets == {
        "signing_secret",
        "client_secret",
        "webhook_secret",
        "path_token",
        "bearer_token",
    }
    assert "public_key" not in secrets


def test_token_digest_is_the_sha256_hex_of_the_token() -> None:
    # A fixed vector: the registry's stored digests and ingress's index must keep matching across releases.
    assert token_digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert token_digest("tök") != token_digest("tok")
