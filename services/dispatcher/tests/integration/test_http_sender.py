"""HttpSender against a real loopback server: the timeout covers the whole exchange, redirects are answers,
response bodies are bounded, and response headers are read case-insensitively."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from switchboard_dispatcher.adapters.http import RESPONSE_BODY_LIMIT, HttpSender, SendError, policy_from
from switchboard_shared.netsafety import overriding_resolver


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


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/hang", hang)
    app.router.add_post("/stall", stall_body)
    app.router.add_post("/redirect", redirect)
    app.router.add_post("/large", large)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://hooks.test:{port}"
    await runner.cleanup()


@pytest.fixture
async def sender() -> AsyncIterator[HttpSender]:
    http = HttpSender(
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
