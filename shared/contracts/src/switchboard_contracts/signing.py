"""Webhook signing: the two seed schemes and Standard Webhooks.

All three sign the body bytes exactly as sent; callers never re-serialize JSON before signing or verifying.

- seed 000: ``X-Chatbots-Signature: sha256=<hex HMAC-SHA256(secret, body)>``
- seed 003: ``X-Webhook-Signature: <hex HMAC-SHA256(secret, body)>``
- Standard Webhooks (https://www.standardwebhooks.com): ``webhook-id``, ``webhook-timestamp`` and
  ``webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`` where the key is the base64
  part of a ``whsec_`` secret. During secret rotation several signatures are sent, space separated, so a
  receiver holding either the old or the new secret verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Final

CHATBOTS_SIGNATURE_HEADER: Final = "X-Chatbots-Signature"
CHATBOTS_EVENT_HEADER: Final = "X-Chatbots-Event"
CHATBOTS_DELIVERY_HEADER: Final = "X-Chatbots-Delivery"
WEBHOOK_SIGNATURE_HEADER: Final = "X-Webhook-Signature"
WEBHOOK_EVENT_HEADER: Final = "X-Webhook-Event"
STANDARD_ID_HEADER: Final = "webhook-id"
STANDARD_TIMESTAMP_HEADER: Final = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER: Final = "webhook-signature"
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - the spec's prefix, not a secret
#: Standard Webhooks' recommended tolerance against replays, in seconds.
DEFAULT_TOLERANCE_S: Final = 5 * 60


class SignatureError(ValueError):
    """Verification failed. The message names the reason, never a secret or the expected signature."""


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _as_bytes(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def constant_time_equal(offered: str | bytes, expected: str | bytes) -> bool:
    """Whether a signature or token someone sent equals the expected one, in constant time, compared as bytes.

    ``hmac.compare_digest`` raises TypeError for a ``str`` with a non-ASCII character, and a header value is
    whatever the caller put in it (Starlette decodes header bytes as Latin-1): compared as ``str``, a forged
    ``X-Webhook-Signature: é`` was a 500 instead of a 401. ``surrogatepass`` makes every ``str`` encodable, so
    nothing here can raise."""
    return hmac.compare_digest(_utf8(offered), _utf8(expected))


def _utf8(value: str | bytes) -> bytes:
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value


# -- seed 000 / seed 003: hex HMAC over the raw body --------------------------------------------------------------


def hex_signature(secret: str | bytes, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``body`` (seed 003's ``X-Webhook-Signature`` value)."""
    return _hmac_sha256(_as_bytes(secret), body).hex()


def chatbots_signature(secret: str | bytes, body: bytes) -> str:
    """seed 000's ``X-Chatbots-Signature`` value: ``sha256=<hex>``."""
    return "sha256=" + hex_signature(secret, body)


def verify_hex_signature(secrets_: Iterable[str | bytes], body: bytes, header: str | None) -> None:
    """Verify a hex (optionally ``sha256=``-prefixed) HMAC against any of ``secrets_``; raise SignatureError."""
    if not header:
        raise SignatureError("missing signature")
    candidate = header.strip().removeprefix("sha256=").lower()
    for secret in secrets_:
        if constant_time_equal(candidate, hex_signature(secret, body)):
            return
    raise SignatureError("signature mismatch")


# -- Standard Webhooks ---------------------------------------------------------------------------------------------


def generate_secret(num_bytes: int = 24) -> str:
    """A new ``whsec_`` secret (24 random bytes by default; the spec asks for 24 to 64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(num_bytes)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret. A secret without the prefix is used as raw UTF-8 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode()
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("malformed whsec_ secret: the part after the prefix must be base64") from None


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(_hmac_sha256(secret_key(secret), signed)).decode()


def standard_headers(
    secrets_: Iterable[str], msg_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers, with one signature per valid secret (rotation)."""
    ts = int(datetime.now(UTC).timestamp()) if timestamp is None else timestamp
    signatures = " ".join(standard_signature(secret, msg_id, ts, body) for secret in secrets_)
    if not signatures:
        raise ValueError("at least one secret is needed to sign")
    return {
        STANDARD_ID_HEADER: msg_id,
        STANDARD_TIMESTAMP_HEADER: str(ts),
        STANDARD_SIGNATURE_HEADER: signatures,
    }


def verify_standard(
    secrets_: Iterable[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: datetime | None = None,
) -> None:
    """Verify Standard Webhooks headers against any of ``secrets_``; raise SignatureError saying why not."""
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get(STANDARD_ID_HEADER)
    raw_ts = lowered.get(STANDARD_TIMESTAMP_HEADER)
    header = lowered.get(STANDARD_SIGNATURE_HEADER)
    if not msg_id or not raw_ts or not header:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        timestamp = int(raw_ts)
    except ValueError:
        raise SignatureError("webhook-timestamp is not an integer") from None
    current = int((now or datetime.now(UTC)).timestamp())
    if abs(current - timestamp) > tolerance_s:
        raise SignatureError("webhook-timestamp outside the tolerance window")
    offered = [part.split(",", 1)[1] for part in header.split() if part.startswith("v1,")]
    for secret in secrets_:
        expected = standard_signature(secret, msg_id, timestamp, body).split(",", 1)[1]
        if any(constant_time_equal(candidate, expected) for candidate in offered):
            return
    raise SignatureError("no matching v1 signature")
