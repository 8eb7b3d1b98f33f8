"""The HTTP sender: one POST (or a partner API's PUT/PATCH), its answer read up to 4 KiB, under one timeout.

Connections are ``wire.ConnectionPool``'s: HTTP/1.1 written directly and answers parsed by llhttp
(``httptools``). The sender has used httpx over httpx-aiohttp, then aiohttp directly, each dropped when the
dispatcher benchmark showed its client layer to be the largest cost of a delivery (bench/README.md; ADR 0013).

Cookies are never kept (a cookie set by one endpoint must not reach another, possibly another tenant's, on
the same host); redirects are answers, never followed; no proxy is taken from the environment; nothing is
decompressed. Decisions about the address are ``wire``'s: a new connection goes only to an address
``resolve_checked`` has just allowed.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass

from switchboard_contracts.events import ErrorKind
from switchboard_dispatcher.adapters.wire import (
    ConnectionPool,
    InvalidRequest,
    ProtocolError,
    ServerDisconnected,
    origin_of,
)
from switchboard_platform import telemetry
from switchboard_platform.netsafety import (
    AddressPolicy,
    BlockedAddress,
    Resolver,
    UnresolvableHost,
    system_resolver,
)

RESPONSE_BODY_LIMIT = 4096
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Response:
    status: int
    #: Case-insensitive (a CIMultiDictProxy).
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
        if isinstance(item, TimeoutError):
            return "timeout", "timed out"
        if isinstance(item, ssl.SSLError | ssl.CertificateError):
            return "tls", f"TLS error: {type(item).__name__}"
        if isinstance(item, socket.gaierror):
            return "dns", "name resolution failed"
        if isinstance(item, ProtocolError | ServerDisconnected):
            return "protocol", f"protocol error: {item}"
        if isinstance(item, InvalidRequest):
            return "other", f"request not sent: {item}"
        if isinstance(item, OSError):  # refused, reset, unreachable
            return "connect", f"connection failed: {type(item).__name__}"
    return "other", type(exc).__name__


class HttpSender:
    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver = system_resolver,
        *,
        max_connections: int = 512,
        max_per_host: int = 100,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """``tls``: the context HTTPS connections are made with (default: the system's trust store)."""
        self._pool: ConnectionPool | None = ConnectionPool(
            policy,
            resolver,
            max_connections=max_connections,
            max_per_host=max_per_host,
            body_limit=RESPONSE_BODY_LIMIT,
            tls=tls,
        )

    async def start(self) -> None:
        """Nothing to open ahead: connections are made by the first request to each origin."""

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    async def send(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float, method: str = "POST"
    ) -> Response:
        """Send ``body``; a Response for any HTTP answer, SendError for everything else (with its kind)."""
        pool = self._pool
        if pool is None:
            raise RuntimeError("HttpSender is closed")
        started = time.perf_counter()
        with telemetry.http_request(method, url) as span:
            try:
                # The whole exchange: waiting for a slot, connecting, writing, reading the answer.
                async with asyncio.timeout(timeout_s):
                    answer = await pool.request(origin_of(url), method, headers, body)
            except Exception as exc:  # every failure becomes a classified attempt, never an unhandled error
                kind, message = classify_error(exc)
                telemetry.record_error(span, kind)
                raise SendError(kind, message, (time.perf_counter() - started) * 1000) from exc
            telemetry.record_status(span, answer.status)
            latency_ms = (time.perf_counter() - started) * 1000
            # Never the URL: webhook URLs can hold secrets. The delivery's ids come from the attempt's scope.
            log.debug("HTTP %s answered %d in %.1f ms", method, answer.status, latency_ms)
        return Response(
            status=answer.status,
            headers=answer.headers,
            body=answer.body.decode("utf-8", "replace"),
            latency_ms=latency_ms,
        )


def policy_from(allow_loopback: bool, allow_private: bool) -> AddressPolicy:
    return AddressPolicy(allow_loopback=allow_loopback, allow_private=allow_private)
