"""Bodies that never arrive whole, over a real uvicorn server on 127.0.0.1: an oversized chunked body is a 413
logged once at INFO, a client that hangs up mid-body is logged as a disconnect at INFO — neither is an ERROR with
a traceback (which let unauthenticated callers fill the logs: the app's "unhandled error" and uvicorn's
"Exception in ASGI application", for every such request)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel

from switchboard_platform.http import BodySizeLimit, BoundedJsonRoute, Metrics, install_error_handlers
from switchboard_testing.waiting import eventually

LIMIT = 1_000


class Note(BaseModel):
    text: str


def _app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(BodySizeLimit, limit=LIMIT)
    install_error_handlers(app)
    Metrics("test").install(app)
    router = APIRouter(route_class=BoundedJsonRoute)

    @router.post("/raw")
    async def raw(request: Request) -> dict[str, int]:  # reads the body itself, as ingress routes do
        return {"bytes": len(await request.body())}

    @router.post("/parsed")
    async def parsed(note: Note) -> Note:  # FastAPI reads and decodes the body
        return note

    app.include_router(router)
    return app


@pytest.fixture
async def port() -> AsyncIterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    # log_config=None: uvicorn's records propagate to the root logger, where caplog sees them.
    server = uvicorn.Server(uvicorn.Config(_app(), log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: _true(server.started), timeout_s=10)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task


async def _true(value: bool) -> bool:
    return value


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize("path", ["/raw", "/parsed"])
async def test_an_oversized_chunked_body_is_413_logged_once_at_info(
    port: int, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    writer.write(head.encode())
    for _ in range(4):
        writer.write(b"200\r\n" + b" " * 0x200 + b"\r\n")
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    status_line = await reader.readline()
    writer.close()

    assert status_line.startswith(b"HTTP/1.1 413"), status_line
    refusals = await eventually(lambda: _records(caplog, "refused (413)"), timeout_s=10)
    assert [(r.levelno, r.exc_info) for r in refusals] == [(logging.INFO, None)]
    assert _records_now(caplog, "client disconnected") == []
    assert _errors(caplog) == []


@pytest.mark.parametrize("path", ["/raw", "/parsed"])
async def test_a_client_hanging_up_mid_body_is_logged_as_a_disconnect_at_info(
    port: int, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 500\r\n\r\n".encode() + b"{" * 100)
    await writer.drain()
    writer.close()

    disconnects = await eventually(lambda: _records(caplog, "client disconnected"), timeout_s=10)
    assert [(r.levelno, r.exc_info) for r in disconnects] == [(logging.INFO, None)]
    assert _errors(caplog) == []


def _records_now(caplog: pytest.LogCaptureFixture, text: str) -> list[Any]:
    return [r for r in caplog.records if text in r.getMessage()]


async def _records(caplog: pytest.LogCaptureFixture, text: str) -> list[Any]:
    return _records_now(caplog, text)
