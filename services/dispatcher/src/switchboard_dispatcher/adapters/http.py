"""The HTTP sender: httpx's API over the ``httpx-aiohttp`` transport, with SSRF checks at connect time.

Why this transport: measured on this machine kind, plain httpx's transport tops out near 800 req/s and falls
to ~270 req/s at 64 concurrent requests; aiohttp's connection pool carries ~6,500 req/s. ``httpx-aiohttp``
keeps httpx's request/response API over aiohttp's pool.

SSRF: the aiohttp connector resolves names through ``CheckingResolver``, which classifies every address and
returns only checked ones — the connection goes to exactly the address that was checked, so a DNS answer
cannot change between check and connect. IP-literal URLs skip resolvers in aiohttp, so they are checked
before the request. Redirects are never followed. The DNS cache is off, so every new connection re-checks.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from httpx_aiohttp import AiohttpTransport

from switchboard_shared.events import ErrorKind
from switchboard_shared.netsafety import (
    AddressPolicy,
    BlockedAddress,
    Resolver,
    UnresolvableHost,
    resolve_checked,
    system_resolver,
)

RESPONSE_BODY_LIMIT = 4096


class CheckingResolver(AbstractResolver):
    def __init__(self, policy: AddressPolicy, resolver: Resolver = system_resolver) -> None:
        self.policy = policy
        self.resolver = resolver

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await resolve_checked(host, port, self.policy, self.resolver)
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: str
    latency_ms: float


class SendError(Exception):
    def __init__(self, kind: ErrorKind, message: str, latency_ms: float) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.latency_ms = latency_ms


def _cause_chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def classify_error(exc: BaseException) -> tuple[ErrorKind, str]:
    chain = _cause_chain(exc)
    for item in chain:
        if isinstance(item, BlockedAddress):
            return "ssrf_blocked", str(item)
        if isinstance(item, UnresolvableHost):
            return "dns", str(item)
    for item in chain:
        if isinstance(item, TimeoutError | httpx.TimeoutException | aiohttp.ServerTimeoutError):
            return "timeout", "timed out"
        if isinstance(item, ssl.SSLError | aiohttp.ClientSSLError):
            return "tls", f"TLS error: {type(item).__name__}"
        if isinstance(item, aiohttp.ClientConnectorDNSError | socket.gaierror):
            return "dns", "name resolution failed"
        if isinstance(item, aiohttp.ClientConnectorError | ConnectionError | httpx.ConnectError):
            return "connect", f"connection failed: {type(item).__name__}"
        if isinstance(
            item, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError | httpx.ProtocolError
        ):
            return "protocol", f"protocol error: {type(item).__name__}"
    return "other", type(exc).__name__


class HttpSender:
    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver = system_resolver,
        *,
        max_connections: int = 512,
        max_per_host: int = 100,
    ) -> None:
        self.policy = policy
        self.resolver = resolver
        self.max_connections = max_connections
        self.max_per_host = max_per_host
        self._client: httpx.AsyncClient | None = None

    def _session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            resolver=CheckingResolver(self.policy, self.resolver),
            use_dns_cache=False,
            limit=self.max_connections,
            limit_per_host=self.max_per_host,
            enable_cleanup_closed=True,
        )
        return aiohttp.ClientSession(connector=connector, auto_decompress=False)

    async def start(self) -> None:
        transport = AiohttpTransport(client=self._session)
        self._client = httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(
        self, url: str, body: bytes, headers: dict[str, str], timeout_s: float, method: str = "POST"
    ) -> Response:
        """POST ``body``; a Response for any HTTP answer, SendError for everything else (with its kind)."""
        if self._client is None:
            raise RuntimeError("HttpSender.start() was not awaited")
        started = time.perf_counter()
        try:
            host = urlsplit(url).hostname or ""
            if host and _is_ip_literal(host):
                await resolve_checked(host, 0, self.policy, self.resolver)
            async with asyncio.timeout(timeout_s):
                request = self._client.build_request(
                    "POST", url, content=body, headers=headers, timeout=httpx.Timeout(timeout_s)
                )
                response = await self._client.send(request, stream=True)
                try:
                    preview = await _read_prefix(response)
                finally:
                    await response.aclose()
        except Exception as exc:  # every failure becomes a classified attempt, never an unhandled error
            kind, message = classify_error(exc)
            raise SendError(kind, message, (time.perf_counter() - started) * 1000) from exc
        return Response(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=preview,
            latency_ms=(time.perf_counter() - started) * 1000,
        )


def _is_ip_literal(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host.strip("[]"))
    except OSError:
        return False
    return True


async def _read_prefix(response: httpx.Response) -> str:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= RESPONSE_BODY_LIMIT:
            break
    return b"".join(chunks)[:RESPONSE_BODY_LIMIT].decode("utf-8", "replace")


def policy_from(allow_loopback: bool, allow_private: bool) -> AddressPolicy:
    return AddressPolicy(allow_loopback=allow_loopback, allow_private=allow_private)
