"""The HTTP senders: pyreqwest (the default) and aiohttp, both with SSRF checks before any connection.

``ReqwestSender`` (pyreqwest: Rust reqwest on its own Tokio thread) is the dispatcher's sender since issue #15:
in ``bench/dispatch`` it costs about half of aiohttp's CPU per request (49-59 µs against 103-130 µs at
concurrency 32) and the dispatcher 15-27 % less CPU per delivery. ``AiohttpSender`` is the sender before it,
kept behind ``SB_DISPATCHER_HTTP_CLIENT=aiohttp``. Why not httpx's API: its client layer costs about 3.5x what
aiohttp costs for the whole request (bench/README.md).

Cookies are never kept: a cookie set by one endpoint must not be sent to another endpoint, possibly another
tenant's, on the same host. Redirects are never followed; response bodies are read up to
``RESPONSE_BODY_LIMIT`` and never decompressed; one total timeout covers the whole exchange.

SSRF: the connection goes to exactly an address that was checked, so a DNS answer cannot change between check
and connect. aiohttp's connector resolves names through ``CheckingResolver``, which classifies every address
and returns only checked ones (no DNS cache: every new connection re-checks); IP-literal URLs skip resolvers
in aiohttp, so they are checked before the request. reqwest has no resolver callback, so ``ReqwestSender``
pins each host to a checked address (see its docstring).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Literal, Protocol
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import ConnectError, DecodeError, ReadError, WriteError
from pyreqwest.response import ResponseBodyReader

from switchboard_shared.events import ErrorKind
from switchboard_shared.netsafety import (
    AddressPolicy,
    BlockedAddress,
    IPAddress,
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
    #: Case-insensitive (aiohttp's CIMultiDictProxy).
    headers: Mapping[str, str]
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
        if isinstance(item, TimeoutError | aiohttp.ServerTimeoutError):
            return "timeout", "timed out"
        if isinstance(item, ssl.SSLError | aiohttp.ClientSSLError):
            return "tls", f"TLS error: {type(item).__name__}"
        if isinstance(item, ConnectError) and _mentions_tls(item):
            return "tls", "TLS error: certificate or handshake"
        if isinstance(item, aiohttp.ClientConnectorDNSError | socket.gaierror):
            return "dns", "name resolution failed"
        if isinstance(item, aiohttp.ClientConnectorError | ConnectionError | ConnectError):
            return "connect", f"connection failed: {type(item).__name__}"
        if isinstance(
            item,
            aiohttp.ClientPayloadError
            | aiohttp.ServerDisconnectedError
            | ReadError
            | WriteError
            | DecodeError,
        ):
            return "protocol", f"protocol error: {type(item).__name__}"
    return "other", type(exc).__name__


class HttpSender(Protocol):
    """What the engine needs from a sender: one request, answered by a Response or a classified SendError."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def send(
        self, url: str, body: bytes, headers: dict[str, str], timeout_s: float, method: str = "POST"
    ) -> Response: ...


HttpClient = Literal["reqwest", "aiohttp"]


def make_sender(
    client: HttpClient,
    policy: AddressPolicy,
    resolver: Resolver = system_resolver,
    *,
    max_connections: int = 512,
) -> HttpSender:
    if client == "aiohttp":
        return AiohttpSender(policy, resolver, max_connections=max_connections)
    return ReqwestSender(policy, resolver, max_connections=max_connections)


def _mentions_tls(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(word in text for word in ("certificate", "tls", "ssl", "handshake"))


class AiohttpSender:
    """The sender before issue #15: aiohttp with the SSRF-checking resolver (``SB_DISPATCHER_HTTP_CLIENT=aiohttp``)."""

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
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            resolver=CheckingResolver(self.policy, self.resolver),
            use_dns_cache=False,
            limit=self.max_connections,
            limit_per_host=self.max_per_host,
            enable_cleanup_closed=True,
        )
        self._session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(
        self, url: str, body: bytes, headers: dict[str, str], timeout_s: float, method: str = "POST"
    ) -> Response:
        """Send ``body``; a Response for any HTTP answer, SendError for everything else (with its kind)."""
        if self._session is None:
            raise RuntimeError("start() was not awaited")
        started = time.perf_counter()
        timeout = self._timeouts.get(timeout_s)
        if timeout is None:
            # The whole exchange, connection and body read included (aiohttp's own timer: no second one).
            timeout = self._timeouts[timeout_s] = aiohttp.ClientTimeout(total=timeout_s)
        try:
            literal = _ip_literal_host(url)
            if literal is not None:
                await resolve_checked(literal, 0, self.policy, self.resolver)
            async with self._session.request(
                method, url, data=body, headers=headers, allow_redirects=False, timeout=timeout
            ) as response:
                preview = await response.content.read(RESPONSE_BODY_LIMIT)
                status = response.status
                answer_headers = response.headers
        except Exception as exc:  # every failure becomes a classified attempt, never an unhandled error
            kind, message = classify_error(exc)
            raise SendError(kind, message, (time.perf_counter() - started) * 1000) from exc
        return Response(
            status=status,
            headers=answer_headers,
            body=preview.decode("utf-8", "replace"),
            latency_ms=(time.perf_counter() - started) * 1000,
        )


@lru_cache(maxsize=4096)
def _ip_literal_host(url: str) -> str | None:
    """The URL's host when it is an IP literal (aiohttp connects to those without a resolver), else None."""
    host = urlsplit(url).hostname or ""
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host.strip("[]"))
    except OSError:
        return None
    return host


class ReqwestSender:
    """The dispatcher's sender: pyreqwest (Rust reqwest, on its own Tokio thread). Measured in
    ``bench/dispatch`` (issue #15): about half of aiohttp's CPU per request, and less CPU per delivery.

    SSRF: reqwest takes no resolver callback, only static name → address mappings fixed when a client is built.
    So there is one client per (scheme, host, port), built with the host mapped to an address that
    ``resolve_checked`` has just allowed: every connection goes to that address while the request carries the
    original Host header and TLS SNI. The check is repeated every ``recheck_s``; a client whose address is no
    longer among the allowed answers is replaced (and closed once its requests can have finished). One pinned
    address per host: no fallback to a host's other addresses within ``recheck_s``.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver = system_resolver,
        *,
        max_connections: int = 512,
        max_per_host: int = 100,
        recheck_s: float = 30.0,
        max_clients: int = 1024,
    ) -> None:
        self.policy = policy
        self.resolver = resolver
        self.max_connections = max_connections
        self.max_per_host = max_per_host
        self.recheck_s = recheck_s
        #: Clients kept, one per origin, the most recently checked last; past this many the least recently
        #: checked is closed (it is built again, checked again, when its origin is next delivered to).
        self.max_clients = max_clients
        self._clients: dict[tuple[str, str, int], _Pinned] = {}
        self._timeouts: dict[float, timedelta] = {}
        self._retiring: set[asyncio.Task[None]] = set()
        #: Requests in flight across every host (aiohttp's connector limit did this for AiohttpSender).
        self._slots = asyncio.Semaphore(max_connections)
        self._started = False

    async def start(self) -> None:
        self._started = True

    async def close(self) -> None:
        self._started = False
        clients, self._clients = list(self._clients.values()), {}
        for pinned in clients:
            await pinned.client.close()
        for task in list(self._retiring):
            task.cancel()

    async def send(
        self, url: str, body: bytes, headers: dict[str, str], timeout_s: float, method: str = "POST"
    ) -> Response:
        """Send ``body``; a Response for any HTTP answer, SendError for everything else (with its kind)."""
        if not self._started:
            raise RuntimeError("start() was not awaited")
        started = time.perf_counter()
        timeout = self._timeouts.get(timeout_s)
        if timeout is None:
            timeout = self._timeouts[timeout_s] = timedelta(seconds=timeout_s)
        try:
            client = await self._client_for(url)
            request = client.request(method, url).headers(headers).body_bytes(body).timeout(timeout)
            async with self._slots, request.build_streamed() as response:
                preview = await _read_prefix(response.body_reader, RESPONSE_BODY_LIMIT)
                status = response.status
                answer_headers = response.headers
        except Exception as exc:  # every failure becomes a classified attempt, never an unhandled error
            kind, message = classify_error(exc)
            raise SendError(kind, message, (time.perf_counter() - started) * 1000) from exc
        return Response(
            status=status,
            headers=answer_headers,
            body=preview.decode("utf-8", "replace"),
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    async def _client_for(self, url: str) -> Client:
        key = _origin(url)
        pinned = self._clients.get(key)
        now = time.monotonic()
        if pinned is not None and now < pinned.checked_until:
            return pinned.client
        _scheme, host, port = key
        allowed = await resolve_checked(host, port, self.policy, self.resolver)
        pinned = self._clients.get(key)  # another send may have pinned it meanwhile
        if pinned is not None and pinned.address in allowed:
            pinned.checked_until = now + self.recheck_s
            self._clients[key] = self._clients.pop(key)  # most recently checked last
            return pinned.client
        address = allowed[0]
        builder = (
            ClientBuilder()
            .follow_redirects(False)
            .no_proxy()
            .gzip(False)
            .brotli(False)
            .zstd(False)
            .deflate(False)
            .referer(False)
            .max_connections(self.max_per_host)
            .pool_max_idle_per_host(self.max_per_host)
        )
        if _ip_literal_host(url) is None:
            builder = builder.resolve(host, str(address), port)
        if pinned is not None:
            self._retire(self._clients.pop(key).client)
        while len(self._clients) >= self.max_clients:
            self._retire(self._clients.pop(next(iter(self._clients))).client)
        self._clients[key] = fresh = _Pinned(builder.build(), address, now + self.recheck_s)
        return fresh.client

    def _retire(self, client: Client) -> None:
        async def close_later() -> None:
            await asyncio.sleep(max(self._timeouts, default=30.0) + 5.0)
            await client.close()

        task = asyncio.get_running_loop().create_task(close_later())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)


@dataclass
class _Pinned:
    client: Client
    address: IPAddress
    checked_until: float


async def _read_prefix(reader: ResponseBodyReader, limit: int) -> bytes:
    preview = bytearray()
    while len(preview) < limit:
        chunk = await reader.read(limit - len(preview))
        if chunk is None:
            break
        preview += chunk
    return bytes(preview[:limit])


@lru_cache(maxsize=4096)
def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname or "", port


def policy_from(allow_loopback: bool, allow_private: bool) -> AddressPolicy:
    return AddressPolicy(allow_loopback=allow_loopback, allow_private=allow_private)
