"""HttpSender against a real loopback server: the timeout covers the whole exchange, redirects are answers,
response bodies are bounded, and response headers are read case-insensitively; addresses outside global
unicast are refused at connect time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

import pytest
from aiohttp import web

from bench.dispatch.reqwest_sender import ReqwestSender
from switchboard_dispatcher.adapters.http import (
    RESPONSE_BODY_LIMIT,
    HttpSender,
    SendError,
    classify_error,
    policy_from,
)
from switchboard_dispatcher.adapters.wire import ConnectionPool, origin_of
from switchboard_platform.netsafety import BlockedAddress, IPAddress, overriding_resolver


async def hang(request: web.Request) -> web.Response:
    await asyncio.sleep(30)
    return web.Response(text="too late")


async def stall_body(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(status=200)
    response.content_length = 1000
    await response.prepare(request)  # the status line and headers, then no body at all
    await asyncio.sleep(30)
    return response


async def redirect(request: web.Request) -> web.Response:
    return web.Response(status=302, headers={"Location": "http://127.0.0.1:1/elsewhere"})


async def large(request: web.Request) -> web.Response:
    return web.Response(body=b"a" * (RESPONSE_BODY_LIMIT * 4), headers={"Retry-After": "7"})


async def echo_host(request: web.Request) -> web.Response:
    return web.Response(text=request.headers.get("Host", ""))


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/hang", hang)
    app.router.add_post("/stall", stall_body)
    app.router.add_post("/redirect", redirect)
    app.router.add_post("/large", large)
    app.router.add_post("/host", echo_host)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://hooks.test:{port}"
    await runner.cleanup()


@pytest.fixture(params=[HttpSender, ReqwestSender])
async def sender(request: pytest.FixtureRequest) -> AsyncIterator[HttpSender]:
    """The dispatcher's sender, and the pyreqwest candidate evaluated for issue #15 (bench/dispatch), held to
    the same contract."""
    http = request.param(
        policy_from(allow_loopback=True, allow_private=False),
        overriding_resolver({"hooks.test": "127.0.0.1"}),
    )
    await http.start()
    yield http
    await http.close()


@pytest.mark.parametrize("path", ["/hang", "/stall"])
async def test_the_timeout_covers_waiting_for_headers_and_for_the_body(
    server: str, sender: HttpSender, path: str
) -> None:
    started = time.monotonic()
    with pytest.raises(SendError) as raised:
        await sender.send(server + path, b"{}", {"Content-Type": "application/json"}, timeout_s=0.5)
    elapsed = time.monotonic() - started
    assert raised.value.kind == "timeout"
    assert 0.4 <= elapsed < 3.0


async def test_redirects_are_answers_not_followed(server: str, sender: HttpSender) -> None:
    response = await sender.send(server + "/redirect", b"{}", {}, timeout_s=5)
    assert response.status == 302


async def test_response_bodies_are_bounded_and_headers_case_insensitive(
    server: str, sender: HttpSender
) -> None:
    response = await sender.send(server + "/large", b"{}", {}, timeout_s=5)
    assert response.status == 200
    assert len(response.body) == RESPONSE_BODY_LIMIT
    assert response.headers.get("retry-after") == "7"
    assert response.headers.get("Retry-After") == "7"


async def test_the_checked_address_is_reached_under_the_original_host_name(
    server: str, sender: HttpSender
) -> None:
    """hooks.test exists only in the test's resolver: the answer came from the checked address, and the
    request still names the host it was sent to."""
    response = await sender.send(server + "/host", b"{}", {}, timeout_s=5)
    assert response.status == 200
    assert response.body == server.removeprefix("http://")


async def test_the_reqwest_sender_refuses_a_blocked_answer_before_building_a_client() -> None:
    sender = ReqwestSender(
        policy_from(allow_loopback=True, allow_private=False), overriding_resolver({"hooks.test": "10.1.2.3"})
    )
    await sender.start()
    try:
        with pytest.raises(SendError) as raised:
            await sender.send("http://hooks.test:9/x", b"{}", {}, timeout_s=5)
    finally:
        await sender.close()
    assert raised.value.kind == "ssrf_blocked"
    assert "private address (10.1.2.3)" in raised.value.message
    assert not sender._clients  # nothing was pinned, so nothing could connect


async def test_the_reqwest_sender_checks_a_host_again_and_drops_a_rebound_address(server: str) -> None:
    """A name that answered loopback (allowed here) and then a private address: once the check is due again,
    the second answer is refused and the client pinned to the first one is not used for it."""
    answers = ["127.0.0.1", "10.1.2.3"]

    async def rebinding(host: str, port: int) -> Sequence[IPAddress]:
        return await overriding_resolver({"hooks.test": answers[0]})(host, port)

    sender = ReqwestSender(policy_from(allow_loopback=True, allow_private=False), rebinding, recheck_s=0.0)
    await sender.start()
    try:
        assert (await sender.send(server + "/host", b"{}", {}, timeout_s=5)).status == 200
        answers.pop(0)
        with pytest.raises(SendError) as raised:
            await sender.send(server + "/host", b"{}", {}, timeout_s=5)
    finally:
        await sender.close()
    assert raised.value.kind == "ssrf_blocked"


async def test_the_reqwest_sender_keeps_a_bounded_number_of_clients(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    names = {f"hooks{i}.test": "127.0.0.1" for i in range(3)}
    sender = ReqwestSender(
        policy_from(allow_loopback=True, allow_private=False), overriding_resolver(names), max_clients=2
    )
    await sender.start()
    try:
        for name in names:
            assert (
                await sender.send(f"http://{name}:{port}/host", b"{}", {}, timeout_s=5)
            ).body == f"{name}:{port}"
        assert [host for _, host, _ in sender._clients] == ["hooks1.test", "hooks2.test"]
    finally:
        await sender.close()


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("fec0::1", "private"),
        ("2001:db8::1", "reserved"),
        ("64:ff9b::7f00:1", "loopback"),
        ("ff02::1", "reserved"),
    ],
)
async def test_a_new_connection_refuses_addresses_that_are_not_global_unicast(
    address: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checked resolution is the only source of addresses the pool connects to; a name answered with a
    special-range address makes it raise before the pool asks the loop for a connection (a connect attempt
    fails this test, so even a broken classifier could not make it connect anywhere)."""
    asked: list[str] = []
    answers = overriding_resolver({"receiver.test": address})

    async def recording(host: str, port: int) -> Sequence[IPAddress]:
        asked.append(host)
        return await answers(host, port)

    async def no_connecting(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the pool tried to connect: {args} {kwargs}")

    monkeypatch.setattr(asyncio.get_running_loop(), "create_connection", no_connecting)
    pool = ConnectionPool(
        policy_from(allow_loopback=False, allow_private=False),
        recording,
        max_connections=4,
        max_per_host=4,
        body_limit=RESPONSE_BODY_LIMIT,
    )
    with pytest.raises(BlockedAddress) as raised:
        await pool.request(origin_of("https://receiver.test/hook"), "POST", {}, b"{}")
    assert asked == ["receiver.test"]
    assert str(raised.value) == (
        f"receiver.test resolves to a {kind} address ({address}), which webhooks may not target"
    )
    assert classify_error(raised.value)[0] == "ssrf_blocked"


async def test_an_ip_literal_is_checked_before_connecting_and_a_refusal_is_never_remembered(
    server: str,
) -> None:
    """An IP-literal URL is classified like a resolved name: a refused one fails every time, an allowed one
    keeps working."""
    port = server.rsplit(":", 1)[1]
    strict = HttpSender(policy_from(allow_loopback=False, allow_private=False))
    await strict.start()
    try:
        for _ in range(2):
            with pytest.raises(SendError) as raised:
                await strict.send(f"http://127.0.0.1:{port}/host", b"{}", {}, 5.0)
            assert raised.value.kind == "ssrf_blocked"
    finally:
        await strict.close()
    loose = HttpSender(policy_from(allow_loopback=True, allow_private=False))
    await loose.start()
    try:
        for _ in range(2):
            response = await loose.send(f"http://127.0.0.1:{port}/host", b"{}", {}, 5.0)
            assert response.status == 200
    finally:
        await loose.close()
