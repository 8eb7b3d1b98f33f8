"""Which network addresses Switchboard may send webhooks to (SSRF protection).

The registry checks a URL when it is configured (``check_endpoint_url``); the dispatcher checks again on every
attempt, against the addresses it is about to connect to (DNS can change between the two). The AI responder
checks a tenant's LLM base URL the same way, naming it as the ``target`` in the error. Classification is pure:
it never connects anywhere. Resolution goes through an injectable resolver so tests map names to loopback
without DNS.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from switchboard_shared.http import ApiError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressKind(StrEnum):
    PUBLIC = "public"
    LOOPBACK = "loopback"
    PRIVATE = "private"  # RFC 1918, IPv6 unique-local (fc00::/7)
    LINK_LOCAL = "link-local"  # 169.254.0.0/16, fe80::/10
    METADATA = "metadata"  # cloud instance-metadata endpoints
    CGNAT = "cgnat"  # 100.64.0.0/10 shared address space
    RESERVED = "reserved"  # unspecified, multicast, documentation, benchmarking, 0.0.0.0/8, 240/4 …


# Instance-metadata services answer on link-local or special addresses; name them so the error is explicit.
_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "169.254.169.123", "100.100.100.200", "fd00:ec2::254")
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_ULA = ipaddress.ip_network("fc00::/7")


def classify(address: IPAddress) -> AddressKind:
    """The kind of ``address``; IPv4-mapped and 6to4/NAT64-embedded IPv4 are judged by the IPv4 inside."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in ipaddress.ip_network("64:ff9b::/96"):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return classify(embedded)
    if address in _METADATA:
        return AddressKind.METADATA
    if address.is_loopback:
        return AddressKind.LOOPBACK
    if address.is_link_local:
        return AddressKind.LINK_LOCAL
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return AddressKind.CGNAT
    if isinstance(address, ipaddress.IPv6Address) and address in _ULA:
        return AddressKind.PRIVATE
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return AddressKind.RESERVED
    if address.is_private:
        # is_private also covers documentation, benchmarking and 0.0.0.0/8 ranges: none is a real endpoint.
        rfc1918 = any(
            address in ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
        )
        return AddressKind.PRIVATE if rfc1918 else AddressKind.RESERVED
    if not address.is_global:
        return AddressKind.RESERVED
    return AddressKind.PUBLIC


@dataclass(frozen=True)
class AddressPolicy:
    """What may be reached besides public addresses. Metadata and reserved addresses are never allowed."""

    allow_loopback: bool = False
    allow_private: bool = False

    def allows(self, kind: AddressKind) -> bool:
        if kind is AddressKind.PUBLIC:
            return True
        if kind is AddressKind.LOOPBACK:
            return self.allow_loopback
        if kind in (AddressKind.PRIVATE, AddressKind.CGNAT, AddressKind.LINK_LOCAL):
            return self.allow_private
        return False


#: What the checked URLs are, as the errors name them ("… which webhooks may not target").
WEBHOOKS = "webhooks"


class BlockedAddress(ValueError):
    def __init__(self, host: str, address: IPAddress, kind: AddressKind, target: str = WEBHOOKS) -> None:
        super().__init__(f"{host} resolves to a {kind} address ({address}), which {target} may not target")
        self.host = host
        self.address = address
        self.kind = kind


class UnresolvableHost(ValueError):
    pass


Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]


async def system_resolver(host: str, port: int) -> Sequence[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0]) for info in infos]


async def resolve_checked(
    host: str,
    port: int,
    policy: AddressPolicy,
    resolver: Resolver = system_resolver,
    *,
    target: str = WEBHOOKS,
) -> list[IPAddress]:
    """Every address ``host`` resolves to, refusing the lot if any one is not allowed (no partial answers:
    a name that resolves to one public and one private address is a rebinding attempt). ``target`` names what
    the URL is for in the refusal."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        addresses: Sequence[IPAddress] = [literal]
    else:
        try:
            addresses = await resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise UnresolvableHost(f"{host} does not resolve") from exc
        if not addresses:
            raise UnresolvableHost(f"{host} does not resolve")
    for address in addresses:
        kind = classify(address)
        if not policy.allows(kind):
            raise BlockedAddress(host, address, kind, target)
    return list(dict.fromkeys(addresses))


class InvalidUrl(ValueError):
    pass


def parse_webhook_url(url: str, *, allow_http: bool) -> tuple[str, str, int]:
    """(scheme, host, port) of an absolute http(s) URL without credentials; InvalidUrl says what is wrong."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidUrl(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("https", "http"):
        raise InvalidUrl("URL must start with https://")
    if parts.scheme == "http" and not allow_http:
        raise InvalidUrl("URL must use HTTPS (plain http is allowed only for tenants in development mode)")
    if not parts.hostname:
        raise InvalidUrl("URL has no host")
    if parts.username or parts.password:
        raise InvalidUrl("URL must not carry credentials; use custom headers or the integration's auth token")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def check_endpoint_url(
    url: str,
    *,
    field: str,
    allow_http: bool,
    policy: AddressPolicy,
    resolver: Resolver,
    target: str = WEBHOOKS,
) -> str:
    """Return ``url`` (stripped) if ``target`` may be sent to it; otherwise a 422 ``invalid_url`` ApiError naming
    ``field`` and the reason.

    The URL must be absolute http(s) without credentials, and HTTPS unless ``allow_http``. The host must
    resolve, and every address it resolves to must be allowed by ``policy`` (no private, loopback, link-local
    or metadata targets unless the operator allowed them). Nothing is connected to.
    """
    try:
        _, host, port = parse_webhook_url(url, allow_http=allow_http)
        await resolve_checked(host, port, policy, resolver, target=target)
    except (InvalidUrl, BlockedAddress, UnresolvableHost) as exc:
        raise ApiError(422, "invalid_url", f"{field}: {exc}", field=field) from None
    return url.strip()


def overriding_resolver(overrides: dict[str, str], fallback: Resolver = system_resolver) -> Resolver:
    """A resolver answering ``overrides`` (host → address, like curl's ``--resolve``) before DNS. The answer is
    still classified, so mapping a name to loopback needs a policy that allows loopback."""
    table = {host.lower().rstrip("."): ipaddress.ip_address(address) for host, address in overrides.items()}

    async def resolve(host: str, port: int) -> Sequence[IPAddress]:
        address = table.get(host.lower().rstrip("."))
        return [address] if address is not None else await fallback(host, port)

    return resolve
