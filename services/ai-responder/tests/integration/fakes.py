"""A scriptable HTTP server on 127.0.0.1 that speaks whatever API a test gives it (LLM and partner APIs)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


Handler = Callable[[Seen], Awaitable[tuple[int, Any, dict[str, str]]]]


async def ok(_: Seen) -> tuple[int, Any, dict[str, str]]:
    return 200, {"ok": True}, {}


class FakeApi:
    """Records every request; answers with ``handler`` (JSON body, or ``bytes`` sent as they are). ``script``
    queues one-off answers."""

    def __init__(self, handler: Handler = ok) -> None:
        self.handler = handler
        self.requests: list[Seen] = []
        self.queued: list[tuple[int, Any, dict[str, str], float]] = []
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._arrived = asyncio.Condition()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(
        self, status: int, body: Any = None, headers: dict[str, str] | None = None, delay: float = 0
    ) -> None:
        self.queued.append((status, body, headers or {}, delay))

    async def start(self) -> FakeApi:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        seen = Seen(
            request.method,
            request.path,
            {k.lower(): v for k, v in request.headers.items()},
            await request.read(),
        )
        async with self._arrived:
            self.requests.append(seen)
            self._arrived.notify_all()
        if self.queued:
            status, body, headers, delay = self.queued.pop(0)
            if delay:
                await asyncio.sleep(delay)
        else:
            status, body, headers = await self.handler(seen)
        if isinstance(body, bytes):  # sent as it is, for answers json.dumps cannot write
            return web.Response(
                body=body, status=status, headers={"Content-Type": "application/json", **headers}
            )
        return web.json_response(body, status=status, headers=headers)

    async def wait_for(self, count: int, timeout_s: float = 20.0) -> list[Seen]:
        async with asyncio.timeout(timeout_s), self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests) >= count)
        return list(self.requests)
