"""Which network addresses Switchboard may send webhooks to (SSRF protection).

The registry checks a URL when it is configured (``check_endpoint_url``); the dispatcher checks again on every
attempt, against the addresses it is about to connect to (DNS can change between the two). The AI responder
checks a tenant's LLM base URL the same way, naming it as the ``target`` in the error. Classification is pure:
it never connects anywhere. Resolution goes through an injectable resolver so tests map names to loopback
without DNS.

Public is an allow-list — global unicast, minus the special-purpose ranges inside it — so a range nobody listed
(IPv6 site-local ``fec0::/10`` was one) is refused by default; the refusal names the address's category.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from switchboard_platform.http import ApiError, ApiWarning

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressKind(StrEnum):
    PUBLIC = "public"
    LOOPBACK = "loopback"
    PRIVATE = "private"  # RFC 1918, IPv6 unique-local (fc00::/7) and site-local (fec0::/10)
    LINK_LOCAL = "link-local"  # 169.254.0.0/16, fe80::/10
    METADATA = "metadata"  # cloud instance-metadata endpoints
    CGNAT = "cgnat"  # 100.64.0.0/10 shared address space
    RESERVED = (
        "reserved"  # everything else that is not global unicast: unspecified, multicast, documentation …
    )


# Instance-metadata services answer on link-local or special addresses; name them so the error is explicit.
_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "169.254.169.123", "100.100.100.200", "fd00:ec2::254")
)


def _table(*rows: tuple[str, AddressKind]) -> tuple[tuple[IPNetwork, AddressKind], ...]:
    return tuple((ipaddress.ip_network(network), kind) for network, kind in rows)


# The categories a refusal names. Anything not listed here and not on the allow-list below is RESERVED.
_IPV4_KINDS = _table(
    ("127.0.0.0/8", AddressKind.LOOPBACK),
    ("169.254.0.0/16", AddressKind.LINK_LOCAL),
    ("100.64.0.0/10", AddressKind.CGNAT),
    ("10.0.0.0/8", AddressKind.PRIVATE),
    ("172.16.0.0/12", AddressKind.PRIVATE),
    ("192.168.0.0/16", AddressKind.PRIVATE),
)
_IPV6_KINDS = _table(
    ("::1/128", AddressKind.LOOPBACK),
    ("fe80::/10", AddressKind.LINK_LOCAL),
    ("fc00::/7", AddressKind.PRIVATE),  # unique-local
    ("fec0::/10", AddressKind.PRIVATE),  # site-local: deprecated (RFC 3879), still routed on some networks
    ("64:ff9b:1::/48", AddressKind.PRIVATE),  # NAT64 for local use (RFC 8215)
)

# The allow-list of what is public. IPv4: what Python's ``ipaddress`` calls global, minus what it lets through
# but is no endpoint (Python's list differs between versions, so the special ranges are spelled out here).
_IPV4_NOT_PUBLIC = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",  # "this network"
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation (TEST-NET-1)
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation (TEST-NET-2)
        "203.0.113.0/24",  # documentation (TEST-NET-3)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the limited broadcast address
    )
)
# IPv6: only global unicast (2000::/3), minus the IANA special-purpose entries in it that are not globally
# reachable. The embedded-IPv4 forms (6to4, Teredo) are judged by their IPv4 before this is consulted.
_IPV6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
_IPV6_NOT_PUBLIC = tuple(
    ipaddress.ip_network(network)
    for network in (
        "2001::/23",  # IETF protocol assignments: Teredo, benchmarking, ORCHID, anycast services
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d
_TEREDO = ipaddress.ip_network("2001::/32")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries and would reach (mapped, compatible, NAT64, 6to4, Teredo)."""
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return [low32]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address in _TEREDO and address.teredo is not None:
        server, client = address.teredo
        return [client, server]
    return []


def _unscoped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        return ipaddress.IPv6Address(int(address))
    return address


def classify(address: IPAddress) -> AddressKind:
    """The kind of ``address``. PUBLIC only for what is on the allow-list (global unicast); addresses that
    embed an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) are judged by the IPv4 inside."""
    address = _unscoped(address)
    if address in _METADATA:
        return AddressKind.METADATA
    if isinstance(address, ipaddress.IPv6Address):
        if not address.is_unspecified and not address.is_loopback:
            embedded = [classify(inner) for inner in _embedded_ipv4(address)]
            if embedded:
                return next((kind for kind in embedded if kind is not AddressKind.PUBLIC), AddressKind.PUBLIC)
        kinds, public = (
            _IPV6_KINDS,
            (address in _IPV6_GLOBAL_UNICAST and not any(address in net for net in _IPV6_NOT_PUBLIC)),
        )
    else:
        kinds, public = (
            _IPV4_KINDS,
            (address.is_global and not any(address in net for net in _IPV4_NOT_PUBLIC)),
        )
    for network, kind in kinds:
        if address in network:
            return kind
    return AddressKind.PUBLIC if public else AddressKind.RESERVED


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


#: The warning code of a URL whose host does not resolve from the checking service.
UNRESOLVED_HOST = "unresolved_host"


@dataclass(frozen=True)
class CheckedUrl:
    """A URL that may be configured, stripped, with what the client should be told about it."""

    url: str
    warnings: tuple[ApiWarning, ...] = ()


async def check_endpoint_url(
    url: str,
    *,
    field: str,
    allow_http: bool,
    policy: AddressPolicy,
    resolver: Resolver,
    target: str = WEBHOOKS,
) -> CheckedUrl:
    """The URL (stripped) if ``target`` may be sent to it; otherwise a 422 ``invalid_url`` ApiError naming
    ``field`` and the reason.

    The URL must be absolute http(s) without credentials, and HTTPS unless ``allow_http``. Every address the
    host resolves to must be allowed by ``policy`` (no private, loopback, link-local or metadata targets
    unless the operator allowed them). A host that does not resolve from here is accepted with an
    ``unresolved_host`` warning: split-horizon DNS and names created after the endpoint are real, and the
    sender checks every address it resolves to at connect time anyway. Nothing is connected to.
    """
    try:
        _, host, port = parse_webhook_url(url, allow_http=allow_http)
        await resolve_checked(host, port, policy, resolver, target=target)
    except UnresolvableHost as exc:
        message = (
            f"{field}: {exc} from here; accepted anyway: every address it resolves to is checked when it is "
            "used, and refused if not allowed"
        )
        return CheckedUrl(url.strip(), (ApiWarning(code=UNRESOLVED_HOST, message=message, field=field),))
    except (InvalidUrl, BlockedAddress) as exc:
        raise ApiError(422, "invalid_url", f"{field}: {exc}", field=field) from None
    return CheckedUrl(url.strip())


def overriding_resolver(overrides: dict[str, str], fallback: Resolver = system_resolver) -> Resolver:
    """A resolver answering ``overrides`` (host → address, like curl's ``--resolve``) before DNS. The answer is
    still classified, so mapping a name to loopback needs a policy that allows loopback.

    The host ``*`` answers every name not listed, so nothing is asked of DNS at all: a test stack that is sent
    generated host names (the fuzzer's) sends no query off the machine."""
    table = {host.lower().rstrip("."): ipaddress.ip_address(address) for host, address in overrides.items()}
    every = table.pop("*", None)

    async def resolve(host: str, port: int) -> Sequence[IPAddress]:
        address = table.get(host.lower().rstrip("."), every)
        return [address] if address is not None else await fallback(host, port)

    return resolve
