"""A candidate sender evaluated for issue #15 and not adopted: pyreqwest behind ``HttpSender``'s interface.

In the benchmark's client loop pyreqwest costs about half of aiohttp's CPU per request, and this sender keeps
the SSRF guarantee (below). In the dispatcher as a whole it was not clearly faster (bench/README.md: the same
CPU per delivery on a quiet machine), so the dispatcher keeps aiohttp; this stays here so the comparison can
be repeated: ``bench.dispatch.run --app bench.dispatch.reqwest_sender:create_app`` runs the dispatcher with it,
and ``--clients sender-reqwest`` measures it alone.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from fastapi import FastAPI
from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import ConnectError, DecodeError, ReadError, WriteError
from pyreqwest.response import ResponseBodyReader

from switchboard_contracts.events import ErrorKind
from switchboard_dispatcher import main
from switchboard_dispatcher.adapters.http import (
    RESPONSE_BODY_LIMIT,
    Response,
    SendError,
    classify_error,
)
from switchboard_platform.netsafety import (
    AddressPolicy,
    IPAddress,
    Resolver,
    resolve_checked,
    system_resolver,
)


def classify_reqwest_error(exc: BaseException) -> tuple[ErrorKind, str]:
    """``classify_error``, plus pyreqwest's own connection, TLS and protocol errors (its timeouts are
    ``TimeoutError``s already)."""
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, ConnectError):
            text = str(current).lower()
            if any(word in text for word in ("certificate", "tls", "ssl", "handshake")):
                return "tls", "TLS error: certificate or handshake"
            return "connect", f"connection failed: {type(current).__name__}"
        if isinstance(current, ReadError | WriteError | DecodeError):
            return "protocol", f"protocol error: {type(current).__name__}"
        current = current.__cause__
    return classify_error(exc)


class ReqwestSender:
    """The dispatcher's ``HttpSender`` contract over pyreqwest (Rust reqwest, on its own Tokio thread).

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
            kind, message = classify_reqwest_error(exc)
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
        if _ip_literal_host(host) is None:
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


def create_app() -> FastAPI:
    """The dispatcher with ``ReqwestSender`` in place of the aiohttp ``HttpSender`` (for ``--app``)."""
    setattr(main, "HttpSender", ReqwestSender)  # noqa: B010 (the module attribute the factory reads)
    return main.create_app()


@lru_cache(maxsize=4096)
def _ip_literal_host(host: str) -> str | None:
    """``host`` when it is an IP literal (no name to map to the checked address), else None."""
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host.strip("[]"))
    except OSError:
        return None
    return host
