"""Checking endpoint URLs when they are configured (the dispatcher checks again at delivery time)."""

from __future__ import annotations

from switchboard_platform import netsafety
from switchboard_platform.netsafety import AddressPolicy, CheckedUrl, Resolver


async def check_endpoint_url(
    url: str, *, field: str, development_mode: bool, policy: AddressPolicy, resolver: Resolver
) -> CheckedUrl:
    """The URL (stripped, with warnings) if it may receive webhooks; otherwise a 422 naming ``field`` and the
    reason.

    HTTPS is required unless the tenant is in development mode; the rest is ``netsafety.check_endpoint_url``
    (every address the host resolves to must be allowed by ``policy``; a host that does not resolve from
    here is accepted with a warning; nothing is connected to).
    """
    return await netsafety.check_endpoint_url(
        url, field=field, allow_http=development_mode, policy=policy, resolver=resolver
    )
