"""HTTP/1.1 on asyncio protocols, answers parsed by llhttp (``httptools``): the connections under ``HttpSender``.

Why not a general client: a delivery is one request on a kept-alive connection and a bounded read of the
answer, nothing else — no redirects, cookies, proxies, decompression or streamed uploads. aiohttp's client
spends ~74 µs of CPU per such request on this machine (request and response objects, header multidicts, a
stream reader, the connector's bookkeeping), and in the dispatcher, CPU-bound on one event loop, that was the
largest single cost of a delivery. Writing the request's bytes and feeding the answer to llhttp (the parser
uvicorn uses, maintained with Node.js) costs ~44 µs in the same loop; the dispatcher's CPU per delivery fell
by a quarter (bench/README.md, ADR 0013).

SSRF: a new connection is opened only to an address ``resolve_checked`` has just allowed, so the socket goes to
exactly the checked address, and the URL's name is kept for the Host header and TLS (SNI and the certificate
check against the system's trust store). A connection is reused only for the same scheme, name and port.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urlsplit

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

from switchboard_platform.netsafety import (
    AddressPolicy,
    InvalidUrl,
    Resolver,
    parse_webhook_url,
    resolve_checked,
    system_resolver,
)

#: Idle connections are closed after this long, not reused (servers close theirs after 5-75 s; aiohttp: 15 s).
KEEPALIVE_S = 15.0
#: An answer's status line and headers may take this many bytes (aiohttp: 8 KiB a line, 32 KiB in all); a
#: peer sending more is cut off, so a hostile endpoint cannot grow the dispatcher's memory with headers.
MAX_HEAD_BYTES = 64 * 1024
#: Framing headers the client writes itself; a caller's value for any of them is ignored.
OWN_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "expect", "upgrade", "te"}
)
#: Answer headers that say where the body ends (so a connection closed before that end cut the answer short).
_FRAMING = frozenset({b"content-length", b"transfer-encoding"})
#: Characters that are not in an HTTP token (RFC 9110 §5.6.2), so never in a header name.
_NOT_TOKEN = frozenset('()<>@,;:\\"/[]?={} \t\r\n\0')
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_Key = tuple[str, str, int]


class ProtocolError(Exception):
    """The peer's answer is not HTTP/1.x this client reads (malformed, or an upgrade to another protocol)."""


class ServerDisconnected(ConnectionError):
    """The connection closed before a whole answer arrived."""


class InvalidRequest(ValueError):
    """A URL or header that cannot be sent as given (a header name that is not a token, a line break in a
    value, credentials in the URL): refused before anything is written."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a URL's requests go, and what their request line and Host header say."""

    key: _Key  # (scheme, host, port); the host in ASCII (IDNA), an IPv6 literal without brackets
    target: str  # path and query, percent-encoded
    host_header: str

    @property
    def scheme(self) -> str:
        return self.key[0]

    @property
    def host(self) -> str:
        return self.key[1]

    @property
    def port(self) -> int:
        return self.key[2]


@lru_cache(maxsize=4096)
def origin_of(url: str) -> Origin:
    """The origin and request target of an absolute http(s) URL (cached: webhook URLs repeat). What makes a URL
    one a webhook may have is ``netsafety.parse_webhook_url``'s, as when the endpoint was configured."""
    try:
        scheme, host, port = parse_webhook_url(url, allow_http=True)
    except InvalidUrl as exc:
        raise InvalidRequest(str(exc)) from None
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise InvalidRequest(f"host is not a valid name: {exc}") from None
    parts = urlsplit(url.strip())
    target = quote(parts.path or "/", safe=_PATH_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=_PATH_SAFE + "?")
    named = f"[{host}]" if ":" in host else host
    default_port = 443 if scheme == "https" else 80
    return Origin((scheme, host, port), target, named if port == default_port else f"{named}:{port}")


@lru_cache(maxsize=1024)
def _checked_name(name: str) -> bool:
    """Whether ``name`` is written by the caller: a token (raises otherwise), and not a framing header."""
    if not name or not name.isascii() or not _NOT_TOKEN.isdisjoint(name):
        raise InvalidRequest(f"invalid header name {name!r}")
    return name.lower() not in OWN_HEADERS


def encode_request(origin: Origin, method: str, headers: Mapping[str, str], body: bytes) -> bytes:
    """The request's bytes: request line, Host, the caller's headers, Content-Length, then the body."""
    lines = [f"{method} {origin.target} HTTP/1.1\r\nHost: {origin.host_header}\r\n"]
    for name, value in headers.items():
        if _checked_name(name):
            lines.append(f"{name}: {value}\r\n")
    lines.append(f"Content-Length: {len(body)}\r\n\r\n")
    head = "".join(lines)
    # One CR LF per header line, two in the first and the last part: any other CR or LF is in a value.
    if head.count("\r") != len(lines) + 2 or head.count("\n") != len(lines) + 2 or "\0" in head:
        raise InvalidRequest("a header value holds a line break or NUL")
    return head.encode("utf-8", "surrogateescape") + body


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]  # case-insensitive
    body: bytes  # at most the pool's body limit


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection, one exchange at a time; an answer's body is read up to ``body_limit`` bytes,
    and a connection whose answer was cut there is closed, never reused."""

    def __init__(self, body_limit: int) -> None:
        self.body_limit = body_limit
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Answer] | None = None
        self.closed = False
        self.reusable = False
        self.answered = False  # any byte of an answer arrived during the current exchange
        self.idle_since = 0.0
        self._status = 0
        self._headers: list[tuple[str, str]] = []
        self._body = bytearray()
        self._headers_done = False  # the current answer's status line and headers are in
        self._head_bytes = 0  # bytes received before they were
        self._framed = False  # the answer says where its body ends (Content-Length or Transfer-Encoding)

    # -- asyncio.Protocol --------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio.Transport

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            self.abort()  # bytes nobody asked for: the connection's framing can no longer be trusted
            return
        self.answered = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(ProtocolError("the server switched protocols"))
            return
        except httptools.HttpParserError as exc:
            self._fail(ProtocolError(f"malformed HTTP answer: {exc}"))
            return
        if not self._headers_done:  # counted only while the headers are still coming
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._fail(ProtocolError(f"the answer's headers exceed {MAX_HEAD_BYTES // 1024} KiB"))

    def eof_received(self) -> bool:
        return False  # the transport closes itself; connection_lost settles the exchange

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            if self._headers_done and exc is None and self._status >= 200 and not self._framed:
                self._settle(reusable=False)  # a body delimited by the end of the connection
            else:
                error = ServerDisconnected("the connection closed before a whole answer arrived")
                error.__cause__ = exc
                waiter.set_exception(error)

    # -- llhttp's callbacks ------------------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.waiter is None or self.waiter.done():
            self.abort()  # an answer nobody asked for (bytes after the answer): not reused
        self._begin()

    def _begin(self) -> None:
        self._status = 0
        self._headers = []
        self._body = bytearray()
        self._headers_done = False
        self._head_bytes = 0
        self._framed = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() in _FRAMING:
            # The answer says where its body ends, so a connection closed before that end cut it short.
            self._framed = True
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self._status = self.parser.get_status_code()
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        room = self.body_limit - len(self._body)
        if room > 0:
            self._body += body[:room]
        if len(self._body) >= self.body_limit:
            self._settle(reusable=False)  # enough is read; the rest never is, so the connection is closed

    def on_message_complete(self) -> None:
        if 100 <= self._status < 200:
            return  # an interim answer (100 Continue, 103 Early Hints); the final one follows
        self._settle(reusable=self.parser.should_keep_alive())

    # -- one exchange ------------------------------------------------------------------------------------------

    def exchange(self, request: bytes) -> asyncio.Future[Answer]:
        """Write ``request``; the future is the answer (or ServerDisconnected / ProtocolError)."""
        if self.transport is None or self.waiter is not None:
            raise RuntimeError("an exchange on a connection that is not connected, or busy")
        self.waiter = waiter = self.loop.create_future()
        self.answered = False
        self._begin()  # nothing of the previous answer counts for this one
        try:
            self.transport.write(request)
        except (OSError, RuntimeError) as exc:  # closed under us (uvloop raises on a closed handle)
            error = ServerDisconnected("the connection closed before the request was written")
            error.__cause__ = exc
            waiter.set_exception(error)
            self.abort()
        return waiter

    def _settle(self, *, reusable: bool) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        waiter.set_result(
            Answer(self._status, CIMultiDictProxy(CIMultiDict(self._headers)), bytes(self._body))
        )
        self.reusable = reusable and not self.closed
        if not self.reusable:
            self.abort()

    def _fail(self, exc: Exception) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.abort()

    def abort(self) -> None:
        """Close at once (no TLS close-notify): the connection is not used again."""
        self.reusable = False
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.abort()


class _HostSlots:
    """Requests in flight to one origin, and the requests waiting for one of its slots (oldest first)."""

    __slots__ = ("used", "waiters")

    def __init__(self) -> None:
        self.used = 0
        self.waiters: deque[asyncio.Future[None]] = deque()


class ConnectionPool:
    """Kept-alive connections per origin (scheme, host, port). At most ``max_connections`` requests in flight
    and ``max_per_host`` per origin, each on a connection of its own; as many idle connections are kept per
    origin, for ``KEEPALIVE_S`` at most."""

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver = system_resolver,
        *,
        max_connections: int,
        max_per_host: int,
        body_limit: int,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy
        self.resolver = resolver
        self.max_per_host = max_per_host
        self.body_limit = body_limit
        self._tls = tls
        self._in_flight = asyncio.Semaphore(max_connections)
        self._hosts: dict[_Key, _HostSlots] = {}
        self._idle: dict[_Key, deque[Connection]] = {}
        self._swept = time.monotonic()

    async def request(self, origin: Origin, method: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """One exchange. A kept-alive connection the server closed as the request went out (nothing of an
        answer arrived) is replaced by a new one, once: the request is sent again, with the same content."""
        request = encode_request(origin, method, headers, body)
        key = origin.key
        # The origin's slot first: a request waiting for a busy origin holds none of the slots other origins need.
        await self._take_slot(key)
        try:
            async with self._in_flight:
                connection = self._reuse(key)
                if connection is not None:
                    try:
                        return await self._exchange(key, connection, request)
                    except ServerDisconnected:
                        if connection.answered:
                            raise
                connection = await self._connect(origin)
                return await self._exchange(key, connection, request)
        finally:
            self._give_slot(key)

    async def _exchange(self, key: _Key, connection: Connection, request: bytes) -> Answer:
        try:
            answer = await connection.exchange(request)
        except BaseException:
            connection.abort()  # failed, timed out or cancelled mid-exchange: its framing is unknown
            raise
        connection.waiter = None
        if connection.reusable:
            self._keep(key, connection)
        return answer

    async def _take_slot(self, key: _Key) -> None:
        slots = self._hosts.get(key)
        if slots is None:
            slots = self._hosts[key] = _HostSlots()
        if slots.used < self.max_per_host:
            slots.used += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        slots.waiters.append(waiter)
        try:
            await waiter  # a finishing request hands its slot over
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._give_slot(key)  # handed over as this request was cancelled: pass it on
            else:
                slots.waiters.remove(waiter)
            raise

    def _give_slot(self, key: _Key) -> None:
        slots = self._hosts[key]
        while slots.waiters:
            waiter = slots.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        slots.used -= 1
        if not slots.used:
            del self._hosts[key]

    def _reuse(self, key: _Key) -> Connection | None:
        idle = self._idle.get(key)
        if idle is None:
            return None
        now = time.monotonic()
        while idle:
            connection = idle.pop()  # the most recently used: the least likely to have been closed
            if (
                not connection.closed
                and now - connection.idle_since < KEEPALIVE_S
                and connection.transport is not None
                and not connection.transport.is_closing()
            ):
                return connection
            connection.abort()
        del self._idle[key]
        return None

    def _keep(self, key: _Key, connection: Connection) -> None:
        now = time.monotonic()
        connection.idle_since = now
        idle = self._idle.get(key)
        if idle is None:
            idle = self._idle[key] = deque()
        idle.append(connection)
        if len(idle) > self.max_per_host:
            idle.popleft().abort()
        if now - self._swept > KEEPALIVE_S:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        """Close what idled past its time at every origin, and forget origins with nothing left."""
        self._swept = now
        for key in list(self._idle):
            idle = self._idle[key]
            while idle and (idle[0].closed or now - idle[0].idle_since >= KEEPALIVE_S):
                idle.popleft().abort()
            if not idle:
                del self._idle[key]

    async def _connect(self, origin: Origin) -> Connection:
        addresses = await resolve_checked(origin.host, origin.port, self.policy, self.resolver)
        loop = asyncio.get_running_loop()
        tls = None
        if origin.scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()  # the system's trust store, hostnames checked
            tls = self._tls
        failure: OSError | None = None
        for address in addresses:  # every one checked: the socket goes to exactly that address
            try:
                _, connection = await loop.create_connection(
                    lambda: Connection(self.body_limit),
                    host=str(address),
                    port=origin.port,
                    ssl=tls,
                    server_hostname=origin.host if tls is not None else None,
                )
            except OSError as exc:  # refused, unreachable, TLS: the next address, if there is one
                failure = exc
                continue
            return connection
        # resolve_checked answers one address at least, or raises: there was a failure.
        raise failure or OSError("no address to connect to")

    def close(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.abort()
        self._idle.clear()
