"""The console's session: who signed in, sealed in an HttpOnly cookie, and the CSRF token of its forms.

The cookie is a Fernet token (encrypted and authenticated, with its issue time) of a small JSON document. It
never holds the API key or the operator token that signed in: a tenant session keeps the key's *id* and is
checked against the key store on every request (a revoked key ends its sessions at once); an operator session
keeps a digest of the admin token, so changing the token ends every operator session. Every session — also the
anonymous one the sign-in form gets — carries a random CSRF token that each form posts back
(synchronizer token); a POST without it, or with another, is refused with 403.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from switchboard_contracts.signing import constant_time_equal

COOKIE = "sb_console"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

Role = Literal["anonymous", "tenant", "operator"]


@dataclass(frozen=True)
class Session:
    csrf: str
    role: Role = "anonymous"
    tenant_id: str | None = None
    #: A tenant session: the id of the API key that signed in (never the key).
    key_id: str | None = None
    #: An operator session: a digest of the admin token it signed in with (never the token).
    operator: str | None = None

    @classmethod
    def anonymous(cls) -> Session:
        return cls(csrf=secrets.token_urlsafe(32))

    @property
    def signed_in(self) -> bool:
        return self.role != "anonymous"

    def signed_in_as_tenant(self, tenant_id: str, key_id: str) -> Session:
        # A new CSRF token at every sign-in: a token seen before signing in is worth nothing after.
        return Session(csrf=secrets.token_urlsafe(32), role="tenant", tenant_id=tenant_id, key_id=key_id)

    def signed_in_as_operator(self, tenant_id: str, admin_token: str) -> Session:
        return Session(
            csrf=secrets.token_urlsafe(32),
            role="operator",
            tenant_id=tenant_id,
            operator=token_digest(admin_token),
        )

    def with_csrf(self, token: str) -> Session:
        return replace(self, csrf=token)

    def csrf_matches(self, sent: str | None) -> bool:
        return sent is not None and constant_time_equal(sent, self.csrf)


def token_digest(token: str) -> str:
    """What an operator session remembers of the admin token: enough to notice it changed, useless to an attacker
    who reads a cookie (the cookie is encrypted as well)."""
    return hmac.new(b"switchboard-console-operator", token.encode(), hashlib.sha256).hexdigest()


def derived_key(secret: str, *, purpose: str) -> str:
    """A Fernet key of its own for ``purpose``, derived from another secret with HKDF (the secret itself never
    seals cookies, and knowing a derived key tells nothing about it)."""
    material = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(material).decode()


class SessionCodec:
    """Seals and opens session cookies with the console's Fernet key."""

    def __init__(self, key: str, ttl_s: int) -> None:
        self._fernet = Fernet(key.encode())
        self.ttl_s = ttl_s

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def seal(self, session: Session) -> str:
        return self._fernet.encrypt(json.dumps(asdict(session)).encode()).decode()

    def open(self, cookie: str | None) -> Session | None:
        """The session, or None when the cookie is missing, forged, sealed with another key or expired."""
        if not cookie:
            return None
        try:
            data: dict[str, Any] = json.loads(self._fernet.decrypt(cookie.encode(), ttl=self.ttl_s))
            return Session(**data)
        except (InvalidToken, ValueError, TypeError):
            return None
