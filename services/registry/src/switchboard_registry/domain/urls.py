"""Checking endpoint URLs when they are configured (the dispatcher checks again at delivery time)."""

from __future__ import annotations

from switchboard_shared.http import ApiError
from switchboard_shared.netsafety import (
    AddressPolicy,
    BlockedAddress,
    InvalidUrl,
    Resolver,
    UnresolvableHost,
    parse_webhook_url,
    resolve_checked,
)


async def check_endpoint_url(
    url: str, *, field: str, development_mode: bool, policy: AddressPolicy, resolver: Resolver
) -> str:
    """Return ``url`` if it may receive webhooks; otherwise a 422 naming ``field`` and the reason.

    HTTPS is required unless the tenant is in development mode. The host must resolve, and every address it
    resolves to must be allowed by ``policy`` (no private, loopback, link-local or metadata targets unless the
    operator allowed them). Nothing is connected to.
    """
    try:
        _, host, port = parse_webhook_url(url, allow_http=development_mode)
        await resolve_checked(host, port, policy, resolver)
    except (InvalidUrl, BlockedAddress, UnresolvableHost) as exc:
        raise ApiError(422, "invalid_url", f"{field}: {exc}", field=field) from None
    return url.strip()
