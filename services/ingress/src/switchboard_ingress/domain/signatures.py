"""How each partner signs its webhooks, as pure verifiers over the raw request bytes (no I/O, no parsing).

Every verifier raises ``SignatureError`` naming the reason (never a secret or an expected value) and returns
nothing on success. Algorithms and sources: ``shared/reference/platforms.md``.

- Freshchat: ``X-Freshchat-Signature`` = base64 RSA PKCS#1 v1.5 / SHA-256 signature of the raw body, checked with
  the public key pasted from Freshchat's settings (§1.3). No timestamp is signed.
- Zendesk: ``X-Zendesk-Webhook-Signature`` = base64 HMAC-SHA256(secret, timestamp + body), the timestamp being the
  ``X-Zendesk-Webhook-Signature-Timestamp`` header byte for byte (§2.4); we add a replay window.
- Intercom: ``X-Hub-Signature: sha1=<hex HMAC-SHA1(client_secret, body)>`` (§3.2). No timestamp.
- Chatwoot: ``X-Chatwoot-Signature: sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`` with
  ``X-Chatwoot-Timestamp`` in unix seconds (§4.3); replay window.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from switchboard_shared.signing import SignatureError, constant_time_equal

__all__ = [
    "SignatureError",
    "StaleTimestamp",
    "load_rsa_public_key",
    "verify_chatwoot",
    "verify_freshchat",
    "verify_intercom",
    "verify_zendesk",
]

_ARMOR = re.compile(r"-----(?:BEGIN|END) [A-Z0-9 ]+-----")


class StaleTimestamp(SignatureError):
    """The signed timestamp is outside the replay window (too old, or from the future)."""


def load_rsa_public_key(text: str) -> rsa.RSAPublicKey:
    """A Freshchat public key however it was pasted: SPKI or PKCS#1, with or without newlines, and with the
    misleading ``RSA PUBLIC KEY`` label around an SPKI body (platforms.md §1.3). The registry stores it
    normalized, but a key typed straight into the config topic must load too."""
    body = re.sub(r"\s+|\\n", "", _ARMOR.sub("", text))
    try:
        der = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("public key is not base64 PEM") from None
    key: object
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        try:
            pem = (
                b"-----BEGIN RSA PUBLIC KEY-----\n"
                + base64.encodebytes(der)
                + b"-----END RSA PUBLIC KEY-----\n"
            )
            key = serialization.load_pem_public_key(pem)
        except (ValueError, UnsupportedAlgorithm):
            raise ValueError("not an RSA public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def verify_freshchat(key: rsa.RSAPublicKey, body: bytes, signature: str | None) -> None:
    if not signature:
        raise SignatureError("missing X-Freshchat-Signature")
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("X-Freshchat-Signature is not base64") from None
    try:
        key.verify(raw, body, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise SignatureError("signature does not match the body") from None


def _check_window(signed_at: datetime, now: datetime, tolerance_s: int) -> None:
    if abs((now - signed_at).total_seconds()) > tolerance_s:
        raise StaleTimestamp(f"signature timestamp is more than {tolerance_s} s away from now")


def verify_zendesk(
    secret: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    tolerance_s: int,
    now: datetime | None = None,
) -> None:
    if not signature or not timestamp:
        raise SignatureError("missing X-Zendesk-Webhook-Signature or X-Zendesk-Webhook-Signature-Timestamp")
    # The secret is used as its literal UTF-8 string even though it looks like base64 (platforms.md §2.4).
    expected = base64.b64encode(
        hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    ).decode()
    if not constant_time_equal(signature.strip(), expected):
        raise SignatureError("signature does not match the body")
    # Checked after the signature so a forged request learns nothing about the window.
    try:
        signed_at = datetime.fromisoformat(timestamp.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SignatureError("X-Zendesk-Webhook-Signature-Timestamp is not an ISO-8601 time") from None
    if signed_at.tzinfo is None:
        signed_at = signed_at.replace(tzinfo=UTC)
    _check_window(signed_at, now or datetime.now(UTC), tolerance_s)


def verify_intercom(secret: str, body: bytes, signature: str | None) -> None:
    if not signature:
        raise SignatureError("missing X-Hub-Signature")
    candidate = signature.strip()
    if not candidate.startswith("sha1="):
        raise SignatureError("X-Hub-Signature must start with sha1=")
    # SHA-1 is what Intercom signs with; as an HMAC it is still sound.
    expected = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    if not constant_time_equal(candidate.removeprefix("sha1=").lower(), expected):
        raise SignatureError("signature does not match the body")


def verify_chatwoot(
    secret: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    tolerance_s: int,
    now: datetime | None = None,
) -> None:
    if not signature or not timestamp:
        raise SignatureError("missing X-Chatwoot-Signature or X-Chatwoot-Timestamp")
    signed = timestamp.strip().encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not constant_time_equal(signature.strip().lower(), expected):
        raise SignatureError("signature does not match the body")
    try:
        signed_at = datetime.fromtimestamp(int(timestamp.strip()), UTC)
    except (ValueError, OverflowError, OSError):
        raise SignatureError("X-Chatwoot-Timestamp is not unix seconds") from None
    _check_window(signed_at, now or datetime.now(UTC), tolerance_s)
