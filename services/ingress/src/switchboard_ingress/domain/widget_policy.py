"""seed 004's browser-facing rules for the chat widget: which origins may call (CORS) and the CSRF token.

**Origins.** Each tenant has an allow-list of exact origins (scheme://host[:port]); ``*.example.com`` entries match
subdomains over https. The list comes from the tenant's ``widget.allowed_origins`` on the config topic when the
registry sends one, else from ingress's ``SB_INGRESS_WIDGETS`` setting. Development tenants (and a service
running with ``SB_ENVIRONMENT=development``) also accept ``http://localhost`` / ``http://127.0.0.1`` on any port,
the seed's ``http://localhost:3000``. A request without an ``Origin`` header is not from a browser page and is
not subject to CORS.

**CSRF.** When the tenant enables it, every POST must carry ``X-CSRFToken``: a token ingress issued from
``GET /chat/csrf-token`` (readable only by allowed origins, since that response carries CORS headers only for
them). Tokens are stateless — ``<expiry>.<integration>.<HMAC>`` under ``SB_INGRESS_CSRF_SECRET`` — so any
replica verifies any replica's token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from datetime import UTC, datetime

from switchboard_contracts.signing import constant_time_equal

ALLOW_METHODS = "POST, OPTIONS"
ALLOW_HEADERS = "Content-Type, X-CSRFToken"
_LOCAL = re.compile(r"^http://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$")


def normalize_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def origin_allowed(origin: str, allowed: Iterable[str], *, development: bool) -> bool:
    candidate = normalize_origin(origin)
    if development and _LOCAL.match(candidate):
        return True
    for entry in allowed:
        pattern = normalize_origin(entry)
        if pattern == "*" or pattern == candidate:
            return True
        if pattern.startswith("https://*.") and candidate.startswith("https://"):
            suffix = pattern.removeprefix("https://*")
            host = candidate.removeprefix("https://")
            if host.endswith(suffix) and host != suffix.lstrip("."):
                return True
    return False


def cors_headers(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": ALLOW_METHODS,
        "Access-Control-Allow-Headers": ALLOW_HEADERS,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


def _mac(secret: str, message: str) -> str:
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue_csrf_token(secret: str, integration_id: str, ttl_s: int, now: datetime | None = None) -> str:
    expires = int((now or datetime.now(UTC)).timestamp()) + ttl_s
    message = f"{expires}.{integration_id}"
    return f"{message}.{_mac(secret, message)}"


def csrf_token_valid(
    secret: str, integration_id: str, token: str | None, now: datetime | None = None
) -> bool:
    if not token:
        return False
    expires, _, rest = token.strip().partition(".")
    bound_to, _, mac = rest.rpartition(".")
    # isascii: "²".isdigit() is true but int("²") raises, and a header may carry any Latin-1 character.
    if not (expires.isascii() and expires.isdigit()) or not bound_to or not mac:
        return False
    if bound_to != integration_id or int(expires) < int((now or datetime.now(UTC)).timestamp()):
        return False
    return constant_time_equal(mac, _mac(secret, f"{expires}.{bound_to}"))
