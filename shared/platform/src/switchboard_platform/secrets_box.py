"""Encryption of secrets at rest and in transit on Kafka (webhook secrets, partner tokens, private keys).

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under a key every service that needs plaintext
shares (``SB_SECRETS_KEY``). Several keys may be given, newest first: the first encrypts, all decrypt, so the
key can be rotated without downtime. Ciphertexts are tagged ``enc:v1:`` so a plaintext never passes for one.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "enc:v1:"


class SecretsBoxError(ValueError):
    """A value could not be decrypted. The message never includes the value or the key."""


class SecretsBox:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is required")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except (ValueError, TypeError):
            raise ValueError(
                "encryption keys must be 32 url-safe base64-encoded bytes (Fernet keys)"
            ) from None

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, plaintext: str) -> str:
        return PREFIX + self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        if not ciphertext.startswith(PREFIX):
            raise SecretsBoxError("value is not an encrypted secret")
        try:
            return self._fernet.decrypt(ciphertext.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise SecretsBoxError("secret cannot be decrypted with the configured keys") from None

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt under the newest key."""
        return PREFIX + self._fernet.rotate(ciphertext.removeprefix(PREFIX).encode()).decode()


def mask(secret: str, visible: int = 4) -> str:
    """``"••••abcd"``: enough to recognise a secret, never enough to use it."""
    return "••••" + secret[-visible:] if len(secret) > visible * 3 else "••••"
