"""What every ingress route shares: bounded body reading, bearer tokens, and the integration lookup.

Bodies are decoded by ``switchboard_platform.http.parse_json_body`` (the shared bounded decoder)."""

from __future__ import annotations

from fastapi import Request

from switchboard_ingress.domain.directory import Directory, Integration
from switchboard_platform.http import ApiError


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing more than ``limit`` bytes with 413 before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "payload_too_large", f"request body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "payload_too_large", f"request body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def active_integration(directory: Directory, integration_id: str, provider: str | None = None) -> Integration:
    """The integration a URL names: 404 when unknown (or of another provider), 403 when switched off."""
    integration = directory.integration(integration_id)
    if integration is None or (provider is not None and integration.provider != provider):
        raise ApiError(404, "integration_not_found", "no such integration")
    if not integration.is_active:
        raise ApiError(403, "integration_inactive", "the integration is not active")
    return integration
