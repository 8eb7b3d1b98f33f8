"""The sender's HTTP/1.1 (adapters/wire.py) against real loopback servers that answer the ways servers do:
kept-alive and closed connections, chunked and connection-delimited bodies, interim answers, garbage, TLS."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import trustme

from switchboard_dispatcher.adapters import wire
from switchboard_dispatcher.adapters.http import RESPONSE_BODY_LIMIT, HttpSender, SendError, policy_from
from switchboard_platform.netsafety import overriding_resolver

Handler = Callable[["Server", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class Server:
    """A loopback TCP server running ``handler`` per connection, counting connections and requests."""

    def __init__(self) -> None:
        self.port = 0
        self.connections = 0
        self.requests: list[bytes] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def request(self, reader: asyncio.StreamReader) -> bytes | None:
        """One request's head and body (Content-Length framed), or None when the client closed."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await reader.readexactly(length)
        self.requests.append(head + body)
        return head + body


@contextlib.asynccontextmanager
async def serving(
    handler: Callable[[Server, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    tls: ssl.SSLContext | None = None,
) -> AsyncIterator[Server]:
    server = Server()

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        try:
            await handler(server, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    listening = await asyncio.start_server(connected, "127.0.0.1", 0, ssl=tls)
    server.port = listening.sockets[0].getsockname()[1]
    async with listening:
        yield server


def answering(
    *answers: bytes,
) -> Callable[[Server, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    """Answer every request on a connection with ``answers`` (the last one repeats), keeping it open."""

    async def handler(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = 0
        while await server.request(reader) is not None:
            writer.write(answers[min(index, len(answers) - 1)])
            await writer.drain()
            index += 1

    return handler


@contextlib.asynccontextmanager
async def started(
    *, tls: ssl.SSLContext | None = None, max_connections: int = 512, max_per_host: int = 100
) -> AsyncIterator[HttpSender]:
    """A sender allowed loopback, with hooks.test and other.test both answering 127.0.0.1."""
    http = HttpSender(
        policy_from(allow_loopback=True, allow_private=False),
        overriding_resolver({"hooks.test": "127.0.0.1", "other.test": "127.0.0.1"}),
        max_connections=max_connections,
        max_per_host=max_per_host,
        tls=tls,
    )
    await http.start()
    try:
        yield http
    finally:
        await http.close()


@pytest.fixture
async def sender() -> AsyncIterator[HttpSender]:
    async with started() as http:
        yield http


def url(server: Server, path: str = "/hook", scheme: str = "http") -> str:
    return f"{scheme}://hooks.test:{server.port}{path}"


async def test_one_kept_alive_connection_carries_requests_one_after_another(sender: HttpSender) -> None:
    async with serving(answering(OK)) as server:
        for _ in range(5):
            response = await sender.send(url(server), b"{}", {}, 5)
            assert (response.status, response.body) == (200, "ok")
    assert server.connections == 1
    assert len(server.requests) == 5


async def test_the_request_is_framed_by_the_sender_whatever_the_caller_says(sender: HttpSender) -> None:
    """Host names the URL's host, Content-Length the body: a caller's values for either are not written."""
    async with serving(answering(OK)) as server:
        await sender.send(
            url(server, "/a path/ü?q=1 2"),
            b'{"a":1}',
            {"Host": "evil.test", "Content-Length": "999", "X-Custom": "yes"},
            5,
        )
    head = server.requests[0].decode()
    assert head.startswith("POST /a%20path/%C3%BC?q=1%202 HTTP/1.1\r\n")
    assert f"\r\nHost: hooks.test:{server.port}\r\n" in head
    assert "\r\nContent-Length: 7\r\n" in head
    assert "evil.test" not in head
    assert "999" not in head
    assert "\r\nX-Custom: yes\r\n" in head
    assert head.endswith('\r\n\r\n{"a":1}')


@pytest.mark.parametrize(
    "headers",
    [{"X-Evil": "a\r\nInjected: 1"}, {"X-Evil": "a\nb"}, {"Bad Name": "x"}, {"X-Nul": "a\0b"}, {"": "x"}],
)
async def test_a_header_that_would_change_the_framing_is_refused_before_connecting(
    sender: HttpSender, headers: dict[str, str]
) -> None:
    async with serving(answering(OK)) as server:
        with pytest.raises(SendError) as raised:
            await sender.send(url(server), b"{}", headers, 5)
    assert raised.value.kind == "other"
    assert raised.value.message.startswith("request not sent:")
    assert server.connections == 0


async def test_a_url_with_credentials_is_refused(sender: HttpSender) -> None:
    with pytest.raises(SendError) as raised:
        await sender.send("http://user:secret@hooks.test:9/x", b"{}", {}, 5)
    assert raised.value.kind == "other"
    assert "secret" not in raised.value.message


@pytest.mark.parametrize(
    ("answer", "body"),
    [
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
            "hello world",
        ),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal", "final"),
        (b"HTTP/1.1 204 No Content\r\n\r\n", ""),
    ],
    ids=["chunked", "interim-answer-first", "no-content"],
)
async def test_answers_framed_every_way_are_read_whole_and_the_connection_kept(
    sender: HttpSender, answer: bytes, body: str
) -> None:
    async with serving(answering(answer)) as server:
        for _ in range(2):
            response = await sender.send(url(server), b"{}", {}, 5)
            assert response.body == body
            assert response.status in (200, 204)
    assert server.connections == 1


async def test_a_body_delimited_by_the_end_of_the_connection_is_read(sender: HttpSender) -> None:
    async def http10(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.request(reader)
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")

    async with serving(http10) as server:
        for _ in range(2):
            response = await sender.send(url(server), b"{}", {}, 5)
            assert (response.status, response.body) == (200, "until the end")
    assert server.connections == 2


async def test_a_body_cut_short_by_the_end_of_the_connection_is_a_protocol_error(
    sender: HttpSender,
) -> None:
    """The answer said how long its body is (or that it is chunked) and the connection ended before: the
    endpoint failed mid-answer, so the attempt is not counted as answered."""
    for answer in (
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    ):

        async def cut(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.request(reader)
            writer.write(answer)  # noqa: B023 (awaited within this iteration)

        async with serving(cut) as server:
            with pytest.raises(SendError) as raised:
                await sender.send(url(server), b"{}", {}, 5)
        assert raised.value.kind == "protocol"
        assert len(server.requests) == 1


async def test_connection_close_and_a_cut_body_are_not_reused(sender: HttpSender) -> None:
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    async with serving(answering(closing)) as server:
        for _ in range(2):
            assert (await sender.send(url(server), b"{}", {}, 5)).status == 200
    assert server.connections == 2

    size = RESPONSE_BODY_LIMIT * 3
    chunks = b"".join(b"%x\r\n%s\r\n" % (1000, b"x" * 1000) for _ in range(size // 1000)) + b"0\r\n\r\n"
    large = b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\nRetry-After: 9\r\n\r\n" + chunks
    async with serving(answering(large)) as server:
        for _ in range(2):
            response = await sender.send(url(server), b"{}", {}, 5)
            assert (response.status, len(response.body)) == (500, RESPONSE_BODY_LIMIT)
            assert response.headers.get("RETRY-AFTER") == "9"
    assert server.connections == 2  # the rest of a cut body is never read, so its connection is closed


async def test_a_kept_alive_connection_the_server_dropped_is_replaced_once(sender: HttpSender) -> None:
    """A server that closes a kept-alive connection as the next request arrives, without answering: the
    request goes again on a new connection. Every request is answered in the end."""

    async def one_per_connection(
        server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await server.request(reader)
        writer.write(OK)  # kept alive, as far as the client can tell
        await writer.drain()
        await server.request(reader)  # the next request: dropped unanswered

    async with serving(one_per_connection) as server:
        for _ in range(3):
            assert (await sender.send(url(server), b"{}", {}, 5)).status == 200
    assert server.connections == 3
    assert len(server.requests) == 5  # requests 2 and 3 each went twice


async def test_a_new_connection_closed_without_an_answer_fails_once_as_a_protocol_error(
    sender: HttpSender,
) -> None:
    async def silent(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.request(reader)

    async with serving(silent) as server:
        with pytest.raises(SendError) as raised:
            await sender.send(url(server), b"{}", {}, 5)
    assert raised.value.kind == "protocol"
    assert len(server.requests) == 1  # not sent again: a new connection's silence is an answer of sorts


async def test_an_answer_that_is_not_http_is_a_protocol_error(sender: HttpSender) -> None:
    async with serving(answering(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")) as server:
        with pytest.raises(SendError) as raised:
            await sender.send(url(server), b"{}", {}, 5)
    assert raised.value.kind == "protocol"
    assert raised.value.message.startswith("protocol error: malformed HTTP answer")


async def test_endless_headers_are_cut_off_and_a_large_body_is_not_mistaken_for_them(
    sender: HttpSender,
) -> None:
    async def endless(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for index in range(10_000):  # ~1 MB of headers, unless the client hangs up first
            writer.write(b"X-Filler-%d: %s\r\n" % (index, b"y" * 90))
            await writer.drain()

    async with serving(endless) as server:
        with pytest.raises(SendError) as raised:
            await sender.send(url(server), b"{}", {}, 5)
    assert raised.value.kind == "protocol"
    assert "headers exceed 64 KiB" in raised.value.message

    body = b"z" * (wire.MAX_HEAD_BYTES * 3)  # one write: headers and a large body arrive together
    async with serving(
        answering(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    ) as server:
        response = await sender.send(url(server), b"{}", {}, 5)
    assert (response.status, len(response.body)) == (200, RESPONSE_BODY_LIMIT)


async def test_nothing_listening_is_a_connect_error(sender: HttpSender) -> None:
    async with serving(answering(OK)) as server:
        port = server.port
    with pytest.raises(SendError) as raised:
        await sender.send(f"http://hooks.test:{port}/x", b"{}", {}, 5)
    assert raised.value.kind == "connect"


async def test_idle_connections_expire(sender: HttpSender, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "KEEPALIVE_S", 0.05)
    async with serving(answering(OK)) as server:
        assert (await sender.send(url(server), b"{}", {}, 5)).status == 200
        await asyncio.sleep(0.1)
        assert (await sender.send(url(server), b"{}", {}, 5)).status == 200
    assert server.connections == 2


class Holding:
    """A server handler that answers nothing until released, counting the requests it holds at once."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.held = 0
        self.most_held = 0
        self._reached: dict[int, asyncio.Event] = {}

    def reached(self, count: int) -> asyncio.Event:
        """Set once ``count`` requests are held at the same time."""
        return self._reached.setdefault(count, asyncio.Event())

    async def __call__(
        self, server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while await server.request(reader) is not None:
            self.held += 1
            self.most_held = max(self.most_held, self.held)
            self.reached(self.held).set()
            await self.release.wait()
            self.held -= 1
            writer.write(OK)
            await writer.drain()


async def test_requests_to_one_origin_wait_for_one_of_its_slots() -> None:
    holding = Holding()
    async with started(max_per_host=2) as http, serving(holding) as server:
        sends = [asyncio.create_task(http.send(url(server), b"{}", {}, 10)) for _ in range(6)]
        async with asyncio.timeout(5):
            await holding.reached(2).wait()
        assert http._pool is not None
        slots = http._pool._hosts[("http", "hooks.test", server.port)]
        assert (slots.used, len(slots.waiters)) == (2, 4)  # the other four wait for a slot, not a connection
        holding.release.set()
        responses = await asyncio.gather(*sends)
    assert [r.status for r in responses] == [200] * 6
    assert holding.most_held == 2
    assert server.connections == 2


async def test_requests_waiting_for_a_busy_origin_do_not_hold_up_another() -> None:
    """Two requests in flight at most, one per origin: a second request to the busy origin waits for that
    origin's slot without taking the one the other origin's request needs."""
    holding = Holding()
    async with (
        started(max_connections=2, max_per_host=1) as http,
        serving(holding) as busy,
        serving(answering(OK)) as quick,
    ):
        waiting = [asyncio.create_task(http.send(url(busy), b"{}", {}, 10)) for _ in range(2)]
        async with asyncio.timeout(5):
            await holding.reached(1).wait()  # the first is in flight; the second waits for the busy origin
        response = await http.send(f"http://other.test:{quick.port}/hook", b"{}", {}, 5)
        assert not any(task.done() for task in waiting)  # the busy origin has not answered yet
        holding.release.set()
        assert [r.status for r in await asyncio.gather(*waiting)] == [200, 200]
    assert response.status == 200


async def test_a_request_that_times_out_waiting_for_a_slot_gives_nothing_away() -> None:
    """The timeout covers the wait for a slot; a request that gave up leaves no slot taken, so the origin
    is forgotten once idle and the next request proceeds."""
    holding = Holding()
    async with started(max_per_host=1) as http, serving(holding) as server:
        first = asyncio.create_task(http.send(url(server), b"{}", {}, 10))
        async with asyncio.timeout(5):
            await holding.reached(1).wait()
        with pytest.raises(SendError) as raised:
            await http.send(url(server), b"{}", {}, 0.05)
        assert raised.value.kind == "timeout"
        holding.release.set()
        assert (await first).status == 200
        assert (await http.send(url(server), b"{}", {}, 5)).status == 200
        assert http._pool is not None
        assert not http._pool._hosts
    assert len(server.requests) == 2  # the one that gave up never reached the server


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


async def test_https_checks_the_certificate_against_the_name_and_sends_it_as_sni(
    authority: trustme.CA,
) -> None:
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("hooks.test").configure_cert(server_tls)
    names: list[str | None] = []
    server_tls.sni_callback = lambda _socket, name, _context: names.append(name)
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)

    async with serving(answering(OK), tls=server_tls) as server:
        async with started(tls=trusting) as http:
            for _ in range(2):
                assert (await http.send(url(server, scheme="https"), b"{}", {}, 5)).status == 200
            with pytest.raises(SendError) as wrong_name:  # a certificate for another name
                await http.send(f"https://other.test:{server.port}/hook", b"{}", {}, 5)
        async with started() as system_store:  # the default: the system's trust store
            with pytest.raises(SendError) as untrusted:
                await system_store.send(url(server, scheme="https"), b"{}", {}, 5)
    assert names[0] == "hooks.test"
    # Both requests on one kept-alive connection (a refused handshake never reaches the server's handler).
    assert server.connections == 1
    assert len(server.requests) == 2
    assert wrong_name.value.kind == "tls"
    assert untrusted.value.kind == "tls"
